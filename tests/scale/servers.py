"""Real servers for the scale-out tests, each on a free loopback port, always stopped after.

``.ci/install-servers`` installs them from the OS packages (CI runs it before ``make test``;
``make test-scale`` runs it too). Where they are missing the tests are skipped, unless
``AUTORC_REQUIRE_SERVERS=1`` (set by ``.ci/run``), where a missing server is a failure.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing(what: str) -> None:
    """Skip (or, with AUTORC_REQUIRE_SERVERS=1, fail) for lack of ``what``."""
    msg = f"{what} is not installed (run .ci/install-servers)"
    if os.environ.get("AUTORC_REQUIRE_SERVERS") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


def _wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start (code {proc.returncode})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def _stop(proc: subprocess.Popen, root: Path, timeout: float = 20.0) -> None:
    """Stop a server (SIGTERM, then SIGKILL) and remove its folder."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    shutil.rmtree(root, ignore_errors=True)


def _shared_tmp(prefix: str) -> Path:
    """A folder other local users (the postgres user) can enter: pytest's tmp_path cannot."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A throw-away PostgreSQL cluster; yields its SQLAlchemy URL (database ``postgres``)."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    bin_dir = Path(bins[-1]) if bins else None
    if bin_dir is None or not (bin_dir / "initdb").is_file():
        missing("PostgreSQL")
    with contextlib.suppress(ImportError):
        import psycopg2  # noqa: F401
    root = _shared_tmp("autorc-pg-")
    data, port = root / "data", free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [
            *as_user,
            str(bin_dir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={root}",
            "-c",
            "fsync=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, proc, "postgres")
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        _stop(proc, root)


@contextlib.contextmanager
def sshd() -> Iterator[dict]:
    """An OpenSSH server on 127.0.0.1 with a throw-away key pair; yields how to log in."""
    if not Path("/usr/sbin/sshd").is_file() or shutil.which("ssh-keygen") is None:
        missing("OpenSSH (server and client)")
    root = Path(tempfile.mkdtemp(prefix="autorc-ssh-"))
    port = free_port()
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True
        )
    shutil.copy(root / "client_key.pub", root / "authorized_keys")
    (root / "authorized_keys").chmod(0o600)
    (root / "sshd_config").write_text(f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {root / "host_key"}
PidFile {root / "sshd.pid"}
AuthorizedKeysFile {root / "authorized_keys"}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
""")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege-separation folder
    proc = subprocess.Popen(
        ["/usr/sbin/sshd", "-D", "-e", "-f", str(root / "sshd_config")],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "sshd.log", "w"),
    )  # noqa: SIM115
    try:
        _wait_port(port, proc, "sshd")
        yield {
            "host": "127.0.0.1",
            "port": port,
            "user": pwd.getpwuid(os.getuid()).pw_name,
            "key": str(root / "client_key"),
            "log": root / "sshd.log",
        }
    finally:
        _stop(proc, root)
