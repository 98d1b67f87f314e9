"""Errors a user can cause: bad files, bad configs, bad architectures.

The command line prints these as one clear message (file, line or key, and what is wrong) and
exits with status 2, without a traceback.
"""


class AutoRCError(Exception):
    """Base of every user-facing error."""


class DataError(AutoRCError, ValueError):
    """A data file is missing, empty or malformed; the message names the file and line/record."""
