"""What tags hold outside any commit: blobs and trees a ref names directly or through tags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gate.checks.secrets.blobs import _BINARY_PROBE, _blob_contents
from gate.checks.secrets.gitcli import run_git
from gate.checks.secrets.patches import Commit, Occurrence, Skipped
from gate.checks.secrets.scanner import Engine


@dataclass(frozen=True)
class _TaggedObject:
    ref: str
    sha: str
    kind: str  # blob or tree: what the ref names once tags are peeled
    tagger: str
    date: str


def scan_tagged(root: Path, engine: Engine, max_file_bytes: int) -> tuple[list[Occurrence], list[Skipped]]:
    """Blobs and trees that a ref names directly or through tags: no commit holds them, so
    `git log --all` never shows them, yet every clone fetches them with the tag."""
    listing = run_git(
        root, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(taggername)%00%(taggerdate:iso-strict)"
    )
    refs = [line.split(b"\0") for line in listing.splitlines() if line.count(b"\0") == 3]
    peeled = run_git(
        root,
        "cat-file",
        "--batch-check=%(objectname) %(objecttype)",
        stdin=b"".join(fields[1] + b"^{}\n" for fields in refs),
    ).splitlines()
    tagged: list[_TaggedObject] = []
    skipped: list[Skipped] = []
    for fields, answer in zip(refs, peeled, strict=False):
        ref = fields[0].decode("utf-8", "replace")
        sha, _, kind = answer.decode("utf-8", "replace").partition(" ")
        if kind in ("blob", "tree"):
            tagger, date = (field.decode("utf-8", "replace") for field in fields[2:4])
            tagged.append(_TaggedObject(ref, sha, kind, tagger, date))
        elif kind != "commit":
            skipped.append(Skipped(ref, None, f"the object it names could not be read ({answer.decode()[:80]})"))
    occurrences: list[Occurrence] = []
    for item in tagged:
        commit = Commit(sha=item.sha, author=item.tagger or item.ref, date=item.date)
        files = [(item.ref, item.sha)]
        if item.kind == "tree":
            entries = run_git(root, "ls-tree", "-r", "-z", "--full-tree", item.sha).split(b"\0")
            files = [
                (f"{item.ref}:{name.decode('utf-8', 'replace')}", meta.split()[2].decode())
                for meta, _, name in (entry.partition(b"\t") for entry in entries if entry)
                if meta.split()[1:2] == [b"blob"] and not meta.startswith(b"120000")
            ]
        contents = _blob_contents(root, [sha for _, sha in files], max_file_bytes)
        for (path, _), content in zip(files, contents, strict=True):
            if content is None:
                skipped.append(Skipped(path, item.sha, f"it is over the {max_file_bytes}-byte cap (max_file_size)"))
            elif b"\0" not in content[:_BINARY_PROBE]:
                occurrences.extend(Occurrence(hit, path, commit) for hit in engine.scan_buffer(content, path))
    return occurrences, skipped
