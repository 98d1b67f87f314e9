"""One module per ``autorc`` subcommand; each exposes ``register(subparsers)``.

A command module sets ``func`` on its parser (``parser.set_defaults(func=run)``); ``run(args)``
returns an exit status. Keep them thin: parse, call the library, print.
"""
