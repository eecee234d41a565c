"""How fast is `gate check secrets --history` next to git itself and to a plain per-line scan?

Builds real repositories from the source text of Python's standard library (no network needed,
the same history on every machine with the same Python; or, with `--source site-packages`, of the
installed packages) and measures two of them:

  sparse   3,000 commits editing a few lines each, keys planted in some (some deleted later,
           one on a side branch); target (issue 4): the gate within 2x of the floor
  dense    1,500 commits each adding a new file of about 26 KB holding two keys, where the
           scan, not git, sets the pace; target (issue 23): within 1.5x of the floor

For each it times, in one run:

  floor      `git log -p --all` to /dev/null: what reading the history costs at all
  gate       the gate's history scan (prefilter, line cache, every core), each run in a fresh
             process with empty caches; floor and gate run --repeat times, taking turns, medians
  plain      the same detectors and filters run on every added line, one process, no prefilter
  check      the whole `gate check secrets --history` as a user runs it (for reference)

and checks that every gate run finds the same set of secrets, and exactly the plain scan's set
(it fails otherwise). It prints the machine's cores and load around the timed runs, with a note
when the ratios cannot be trusted, and the peak memory of a scan over half and all the history.

    python benchmarks/secrets_history.py [--case sparse|dense|both] [--commits N]
                                         [--source stdlib|site-packages] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import statistics
import string
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.machine import conditions, ratio_line
from gate.checks.secrets.gitcli import git_command
from gate.checks.secrets.gitscan import default_jobs, scan_patch_stream
from gate.checks.secrets.merges import log_args
from gate.checks.secrets.patches import LOG_FORMAT, PATCH_FLAGS
from gate.checks.secrets.scanner import Engine, shared_engine

IDENTITY = "Bench Author <bench@example.com>"
MAX_SOURCE = 60_000


def _chars(alphabet: str, length: int, rng: random.Random) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def planted_line(index: int, rng: random.Random) -> str:
    """A line with a fake key in one of several providers' shapes (built here, never stored)."""
    alnum = string.ascii_letters + string.digits
    shapes = [
        lambda: f"STRIPE_KEY = '{'sk_' + 'live_'}{_chars(alnum, 40, rng)}'",
        lambda: f"aws_access_key_id = '{'AK' + 'IA'}{_chars(string.ascii_uppercase + string.digits, 16, rng)}'",
        lambda: f"GITHUB = '{'gh' + 'p_'}{_chars(alnum, 36, rng)}'",
        lambda: f"DB = 'postgres://app:{_chars(alnum, 18, rng)}@db{index}.prod.acme.io/app'",
        lambda: f"SENDGRID = '{'SG' + '.'}{_chars(alnum, 22, rng)}.{_chars(alnum, 43, rng)}'",
        lambda: f"password = '{_chars(alnum, 16, rng)}'",
    ]
    return shapes[index % len(shapes)]()


def source_files(source: str = "stdlib") -> list[Path]:
    """Python files to replay: the standard library (the same on every machine with this Python),
    or the installed packages (a denser history, heavy with test vectors that look like keys)."""
    if source == "stdlib":
        top = Path(sysconfig.get_paths()["stdlib"])
        files = (p for p in sorted(top.rglob("*.py")) if "site-packages" not in p.parts and p.is_file())
    else:
        files = (p for p in sorted(Path(sysconfig.get_paths()["purelib"]).rglob("*.py")) if p.is_file())
    return [p for p in files if 200 < p.stat().st_size < MAX_SOURCE]


