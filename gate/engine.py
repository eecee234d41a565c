"""Runs the enabled checks concurrently, each under its own deadline and the run's.

Network checks are async generators on one event loop; the rest run in daemon threads so a
check that hangs cannot keep the process alive. Whatever a check raises, and a check that
misses its deadline, becomes an `error` result: the run then fails closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gate.checks.base import Check, CheckContext, Progress, Result
from gate.config import Config
from gate.config.units import seconds
from gate.errors import GateError, InputError, InputErrors
from gate.model import CheckResult, Finding, Measurement
from gate.redact import scrub

DEFAULT_CHECK_TIMEOUT = "5m"
log = logging.getLogger(__name__)
ProgressSink = Callable[[str, str, int | None, int | None], None]


def _describe(error: BaseException) -> str:
    if isinstance(error, GateError):
        return scrub(error.render())
    # An unexpected exception is a bug in the gate: keep the innermost frame so it can be fixed.
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return scrub(f"internal error{where}: {type(error).__name__}: {error}")


class _Collector:
    """Gathers what a check yields, so a check cut off by its deadline keeps what it found."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.measurements: list[Measurement] = []

    def add(self, item: Result) -> None:
        if isinstance(item, Finding):
            self.findings.append(item)
        elif isinstance(item, Measurement):
            self.measurements.append(item)
        else:
            raise TypeError(f"a check yielded {type(item).__name__}, not a Finding or Measurement")


async def _run_in_thread(check: Check, ctx: CheckContext, sink: _Collector) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def report(error: BaseException | None) -> None:
        # A check that outlived its deadline may end after the run's loop has closed: nobody
        # waits for it any more, and its result was already recorded as an error.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, error)

    def work() -> None:
        try:
            for item in check.run(ctx):
                if done.done():
                    return
                sink.add(item)
        except BaseException as error:  # noqa: BLE001 - handed to the loop, judged there
            report(error)
        else:
            report(None)

    threading.Thread(target=work, name=f"check-{check.name}", daemon=True).start()
    await done


async def _run_async(check: Check, ctx: CheckContext, sink: _Collector) -> None:
    async for item in check.arun(ctx):
        sink.add(item)


async def _run_one(check: Check, ctx: CheckContext, timeout: float) -> CheckResult:
    sink = _Collector()
    started = time.monotonic()
    error: str | None = None
    runner = _run_async if check.is_async else _run_in_thread
    log.info("check %s started (deadline %gs)", check.name, timeout)
    ctx.progress.update("running")
    try:
        await asyncio.wait_for(runner(check, ctx, sink), timeout)
    except TimeoutError:
        error = f"did not finish within its {timeout:g}s deadline"
    except (InputError, InputErrors):
        # Bad input found mid-run still means exit 2, not a failed check.
        raise
    except asyncio.CancelledError:
        error = "cancelled before it finished (run deadline or interrupt)"
    except Exception as exc:  # noqa: BLE001 - every failure of a check fails the run closed
        error = _describe(exc)
    duration = time.monotonic() - started
    log.info(
        "check %s finished in %.2fs: %d findings, %d measurements%s",
        check.name,
        duration,
        len(sink.findings),
        len(sink.measurements),
        f", error: {error}" if error else "",
    )
    return CheckResult(
        name=check.name,
        findings=tuple(sink.findings),
        measurements=tuple(sink.measurements),
        duration_s=duration,
        error=error,
    )


def build_context(config: Config, name: str, environ: Mapping[str, str], sink: ProgressSink | None) -> CheckContext:
    return CheckContext(
        root=config.root,
        config=config.section(name),
        preset=config.preset,
        environ=environ,
        config_path=config.path,
        full_config=config.data,
        progress=Progress(check=name, sink=sink),
        policy=config.policy,
    )


async def run_checks_async(
    config: Config,
    names: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    progress: ProgressSink | None = None,
    registry: Mapping[str, type[Check]] | None = None,
) -> list[CheckResult]:
    if registry is None:
        from gate.checks import REGISTRY

        registry = REGISTRY
    env: Mapping[str, str] = dict(os.environ) if environ is None else environ
    prepared: list[tuple[Check, CheckContext]] = []
    problems: list[InputError] = []
    for name in names:
        check = registry[name]()
        ctx = build_context(config, name, env, progress)
        try:
            check.prepare(ctx)
        except InputErrors as errors:
            problems.extend(errors.errors)
        except InputError as error:
            problems.append(error)
        prepared.append((check, ctx))
    if problems:
        raise InputErrors(problems)
    tasks: list[asyncio.Task[CheckResult]] = []
    for check, ctx in prepared:
        timeout = seconds(ctx.config.get("timeout", DEFAULT_CHECK_TIMEOUT))
        tasks.append(asyncio.create_task(_run_one(check, ctx, timeout), name=check.name))
    finished, pending = await asyncio.wait(tasks, timeout=config.run_timeout()) if tasks else (set(), set())
    results: dict[str, CheckResult] = {task.get_name(): task.result() for task in finished}
    for task in pending:
        task.cancel()
    for task in pending:
        results[task.get_name()] = CheckResult(
            name=task.get_name(),
            findings=(),
            measurements=(),
            duration_s=config.run_timeout(),
            error=f"did not finish within the run's {config.run_timeout():g}s deadline",
        )
    return [results[name] for name in names]


def run_checks(config: Config, names: Sequence[str], **kwargs: Any) -> list[CheckResult]:
    return asyncio.run(run_checks_async(config, names, **kwargs))
