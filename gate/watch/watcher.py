"""Rounds of probes on a schedule: once (a scheduled workflow) or forever (a container, any box).

A round probes every target, appends the results to the store, opens and resolves incidents and
sends the notices not yet delivered. SIGTERM or SIGINT end the loop between or during a round; what
the store committed stays, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.watch.alerts import Channel, deliver, evaluate
from gate.watch.config import Settings
from gate.watch.probes import Prober, ProbeResult
from gate.watch.store import Store


@dataclass(frozen=True)
class RoundSummary:
    results: list[ProbeResult]
    changed: int
    sent: int


class Watcher:
    def __init__(
        self,
        settings: Settings,
        full_config: Mapping[str, Any],
        environ: Mapping[str, str],
        root: Path,
        store: Store,
        channels: Sequence[Channel],
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.prober = Prober(settings, full_config, environ, root)
        self.store = store
        self.channels = list(channels)
        self.name = name or socket.gethostname()

    async def round(self) -> RoundSummary:
        results = await self.prober.round()
        self.store.add_probes(results, self.name)
        changed = evaluate(self.store, self.settings)
        sent = await deliver(self.store, self.settings, self.channels)
        return RoundSummary(results, len(changed), sent)

    async def forever(
        self, interval_s: float, on_round: Callable[[RoundSummary], None], max_rounds: int | None = None
    ) -> int:
        """Rounds every `interval_s` until SIGTERM/SIGINT (or `max_rounds`); returns rounds completed.

        Slots are kept on the clock from the start: a round that overruns skips the slots it missed
        rather than firing them back to back.
        """
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        # asyncio resets a removed handler to the default; the caller's (the CLI's) comes back instead.
        previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        started = time.monotonic()
        done = 0
        try:
            while not stop.is_set() and (max_rounds is None or done < max_rounds):
                task = asyncio.ensure_future(self.round())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    break
                on_round(task.result())
                done += 1
                if max_rounds is not None and done >= max_rounds:
                    break
                elapsed = time.monotonic() - started
                next_slot = (int(elapsed // interval_s) + 1) * interval_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), next_slot - elapsed)
        finally:
            for signum, handler in previous.items():
                loop.remove_signal_handler(signum)
                signal.signal(signum, handler)
        return done
