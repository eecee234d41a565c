"""The handover page in a real browser: headless Chromium renders it offline, and the screenshot is
a page of text, not a blank or broken one."""

from __future__ import annotations

import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.support.handover_support import handover_project, real_report
from tests.support.helpers import gate

pytestmark = pytest.mark.slow

WIDTH, HEIGHT = 1200, 1800


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Chromium is missing: .ci/setup.d/45-chromium.sh installs it"
    return found


def _png_pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of an 8-bit RGB/RGBA PNG (what Chromium writes), unfiltered."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, header = 8, b"", b""
    while at < len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        header, idat = (data, idat) if kind == b"IHDR" else (header, idat + data if kind == b"IDAT" else idat)
        at += 12 + length
    width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour = header[8], header[9]
    assert depth == 8 and colour in (2, 6), (depth, colour)
    size = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(idat), width * size, [], bytes(width * size)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up, corner = previous[x], previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - left), 0), (abs(guess - up), 1), (abs(guess - corner), 2))[1]
                line[x] = (line[x] + (left, up, corner)[near]) & 0xFF
        previous = bytes(line)
        rows.append(bytes(line[i] for i in range(0, stride, size)))  # the red channel is enough for ink
    return width, height, rows


def test_the_html_page_renders_readably_in_headless_chromium(tmp_path: Path) -> None:
    project = handover_project(tmp_path / "app")
    outcome = gate("handover", "--report", str(real_report(project)), "--html", "handover.html", cwd=project)
    assert outcome.exit_code == 0, outcome.stderr
    shot = tmp_path / "handover.png"
    done = subprocess.run(
        [
            _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", (project / "handover.html").as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert shot.is_file() and shot.stat().st_size > 20_000, done.stderr[-2000:]
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    inked = [y for y, row in enumerate(rows) if min(row) < 100]  # rows with dark text on them
    assert len(set(b for row in rows[::40] for b in row)) > 8, "a single colour: nothing rendered"
    assert len(inked) > 300, f"only {len(inked)} rows hold dark text"
    # Text runs down the page, not in one clump: the sections fill most of the first screen.
    assert inked[0] < 120 and inked[-1] > HEIGHT // 2
