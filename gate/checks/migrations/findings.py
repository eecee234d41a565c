"""How the rules engine words a finding: the statement quoted, and where it sits (a file's line, or for a
command's SQL the migration file it came from, else gate.yml's section)."""

from __future__ import annotations

from typing import Any

from gate.checks.migrations.parse import Statement
from gate.checks.migrations.rules import RULES
from gate.model import Finding, Location

SHOWN = 200  # characters of a statement quoted in a finding


def finding(rule_id: str, message: str, statement: Statement, **fields: Any) -> Finding:
    details = {"statement": statement.text[:SHOWN], **fields.pop("details", {})}
    location = Location(path=statement.path, line=statement.line)
    if statement.origin is not None:
        # Generated SQL: the finding sits on the migration file (or the command's gate.yml line).
        message += f" (line {statement.line} of what {statement.origin!r} printed)"
        location = (
            Location(path=statement.path, line=statement.file_line)
            if statement.path
            else Location(name="checks.migrations.command")
        )
    return RULES.finding(
        rule_id,
        message,
        location=location,
        subject=fields.pop("subject", statement.text[:SHOWN]),
        details=details,
        **fields,
    )


def named(rule_id: str, message: str, statement: Statement, table: str, column: str | None = None) -> Finding:
    """A finding about a table or column the running code may still name (the check looks it up in the code)."""
    if column is None:
        return finding(rule_id, message, statement, subject=table, details={"table": table})
    return finding(rule_id, message, statement, subject=f"{table}.{column}", details={"table": table, "column": column})


def kind(statement: Statement) -> str:
    return " ".join(statement.text.split()[:3]) or "The statement"
