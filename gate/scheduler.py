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
from typing import Any, TypeVar

from gate.checks.base import Check, CheckContext, Progress, Result
from gate.config import Config
from gate.config.units import seconds
from gate.errors import CheckFailure, GateError, InputError, InputErrors
from gate.model import CheckResult, Finding, Measurement
from gate.redact import scrub

DEFAULT_CHECK_TIMEOUT = "5m"
log = logging.getLogger(__name__)
T = TypeVar("T")
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


async def _in_thread(name: str, work: Callable[[], T]) -> T:
    """`work()` in a daemon thread, awaited on the loop: a deadline can stop waiting for it and
    the process can exit without joining it (an executor's threads are joined at exit)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(value: T | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(value)  # type: ignore[arg-type]
        else:
            done.set_exception(error)

    def report(value: T | None, error: BaseException | None) -> None:
        # Work that outlived its deadline may end after the run's loop has closed: nobody
        # waits for it any more, and its result was already recorded as an error.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, value, error)

    def target() -> None:
        try:
            value = work()
        except BaseException as error:  # noqa: BLE001 - handed to the loop, judged there
            report(None, error)
        else:
            report(value, None)

    threading.Thread(target=target, name=name, daemon=True).start()
    return await done


async def _run_in_thread(check: Check, ctx: CheckContext, sink: _Collector) -> None:
    stopped = threading.Event()

    def work() -> None:
        for item in check.run(ctx):
            if stopped.is_set():
                return
            sink.add(item)

    try:
        await _in_thread(f"check-{check.name}", work)
    finally:
        stopped.set()


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
    started = time.monotonic()
    prepared = [(registry[name](), build_context(config, name, env, progress)) for name in names]

    def prepare_all() -> list[InputError]:
        problems: list[InputError] = []
        for check, ctx in prepared:
            try:
                check.prepare(ctx)
            except InputErrors as errors:
                problems.extend(errors.errors)
            except InputError as error:
                problems.append(error)
        return problems

    # Preparing reads gate input (manifests, lock files) a stranger may have written: it runs
    # under the run's deadline like the checks themselves.
    try:
        problems = await asyncio.wait_for(_in_thread("prepare", prepare_all), config.run_timeout())
    except TimeoutError:
        raise CheckFailure(
            f"preparing the checks did not finish within the run's {config.run_timeout():g}s deadline; "
            "nothing was passed"
        ) from None
    if problems:
        raise InputErrors(problems)
    remaining = max(config.run_timeout() - (time.monotonic() - started), 0.0)
    tasks: list[asyncio.Task[CheckResult]] = []
    for check, ctx in prepared:
        timeout = seconds(ctx.config.get("timeout", DEFAULT_CHECK_TIMEOUT))
        tasks.append(asyncio.create_task(_run_one(check, ctx, timeout), name=check.name))
    finished, pending = await asyncio.wait(tasks, timeout=remaining) if tasks else (set(), set())
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
