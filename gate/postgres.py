"""A throw-away PostgreSQL server on loopback: initdb and pg_ctl on a temporary folder.

The restore check restores backups into one, and the tests of every PostgreSQL-facing part run
against one, so the same code starts the server a user's CI starts. PostgreSQL refuses to run as
root (as the Docker action does), so under root the server runs as an unprivileged system user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gate.errors import CheckFailure

# Debian installs the server binaries per major version, off PATH.
_SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin", "/opt/homebrew/opt/postgresql*/bin")
_UNPRIVILEGED_USERS = ("postgres", "nobody")


@dataclass(frozen=True)
class Server:
    """Where to reach a running throw-away server: TCP on loopback, or its Unix socket folder."""

    host: str
    port: int
    socket_dir: Path
    user: str
    data_dir: Path

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/postgres"


def find_binary(name: str) -> Path:
    """The newest installed PostgreSQL's `name` (initdb, pg_ctl, pg_restore, psql...)."""
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    candidates = [Path(folder) / name for pattern in _SEARCH for folder in sorted(Path("/").glob(pattern.lstrip("/")))]
    found = [c for c in candidates if c.is_file() and os.access(c, os.X_OK)]
    if not found:
        raise CheckFailure(
            f"PostgreSQL's {name} was not found (looked on PATH and in {', '.join(_SEARCH)}); "
            "install the server (Debian: apt-get install postgresql)"
        )
    return max(found, key=lambda p: _major(p))


def _major(binary: Path) -> int:
    digits = "".join(ch for ch in binary.parent.parent.name if ch.isdigit())
    return int(digits) if digits else 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_as() -> pwd.struct_passwd | None:
    """The account the server runs under: the caller, or under root an unprivileged one."""
    if os.geteuid() != 0:
        return None
    for name in _UNPRIVILEGED_USERS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise CheckFailure("PostgreSQL refuses to run as root and no unprivileged account (postgres, nobody) exists")


def _command(args: list[str], account: pwd.struct_passwd | None, timeout: float) -> None:
    def drop() -> None:
        if account is not None:
            os.setgid(account.pw_gid)
            os.setgroups([])
            os.setuid(account.pw_uid)

    try:
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, preexec_fn=drop, cwd="/", check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CheckFailure(f"{Path(args[0]).name} did not finish within {timeout:.0f}s") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise CheckFailure(f"{Path(args[0]).name} failed (exit {done.returncode}): {' / '.join(said)}")


@contextmanager
def throwaway_server(timeout: float = 60.0, parent: Path | None = None) -> Iterator[Server]:
    """Start an empty PostgreSQL on 127.0.0.1 at a free port; stop it and delete its files after.

    Trust authentication on loopback only: the server lives as long as the block and holds
    nothing but what the caller puts in it.
    """
    account = _run_as()
    base = Path(tempfile.mkdtemp(prefix="gate-pg-", dir=parent))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    if account is not None:
        os.chown(base, account.pw_uid, account.pw_gid)
        os.chown(sockets, account.pw_uid, account.pw_gid)
    user = account.pw_name if account is not None else pwd.getpwuid(os.geteuid()).pw_name
    port = _free_port()
    pg_ctl = str(find_binary("pg_ctl"))
    started = False
    try:
        _command(
            [str(find_binary("initdb")), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync"],
            account,
            timeout,
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
        # The server's own output goes to a file: a pipe it inherits would keep pg_ctl's open forever.
        log = ["-l", str(base / "server.log")]
        _command(
            [pg_ctl, "-D", str(data), *log, "-o", options, "-w", "-t", str(int(timeout)), "start"], account, timeout
        )
        started = True
        _wait_accepting(port, timeout)
        yield Server("127.0.0.1", port, sockets, user, data)
    finally:
        if started:
            # The folder goes below either way; a server that would not stop shuts itself down
            # within a minute once its postmaster.pid is gone.
            with contextlib.suppress(CheckFailure):
                _command([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], account, timeout)
        shutil.rmtree(base, ignore_errors=True)


def _wait_accepting(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise CheckFailure(f"PostgreSQL did not accept connections on 127.0.0.1:{port} within {timeout:.0f}s")