def build_repository(root: Path, commits: int, sources: list[Path], seed: int = 4) -> int:
    """A history written with `git fast-import`; returns how many keys were planted."""
    rng = random.Random(seed)
    if len(sources) < 50:
        raise SystemExit("not enough Python source to build a history from")
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    stream = bytearray()
    contents: dict[str, list[bytes]] = {}
    planted = 0
    when = 1_700_000_000

    def blob(text: bytes) -> bytes:
        return b"data %d\n" % len(text) + text + b"\n"

    for number in range(1, commits + 1):
        when += 600
        stream += b"commit refs/heads/main\nmark :%d\n" % number
        stream += f"author {IDENTITY} {when} +0000\ncommitter {IDENTITY} {when} +0000\n".encode()
        stream += blob(f"change {number}".encode())
        if number > 1:
            stream += b"from :%d\n" % (number - 1)
        for _ in range(rng.randint(1, 3)):
            if contents and rng.random() < 0.7:
                # Most commits edit a few lines of a file, as real histories do.
                path = rng.choice(sorted(contents))
                lines = contents[path]
                donor = sources[rng.randrange(len(sources))].read_bytes().split(b"\n")
                start = rng.randrange(len(lines) + 1)
                take = rng.randint(1, 20)
                offset = rng.randrange(max(1, len(donor) - take))
                lines[start : start + rng.randint(0, 10)] = donor[offset : offset + take]
            else:
                source = sources[rng.randrange(len(sources))]
                path = f"pkg{len(contents) % 97}/{source.parent.name}_{source.name}"
                contents[path] = source.read_bytes().split(b"\n")
                lines = contents[path]
            if number % 37 == 0:
                lines.insert(rng.randrange(len(lines) + 1), planted_line(planted, rng).encode())
                planted += 1
            stream += f"M 100644 inline {path}\n".encode() + blob(b"\n".join(lines))
    # A key only on a side branch: `--all` must reach it.
    stream += b"commit refs/heads/experiment\n"
    stream += f"author {IDENTITY} {when + 60} +0000\ncommitter {IDENTITY} {when + 60} +0000\n".encode()
    stream += blob(b"experiment") + b"from :%d\n" % commits
    stream += b"M 100644 inline experiment.py\n" + blob(planted_line(planted, rng).encode() + b"\n")
    planted += 1
    subprocess.run(["git", "-C", str(root), "fast-import", "--quiet"], input=bytes(stream), check=True)
    subprocess.run(["git", "-C", str(root), "checkout", "-q", "main"], check=True)
    return planted


DENSE_PATCH = 26_000
DENSE_KEYS = 2


def build_dense_repository(root: Path, commits: int, sources: list[Path], seed: int = 4) -> int:
    """A history where every commit adds a new file of about 26 KB of source with two keys in it:
    the dense case of issue 23, where the scan, not git, sets the pace. Returns the keys planted."""
    rng = random.Random(seed)
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    stream = bytearray()
    planted = 0
    when = 1_700_000_000
    donors = [source.read_bytes().split(b"\n") for source in sources]
    for number in range(1, commits + 1):
        when += 600
        lines: list[bytes] = []
        while sum(len(line) + 1 for line in lines) < DENSE_PATCH:
            donor = donors[rng.randrange(len(donors))]
            start = rng.randrange(max(1, len(donor) - 40))
            lines += donor[start : start + rng.randint(20, 80)]
        for _ in range(DENSE_KEYS):
            lines.insert(rng.randrange(len(lines) + 1), planted_line(planted, rng).encode())
            planted += 1
        text = b"\n".join(lines) + b"\n"
        stream += b"commit refs/heads/main\nmark :%d\n" % number
        stream += f"author {IDENTITY} {when} +0000\ncommitter {IDENTITY} {when} +0000\n".encode()
        message = b"change %d" % number
        stream += b"data %d\n" % len(message) + message + b"\n"
        if number > 1:
            stream += b"from :%d\n" % (number - 1)
        stream += f"M 100644 inline dense/mod{number}.py\n".encode() + b"data %d\n" % len(text) + text + b"\n"
    subprocess.run(["git", "-C", str(root), "fast-import", "--quiet"], input=bytes(stream), check=True)
    subprocess.run(["git", "-C", str(root), "checkout", "-q", "main"], check=True)
    return planted


