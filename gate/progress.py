"""How far long work got, on stderr: a live line per check on a terminal, a plain line in CI logs.

Checks report through `CheckContext.progress` (see `gate.checks.base.Progress`) with a message and,
when they know them, a count done of a total. `open_display` picks how that is shown: a rich live
region on an interactive terminal, one plain line about every `PLAIN_INTERVAL_S` seconds anywhere
else (a CI log, `TERM=dumb`), and nothing under `--quiet`. Nothing here writes to stdout, so a
JSON or SARIF report piped from stdout is never interleaved with progress.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

from gate.redact import scrub

if TYPE_CHECKING:
    from rich.live import Live
    from rich.text import Text

PLAIN_INTERVAL_S = 10.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


class Display(Protocol):
    def __call__(self, check: str, message: str, done: int | None, total: int | None) -> None: ...

    def close(self) -> None: ...


@dataclass
class _State:
    message: str
    done: int | None
    total: int | None
    since: float


def _one_line(text: str) -> str:
    """No line breaks or control characters: a CI runner reads every line on stderr for workflow
    commands, and a route name from gate.yml must not be able to start one."""
    return _CONTROL.sub(" ", scrub(text))


def _line(check: str, state: _State) -> str:
    text = f"{_one_line(check)}: {_one_line(state.message)}"
    if state.done is not None:
        text += f" {state.done}/{state.total}" if state.total else f" {state.done}"
    return text


class _Board:
    """The latest state of each check, shared by the threads that report and the one that draws."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, _State] = {}
        self.clock = clock
        self.started = clock()

    def update(self, check: str, message: str, done: int | None, total: int | None) -> None:
        with self._lock:
            previous = self._states.get(check)
            since = previous.since if previous is not None and previous.message == message else self.clock()
            self._states[check] = _State(message, done, total, since)

    def lines(self) -> list[str]:
        with self._lock:
            return [_line(check, state) for check, state in self._states.items()]


class PlainDisplay:
    """For logs: one line with every check's state about every `interval` seconds, never more often.

    A timer thread prints even when no check reports (a long pip-audit call, a silent preview), so a
    CI log shows the run is alive; `close` stops it before the report is printed.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        timer: bool = True,
    ) -> None:
        self._board = _Board(clock)
        self._write = write
        self._interval = PLAIN_INTERVAL_S if interval is None else interval
        self._last = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if timer:
            self._thread = threading.Thread(target=self._tick, name="gate-progress", daemon=True)
            self._thread.start()

    def __call__(self, check: str, message: str, done: int | None, total: int | None) -> None:
        self._board.update(check, message, done, total)
        self.flush_if_due()

    def flush_if_due(self) -> None:
        now = self._board.clock()
        if now - self._last < self._interval:
            return
        self._last = now
        lines = self._board.lines()
        if lines:
            elapsed = now - self._board.started
            self._write(f"[{elapsed:.0f}s] " + " · ".join(lines))

    def _tick(self) -> None:
        while not self._stop.wait(max(self._interval / 4, 0.05)):
            self.flush_if_due()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class LiveDisplay:
    """For a person at a terminal: one self-updating line per running check, gone when the run ends."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live
        from rich.text import Text

        self._board = _Board(time.monotonic)
        self._text = Text
        console = Console(file=stream, highlight=False, markup=False, emoji=False)
        self._live: Live = Live(
            get_renderable=self._render, console=console, transient=True, refresh_per_second=4, redirect_stdout=False
        )
        self._live.start()

    def _render(self) -> Text:
        return self._text("\n".join(f"  {line}" for line in self._board.lines()), no_wrap=True, overflow="ellipsis")

    def __call__(self, check: str, message: str, done: int | None, total: int | None) -> None:
        self._board.update(check, message, done, total)

    def close(self) -> None:
        self._live.stop()


class _Silent:
    def __call__(self, check: str, message: str, done: int | None, total: int | None) -> None:
        return None

    def close(self) -> None:
        return None


def is_live_terminal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """A person watching: a terminal that understands cursor movement, outside CI."""
    return stream.isatty() and environ.get("TERM") != "dumb" and not environ.get("CI")


def open_display(stream: TextIO, environ: Mapping[str, str], *, quiet: bool) -> Display:
    if quiet:
        return _Silent()
    if is_live_terminal(stream, environ):
        return LiveDisplay(stream)

    def write(text: str) -> None:
        # One line, but `##[` may still stand anywhere in it: guarded like every stderr line.
        from gate.github.commands import for_runner

        stream.write(for_runner(text + "\n", environ))
        stream.flush()

    return PlainDisplay(write)
