"""Can a ratio measured on this machine be trusted? One answer for every benchmark.

A ratio against a baseline measured in the same run cancels the machine's speed, but not other
work on the box: a neighbour that takes a core in the middle of our run slows one side and not
the other. So each benchmark wraps its measured part in `conditions()`, which samples the whole
box's CPU (busy and steal, from /proc/stat) for a moment before and after, reads /proc/loadavg,
counts the cores this process may use, and estimates what other processes used during the run
(the box's busy time less this process's and its reaped children's); `Conditions.report()` prints that beside the ratios
with a note saying why they cannot be trusted, when they cannot.

    from benchmarks.machine import conditions, pinned, ratio_line

    with conditions() as box:
        ours, theirs = measure_ours(), measure_baseline()
    print(ratio_line("request rate", ours / theirs, 0.8, baseline="wrk"))
    print(box.report())

`pinned(command, core)` puts a process on one core with `taskset` when there are at least two.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

#: Above this share of the box busy with other work while we stood still, a ratio is suspect.
BUSY_LIMIT = 0.10
#: Any steal above this means a hypervisor gave our cores to someone else.
STEAL_LIMIT = 0.02
#: How long each idle sample lasts: long enough to see a neighbour, short enough not to matter.
SAMPLE_S = 1.0


def _allowed() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


# Taken at import, before any benchmark pins itself to one of them.
ALLOWED_CORES = _allowed()


def cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    return len(ALLOWED_CORES)


@dataclass(frozen=True)
class Sample:
    """The box's CPU use over a short window in which this process did nothing."""

    busy: float  # share of all cores' time spent working (user, system, irq, ...), 0..1
    steal: float  # share taken by the hypervisor for other guests, 0..1
    loadavg: float  # 1-minute load average at the end of the window

    def describe(self) -> str:
        return f"{self.busy:.0%} busy, {self.steal:.0%} steal, loadavg {self.loadavg:.2f}"


def _cpu_times() -> tuple[int, int, int] | None:
    """(total, idle + iowait, steal) jiffies over all cores, or None where /proc/stat is absent."""
    try:
        line = Path("/proc/stat").read_text().split("\n", 1)[0]
    except OSError:
        return None
    values = [int(value) for value in line.split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice; guest is already in user.
    total = sum(values[:8])
    return total, values[3] + values[4], values[7] if len(values) > 7 else 0


def _loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def sample(seconds: float = SAMPLE_S) -> Sample | None:
    """Measure the box for `seconds` while this process sleeps; None where it cannot be seen."""
    first = _cpu_times()
    time.sleep(seconds)
    second = _cpu_times()
    if first is None or second is None or second[0] <= first[0]:
        return None
    total = second[0] - first[0]
    idle = second[1] - first[1]
    steal = second[2] - first[2]
    return Sample(busy=max(0.0, (total - idle - steal) / total), steal=steal / total, loadavg=_loadavg())


@dataclass
class Conditions:
    """What the box was doing around a measurement, and whether its ratios can be trusted."""

    cores: int
    before: Sample | None = None
    after: Sample | None = None
    # Share of the box's CPU that processes other than this one and its reaped children used
    # during the run: the neighbour that the idle samples before and after may miss.
    others_during: float | None = None
    notes: list[str] = field(default_factory=list)

    def untrusted(self) -> list[str]:
        """Why a ratio from this run cannot be trusted; empty when nothing is known against it."""
        reasons: list[str] = []
        if self.cores < 2:
            reasons.append(f"only {self.cores} core: client and server share it, so the ratio measures the sharing")
        for when, taken in (("before", self.before), ("after", self.after)):
            if taken is None:
                reasons.append(f"the box's CPU use could not be read {when} the run (no /proc/stat)")
                continue
            if taken.busy > BUSY_LIMIT:
                reasons.append(f"other work kept {taken.busy:.0%} of the box busy {when} the run")
            if taken.steal > STEAL_LIMIT:
                reasons.append(f"the hypervisor stole {taken.steal:.0%} of the CPU {when} the run")
        if self.others_during is not None and self.others_during > BUSY_LIMIT:
            reasons.append(f"other processes used {self.others_during:.0%} of the box during the run")
        return reasons + self.notes

    @property
    def trusted(self) -> bool:
        return not self.untrusted()

    def report(self) -> str:
        """Core count, load before and after, and the verdict on the run's ratios."""
        seen = " | ".join(
            f"{when}: {taken.describe()}" if taken else f"{when}: not measured"
            for when, taken in (("before", self.before), ("after", self.after))
        )
        during = "" if self.others_during is None else f" | others during: {self.others_during:.0%}"
        lines = [f"machine: {self.cores} cores; {seen}{during}"]
        reasons = self.untrusted()
        if reasons:
            lines.append("NOTE: the ratios of this run cannot be trusted: " + "; ".join(reasons) + ".")
        else:
            lines.append("the box was quiet before and after: the ratios can be trusted.")
        return "\n".join(lines)


@contextmanager
def conditions(seconds: float = SAMPLE_S) -> Iterator[Conditions]:
    """Sample the box before and after the body; `.report()` the result beside the ratios."""
    taken = Conditions(cores(), before=sample(seconds))
    box, ours = _cpu_times(), _own_cpu_s()
    try:
        yield taken
    finally:
        box_end, ours_end = _cpu_times(), _own_cpu_s()
        if box is not None and box_end is not None and box_end[0] > box[0]:
            total = box_end[0] - box[0]
            busy = total - (box_end[1] - box[1]) - (box_end[2] - box[2])
            own = (ours_end - ours) * os.sysconf("SC_CLK_TCK")
            taken.others_during = max(0.0, (busy - own) / total)
        taken.after = sample(seconds)


def _own_cpu_s() -> float:
    """CPU seconds of this process and of the children it has already waited for."""
    spent = os.times()
    return spent.user + spent.system + spent.children_user + spent.children_system


def pinned(command: Sequence[str], core: int) -> list[str]:
    """`command` run on `core` alone when the machine has at least two and taskset exists."""
    if len(ALLOWED_CORES) < 2 or shutil.which("taskset") is None:
        return list(command)
    return ["taskset", "-c", str(ALLOWED_CORES[core % len(ALLOWED_CORES)]), *command]


def pin_self(core: int) -> bool:
    """Move the calling thread (and threads it starts later) onto `core` alone; True if it did."""
    if len(ALLOWED_CORES) < 2 or not hasattr(os, "sched_setaffinity"):
        return False
    os.sched_setaffinity(0, {ALLOWED_CORES[core % len(ALLOWED_CORES)]})
    return True


def unpin_self() -> None:
    """Give this process back every core it started with."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(ALLOWED_CORES))


def ratio_line(what: str, ratio: float, target: float, *, baseline: str, higher_is_better: bool = True) -> str:
    """`what: 0.83x <baseline> (target >= 0.80x: met)`, the one way benchmarks print a target."""
    met = ratio >= target if higher_is_better else ratio <= target
    sign = ">=" if higher_is_better else "<="
    return f"{what}: {ratio:.2f}x {baseline} (target {sign} {target:.2f}x: {'met' if met else 'MISSED'})"


if __name__ == "__main__":
    with conditions() as quiet:
        pass
    print(quiet.report())
