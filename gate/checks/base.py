"""What a check is: a module that yields findings and measurements, and decides nothing.

A check declares, as data, the schema of its gate.yml section, the options `gate check NAME`
offers, and the rules it can raise (for `gate explain`, SARIF and the console). Heavy libraries
are imported inside `run`, so `gate --help` stays fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from gate.config.source import PolicySource
from gate.model import Finding, Location, Measurement, RuleDoc, Severity, fingerprint_of

Result = Finding | Measurement
__all__ = ["Check", "CheckContext", "CheckOption", "Progress", "Result", "RuleBook", "RuleDoc"]


class RuleBook:
    """Every rule one check can raise, and the one way that check turns a rule into a finding.

    A check's `rules.py` builds one `RuleBook`; its parts make findings through it, so the title,
    default severity and fix always come from the rule's documentation and never drift.
    """

    def __init__(self, check: str, docs: Iterable[RuleDoc]) -> None:
        self.check = check
        self.docs: tuple[RuleDoc, ...] = tuple(docs)
        self._by_id = {doc.id: doc for doc in self.docs}
        if len(self._by_id) != len(self.docs):
            raise ValueError(f"{check}: a rule id is documented twice")

    def __iter__(self) -> Iterator[RuleDoc]:
        return iter(self.docs)

    def __len__(self) -> int:
        return len(self.docs)

    def __getitem__(self, rule_id: str) -> RuleDoc:
        return self._by_id[rule_id]

    def finding(
        self,
        rule_id: str,
        message: str,
        *,
        severity: Severity | None = None,
        subject: str | None = None,
        **fields: Any,
    ) -> Finding:
        """A finding whose title and fix come from the rule's documentation.

        `subject` names what the finding is about (a variable, a secret's hash) so two findings
        of one rule in one file keep distinct, stable fingerprints.
        """
        doc = self[rule_id]
        if subject is not None and "fingerprint" not in fields:
            location = fields.get("location", Location())
            fields["fingerprint"] = fingerprint_of(rule_id, f"{location.subject()}\x1f{subject}")
        return Finding(
            rule_id=rule_id,
            check=self.check,
            severity=doc.severity if severity is None else severity,
            title=doc.title,
            message=message,
            fix=fields.pop("fix", doc.fix),
            **fields,
        )


@dataclass(frozen=True)
class CheckOption:
    """A `gate check NAME` command-line option that sets one key of the check's config.

    `key` is a dotted path inside the check's section; `is_flag` options set True; `multiple`
    options append to a list.
    """

    flag: str
    key: str
    help: str
    is_flag: bool = False
    multiple: bool = False
    metavar: str | None = None


@dataclass
class Progress:
    """Where a long check reports how far it got; the console decides how to show it."""

    check: str
    sink: Any = None

    def update(self, message: str, done: int | None = None, total: int | None = None) -> None:
        if self.sink is not None:
            self.sink(self.check, message, done, total)


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may read. `config` is its own section, preset merged and validated."""

    root: Path
    config: Mapping[str, Any]
    preset: str
    environ: Mapping[str, str]
    config_path: Path | None = None
    full_config: Mapping[str, Any] = field(default_factory=dict)
    progress: Progress = field(default_factory=lambda: Progress(check=""))
    # Where policy files (baselines) are read: in a pull request, its base commit.
    policy: PolicySource = field(default_factory=PolicySource)


class Check:
    """Base of every check. Override `run` (a generator) or `arun` (an async generator)."""

    name: ClassVar[str]
    summary: ClassVar[str]
    config_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}
    options: ClassVar[tuple[CheckOption, ...]] = ()
    rules: ClassVar[tuple[RuleDoc, ...]] = ()
    # Network checks run on the event loop; the rest run in a thread so the loop stays free.
    is_async: ClassVar[bool] = False

    def prepare(self, ctx: CheckContext) -> None:
        """Validate the check's own inputs (files gate.yml names, manifests) before any check runs.

        Raise `InputError` here: the run stops with exit 2 and nothing half-done.
        """

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        raise NotImplementedError

    def arun(self, ctx: CheckContext) -> AsyncIterator[Result]:
        raise NotImplementedError

    @classmethod
    def rule(cls, rule_id: str) -> RuleDoc:
        return RuleBook(cls.name, cls.rules)[rule_id]

    @classmethod
    def finding(
        cls,
        rule_id: str,
        message: str,
        *,
        severity: Severity | None = None,
        subject: str | None = None,
        **fields: Any,
    ) -> Finding:
        """A finding of one of this check's rules (see `RuleBook.finding`)."""
        return RuleBook(cls.name, cls.rules).finding(rule_id, message, severity=severity, subject=subject, **fields)
