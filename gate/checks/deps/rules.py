"""Every rule the deps check can raise: what a known-vulnerable or unaudited dependency means, and the fix."""

from __future__ import annotations

from gate.checks.base import RuleBook, RuleDoc
from gate.model import Severity

RULES = RuleBook(
    "deps",
    [
        RuleDoc(
            "deps.vulnerable",
            "Dependency with a known vulnerability",
            Severity.HIGH,
            "A published advisory means attackers know how to exploit this version; scanners find such "
            "backends within days of an advisory going public.",
            "Upgrade to the fixed version the finding names (the command is in the message), re-lock, and deploy.",
        ),
        RuleDoc(
            "deps.vulnerable-no-fix",
            "Dependency with a known vulnerability and no fixed release",
            Severity.HIGH,
            "No release fixes this advisory yet, so upgrading cannot help; the risk stays until you "
            "remove the package, avoid the affected feature, or a fix ships.",
            "Replace or remove the package, or make sure the vulnerable code path is not reachable; "
            "then suppress the advisory in gate.yml with a reason and an expiry date to look again.",
        ),
        RuleDoc(
            "deps.unaudited",
            "Dependency could not be audited",
            Severity.MEDIUM,
            "A package whose version is unknown (not pinned, a git or URL source) or that the "
            "vulnerability service did not know was not checked at all; it is not clean.",
            "Pin it to an exact release in a lock file, or install it from a package index; if it is "
            "vendored on purpose, suppress it with a reason.",
        ),
        RuleDoc(
            "deps.no-lock-file",
            "package.json without a lock file",
            Severity.MEDIUM,
            "Without a lock file, what gets installed is whatever the ranges in package.json resolve to "
            "on the day of the deploy; nothing was audited, and nothing proves it is free of known "
            "vulnerabilities.",
            "Commit the lock file your package manager writes (package-lock.json, pnpm-lock.yaml or "
            "yarn.lock) and install with `npm ci`, `pnpm install --frozen-lockfile` or `yarn install --immutable`.",
        ),
    ],
)
