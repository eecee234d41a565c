"""A real authoritative DNS server (NSD, from Debian) on 127.0.0.1 at a high port, for DNS tests.

Tests write zone files as text; `Nsd` writes its config beside them, starts `nsd -d` in the
foreground (no root, no chroot, no privilege drop), waits until every zone answers its SOA, and
stops it at the end. `.ci/setup.d/20-dns-server.sh` installs nsd on a fresh machine.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rcode

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
START_TIMEOUT_S = 10.0


def free_port() -> int:
    """A port free for both UDP and TCP right now (nsd needs both on the same number)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def _config(workdir: Path, port: int, zones: Mapping[str, str | None]) -> str:
    lines = [
        "server:",
        f"  ip-address: 127.0.0.1@{port}",
        f"  port: {port}",
        '  username: ""',
        '  chroot: ""',
        f'  zonesdir: "{workdir}"',
        f'  pidfile: "{workdir}/nsd.pid"',
        '  database: ""',
        f'  zonelistfile: "{workdir}/zone.list"',
        f'  xfrdfile: "{workdir}/xfrd.state"',
        f'  xfrdir: "{workdir}"',
        f'  logfile: "{workdir}/nsd.log"',
        "  server-count: 1",
        "  verbosity: 1",
        "  reuseport: no",
        "remote-control:",
        "  control-enable: no",
    ]
    for origin in zones:
        lines += ["zone:", f"  name: {origin}", f"  zonefile: {origin}.zone"]
    return "\n".join(lines) + "\n"


class Nsd:
    """One nsd process serving `zones` (origin -> zone file text) on 127.0.0.1:`port`.

    A zone given as None is configured without a file: nsd answers SERVFAIL for every name in it,
    which is how tests meet a server that cannot answer.
    """

    def __init__(self, workdir: Path, zones: Mapping[str, str | None]) -> None:
        self.workdir = workdir
        self.zones = {origin.rstrip("."): text for origin, text in zones.items()}
        self.port = 0
        # checks.dns settings every gate run against these zones needs (where their MTA-STS hosts listen).
        self.gate_settings: dict[str, Any] = {}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Nsd:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for origin, text in self.zones.items():
            if text is not None:
                (self.workdir / f"{origin}.zone").write_text(text)
        for _attempt in range(3):
            self.port = free_port()
            conf = self.workdir / "nsd.conf"
            conf.write_text(_config(self.workdir, self.port, self.zones))
            check = subprocess.run([f"{NSD}-checkconf", str(conf)], capture_output=True, text=True, timeout=30)
            if check.returncode != 0:
                raise RuntimeError(f"nsd-checkconf rejected the test config: {check.stderr}")
            self._process = subprocess.Popen(
                [NSD, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            if self._wait_ready():
                return self
            self.stop()
        log = (self.workdir / "nsd.log").read_text() if (self.workdir / "nsd.log").exists() else ""
        raise RuntimeError(f"nsd did not start serving the test zones:\n{log}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_S
        pending = {origin for origin, text in self.zones.items() if text is not None}
        while pending and time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            for origin in list(pending):
                try:
                    reply = dns.query.udp(
                        dns.message.make_query(origin, "SOA"), "127.0.0.1", port=self.port, timeout=0.5
                    )
                except (OSError, dns.exception.Timeout):
                    continue
                if reply.rcode() == dns.rcode.NOERROR and reply.answer:
                    pending.discard(origin)
            if pending:
                time.sleep(0.05)
        return not pending

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def __enter__(self) -> Nsd:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