def timed(function: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()  # type: ignore[operator]
    return time.perf_counter() - started, result


def floor(root: Path, *flags: str) -> None:
    with open(os.devnull, "wb") as sink:
        subprocess.run(["git", "-C", str(root), "log", *flags, "--all"], stdout=sink, check=True)


def gate_scan(root: Path, *revs: str) -> set[tuple[str, str, int, str, str]]:
    args = log_args([*(revs or ["--all"]), "--"])
    occurrences, _ = scan_patch_stream(root, args, max_file_bytes=5_000_000, jobs=default_jobs())
    rules = shared_engine().detectors
    return {
        (o.commit.sha if o.commit else "", o.path, o.hit.line, rules[o.hit.detector].rule_id, o.hit.secret)
        for o in occurrences
    }


def pr_diff(root: Path) -> tuple[int, float]:
    """A pull request's worth of change: the last commits, a few hundred added lines."""
    for back in range(1, 50):
        numstat = subprocess.run(
            ["git", "-C", str(root), "diff", "--numstat", f"HEAD~{back}...HEAD"], capture_output=True, text=True
        ).stdout
        added = sum(int(line.split()[0]) for line in numstat.splitlines() if line.split()[0].isdigit())
        if added >= 300:
            break
    started = time.perf_counter()
    scan_patch_stream(root, ["diff", *PATCH_FLAGS, f"HEAD~{back}...HEAD", "--"], max_file_bytes=5_000_000, jobs=1)
    return added, time.perf_counter() - started


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def plain_scan(root: Path) -> set[tuple[str, str, int, str, str]]:
    """Every added line through every detector and filter: what a per-line detect-secrets run does."""
    engine = Engine(shared_engine().detectors, prefilter=False, cache=False)
    process = subprocess.Popen(
        git_command(root, "log", *PATCH_FLAGS, LOG_FORMAT, "--all", "--"), stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    found: set[tuple[str, str, int, str, str]] = set()
    commit = path = ""
    line_number = 0
    in_hunk = False
    for raw in process.stdout:
        text = raw.decode("utf-8", "replace").rstrip("\n")
        if text.startswith("\0"):
            commit, in_hunk = text[1:].split("\x1f")[0], False
        elif text.startswith("diff --git "):
            in_hunk, path = False, ""
        elif not in_hunk and text.startswith("+++ "):
            path = text[6:] if text.startswith("+++ b/") else ""
        elif text.startswith("@@ "):
            match = _HUNK.match(text)
            line_number, in_hunk = (int(match.group(1)) if match else 0), True
        elif in_hunk and text.startswith("+") and path:
            for hit in engine.scan_line(text[1:], path):
                found.add((commit, path, line_number, engine.detectors[hit.detector].rule_id, hit.secret))
            line_number += 1
    process.wait()
    return found


def whole_check(root: Path) -> None:
    """What a user runs: start-up, working tree, history, fingerprints, presence at HEAD, reports."""
    with tempfile.TemporaryDirectory(prefix="gate-bench-report-") as out:
        completed = subprocess.run(
            [sys.executable, "-m", "gate", "check", "secrets", "--history", "--output", f"sarif={out}/r.sarif"],
            cwd=root,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
    if completed.returncode not in (0, 1):
        raise SystemExit(f"gate check secrets failed: {completed.stderr.decode()[-2000:]}")


def scan_in_child(root: Path, *revs: str) -> tuple[float, int, str]:
    """One cold history scan in a fresh process: (seconds, peak RSS in KB, digest of its findings).

    The process loads detect-secrets before the clock starts, as a warm CLI would have, but its
    caches start empty, as in every real run.
    """
    completed = subprocess.run(
        [sys.executable, __file__, "--scan-child", str(root), *revs], capture_output=True, text=True, check=True
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    return float(result["seconds"]), int(result["max_rss_kb"]), str(result["digest"])


def _child(root: Path, revs: list[str]) -> None:
    shared_engine()
    started = time.perf_counter()
    found = gate_scan(root, *(revs or ["--all"]))
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "max_rss_kb": peak, "digest": digest(found)}))


def digest(found: set[tuple[str, str, int, str, str]]) -> str:
    """One short name for a set of findings, to compare the sets of runs in other processes."""
    return hashlib.sha256(json.dumps(sorted(found)).encode()).hexdigest()[:16]


# The two histories `benchmarks/run` measures: (commits, builder, target for the gate / floor).
CASES = {"sparse": (3000, build_repository, 2.0), "dense": (1500, build_dense_repository, 1.5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=[*CASES, "both"], default="both", help="which history (default: both)")
    parser.add_argument("--commits", type=int, help="commits to build (default: 3000 sparse, 1500 dense)")
    parser.add_argument("--source", choices=["stdlib", "site-packages"], default="stdlib")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of floor and gate (medians are compared)")
    parser.add_argument("--keep", type=Path, help="build the repository here and keep it (one case only)")
    parser.add_argument("--scan-child", type=Path, help=argparse.SUPPRESS)
    args, revs = parser.parse_known_args()
    if args.scan_child:
        _child(args.scan_child, revs)
        return
    cases = list(CASES) if args.case == "both" else [args.case]
    if args.keep and len(cases) > 1:
        parser.error("--keep builds one history: name it with --case sparse or --case dense")
    failed = False
    for case in cases:
        print(f"---- {case} history")
        failed |= not run_case(case, args)
    if failed:
        raise SystemExit(1)


def run_case(case: str, args: argparse.Namespace) -> bool:
    """Measure one history; False when the gate's findings differ between runs or from the plain scan."""
    default_commits, build, target = CASES[case]
    commits = args.commits or default_commits
    with tempfile.TemporaryDirectory(prefix="gate-bench-") as scratch:
        root = args.keep or Path(scratch) / "repo"
        if not (root / ".git").exists():
            print(f"building {commits} {case} commits from {args.source} source in {root} ...")
            planted = build(root, commits, source_files(args.source))
            print(f"planted {planted} keys")
        count = subprocess.run(["git", "-C", str(root), "rev-list", "--all", "--count"], capture_output=True, text=True)
        size = subprocess.run(git_command(root, "log", *PATCH_FLAGS, LOG_FORMAT, "--all"), capture_output=True).stdout
        total = int(count.stdout.strip())
        print(f"history: {total} commits, {len(size) >> 20} MB of -U0 patches, {len(size) // total >> 10} KB a commit")
        # Floor and gate take turns, so a busy neighbour on the machine slows both alike.
        floors, gates, digests, rss = [], [], set(), 0
        with conditions() as box:
            for _ in range(args.repeat):
                floors.append(timed(lambda: floor(root, "-p"))[0])
                seconds, rss, found_digest = scan_in_child(root)
                gates.append(seconds)
                digests.add(found_digest)
        floor_s, gate_s = statistics.median(floors), statistics.median(gates)
        check_s, _ = timed(lambda: whole_check(root))
        _, half_rss, _ = scan_in_child(root, f"--max-count={total // 2}", "main")
        shared_engine()
        _, gate_found = timed(lambda: gate_scan(root))
        digests.add(digest(gate_found))
        plain_s, plain_found = timed(lambda: plain_scan(root))
        diff_lines, diff_s = pr_diff(root)
    print(f"floor  git log -p --all              {floor_s:8.2f} s   (median of {args.repeat})")
    print(f"gate   history scan                   {gate_s:8.2f} s   {gate_s / floor_s:5.2f}x the floor")
    print(
        ratio_line(
            f"gate history scan ({case})", gate_s / floor_s, target, baseline="the floor", higher_is_better=False
        )
    )
    print(f"plain  per-line scan, same detectors  {plain_s:8.2f} s   {plain_s / gate_s:5.1f}x the gate (target >= 10x)")
    print(f"check  `gate check secrets --history`  {check_s:8.2f} s   (the whole check: start-up, tree, reports)")
    print(f"PR     diff of {diff_lines} added lines        {diff_s:8.3f} s   (target: well under a second)")
    print(f"memory peak RSS: {half_rss >> 10} MB over half the history, {rss >> 10} MB over all of it (target: flat)")
    print(box.report())
    same = gate_found == plain_found
    stable = len(digests) == 1
    print(
        f"findings: gate {len(gate_found)}, plain {len(plain_found)}, identical sets: {same}; "
        f"the same set in all {args.repeat + 1} gate runs: {stable}"
    )
    for item in sorted(plain_found - gate_found)[:10]:
        print("  only plain:", item[:4])
    for item in sorted(gate_found - plain_found)[:10]:
        print("  only gate: ", item[:4])
    return same and stable


if __name__ == "__main__":
    main()
