"""Each section of the handover page, from gate.yml (merged with its preset) and the last report.

Everything here is untrusted text (a pull request writes gate.yml; the report quotes the scanned
code): it is kept as plain strings and escaped by the renderers, never interpreted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gate.config import Config
from gate.config.units import seconds
from gate.errors import GateError
from gate.handover.document import Section
from gate.handover.report import place

_MAIL = (("SPF", "dns.spf."), ("DKIM", "dns.dkim."), ("DMARC", "dns.dmarc."), ("MX", "dns.mx."),
         ("MTA-STS / TLS-RPT", ("dns.mta-sts.", "dns.tlsrpt.")))  # fmt: skip
_NOT_CHECKED = (".not-checked", ".unscanned")


def _check_status(report: Mapping[str, Any], name: str) -> str | None:
    """pass/warn/fail/error of a check in the report, None when it did not run."""
    for check in report.get("checks", []):
        if check.get("name") == name:
            return str(check.get("status"))
    return None


def _findings(report: Mapping[str, Any], check: str | None = None) -> list[Mapping[str, Any]]:
    return [f for f in report.get("findings", []) if check is None or f.get("check") == check]


def _domains(config: Config) -> list[tuple[str, Mapping[str, Any]]]:
    dns = config.section("dns")
    listed = [(str(d["domain"]), d) for d in dns.get("domains", [])]
    if dns.get("domain") and all(name != dns["domain"] for name, _ in listed):
        listed.insert(0, (str(dns["domain"]), dns))
    return listed


def domains(config: Config, report: Mapping[str, Any]) -> Section:
    status = _check_status(report, "dns")
    dns_findings = _findings(report, "dns")
    owners = {str(d.get("name")): d for d in config.data.get("handover", {}).get("domains", [])}
    section = Section(
        "Domains and DNS",
        ("Name", "Declared", "As the last run saw it", "Registrar / owner"),
        empty="No domain in gate.yml (checks.dns.domain) and none under handover.domains.",
    )
    for domain, spec in _domains(config):
        hosts: Mapping[str, Any] = spec.get("hosts") or {}
        names = [(domain, "zone apex")] + [
            ("@" if h == "@" else f"{h}.{domain}", _declared(target)) for h, target in hosts.items() if h != "@"
        ]
        for name, declared in names:
            seen = [f"{f['title']}: {f['message']}" for f in dns_findings if place(f) in (name, f"{name}.")]
            section.rows.append((name, declared, _seen(status, seen), _owner(owners.get(name))))
    for name, entry in owners.items():
        if all(row[0] != name for row in section.rows):
            section.rows.append((name, "", "not checked (not in checks.dns)", _owner(entry)))
    return section


def _declared(target: Mapping[str, Any] | None) -> str:
    if not target:
        return "must resolve"
    if target.get("exists") is False:
        return "must not resolve"
    return "points to " + ", ".join(str(t) for t in target.get("points_to", [])) if target.get("points_to") else ""


def _seen(status: str | None, problems: list[str]) -> str:
    if status is None:
        return "not checked (the dns check did not run)"
    if status == "error":
        return "not known (the dns check could not finish)"
    return "; ".join(problems) if problems else "as declared"


def _owner(entry: Mapping[str, Any] | None) -> str:
    if not entry:
        return ""
    parts = [str(entry[k]) for k in ("registrar", "owner") if entry.get(k)]
    renews = f" (renews {entry['renews']})" if entry.get("renews") else ""
    return " / ".join(parts) + renews


def hosting(config: Config) -> Section:
    section = Section(
        "Hosting and access",
        ("Service", "Runs", "Owner", "Who has access"),
        empty="No hosting declared (handover.hosting): write down where the app runs and who can log in.",
    )
    for entry in config.data.get("handover", {}).get("hosting", []):
        section.rows.append(tuple(str(entry.get(key, "")) for key in ("name", "runs", "owner", "access")))
    return section


def mail(config: Config, report: Mapping[str, Any]) -> Section:
    status = _check_status(report, "dns")
    section = Section("E-mail authentication", ("Domain", "Record", "Status"), empty="No domain to check.")
    for domain, _ in _domains(config):
        for label, prefixes in _MAIL:
            problems = [
                f"{f['severity']}: {f['title']}"
                for f in _findings(report, "dns")
                if str(f.get("rule_id", "")).startswith(prefixes) and domain in place(f)
            ]
            section.rows.append((domain, label, _seen(status, problems).replace("as declared", "ok")))
    return section


def environment(config: Config) -> Section:
    section = Section(
        "Environment variables",
        ("Name", "Required in", "Secret", "Declared in"),
        empty="No env manifest was found.",
        note="Names only: values live in the hosting provider's settings and are never copied here.",
    )
    try:
        from gate.checks.env.manifest import load_manifest

        manifest = load_manifest(config.root, config.section("env"), config.path)
    except GateError as error:
        return Section(section.title, section.columns, empty=f"The env manifest could not be read: {error}")
    for name, spec in sorted(manifest.variables.items()):
        required = ", ".join(e for e in manifest.environments if e in spec.required_in) or "optional everywhere"
        where = f"{Path(str(spec.position.path)).name}:{spec.position.line}" if spec.position.line else ""
        section.rows.append((name, required, "yes" if spec.secret else "no", where))
    return section


def secrets(report: Mapping[str, Any]) -> Section:
    section = Section(
        "Secrets found (rotate each)",
        ("Where", "What", "Rotation steps", "Blocks"),
        empty=_ran_or_not(report, "secrets", "No secret was found by the last run."),
    )
    for f in _findings(report, "secrets"):
        if not str(f.get("rule_id", "")).endswith(_NOT_CHECKED):
            section.rows.append((place(f), f"{f['title']} ({f['evidence'] or f['rule_id']})", f["fix"], _blocks(f)))
    return section


def _blocks(finding: Mapping[str, Any]) -> str:
    if finding.get("suppressed"):
        return "no (suppressed)"
    return "yes" if finding.get("blocking") else "no"


def _ran_or_not(report: Mapping[str, Any], check: str, clean: str) -> str:
    status = _check_status(report, check)
    if status is None:
        return f"Not checked: the {check} check did not run."
    return f"Not known: the {check} check could not finish." if status == "error" else clean


def monitoring(config: Config) -> Section:
    """handover.monitoring and .alerts, plus what a `watch:` section names (read tolerantly)."""
    declared = config.data.get("handover", {})
    section = Section(
        "Monitoring and alerts",
        ("What", "Where", "Owner / who"),
        empty="No monitoring declared: nobody will know the site is down before users say so.",
    )
    for entry in declared.get("monitoring", []):
        section.rows.append((f"monitor: {entry['name']}", str(entry.get("url", "")), str(entry.get("owner", ""))))
    for entry in declared.get("alerts", []):
        section.rows.append(("alert channel", str(entry["channel"]), str(entry.get("who", ""))))
    watch = config.data.get("watch")
    if isinstance(watch, Mapping):
        for kind, where in _watch_entries(watch):
            section.rows.append((f"gate watch: {kind}", where, ""))
    return section


def _watch_entries(watch: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for key, value in watch.items():
        items = value if isinstance(value, list) else [value]
        for item in items[:50]:
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                if any(word in key for word in ("target", "url", "alert", "channel", "webhook", "notify")):
                    yield key, str(item)
            elif isinstance(item, Mapping):
                shown = item.get("url") or item.get("name") or item.get("channel") or item.get("target")
                if shown:
                    yield key, str(shown)


def playbooks(config: Config) -> list[Section]:
    declared = config.data.get("handover", {})
    deploy, rollback = declared.get("deploy", {}), declared.get("rollback", {})
    budget = str(declared.get("rollback_budget", "15m"))
    drill = rollback.get("last_drill")
    if drill is None:
        verdict = f"No rollback drill recorded: nobody knows the rollback fits the {budget} budget."
    elif seconds(str(drill["took"])) > seconds(budget):
        verdict = f"Last drill {drill['date']} took {drill['took']}: OVER the {budget} budget."
    else:
        verdict = f"Last drill {drill['date']} took {drill['took']} (budget {budget})."
    sections = []
    for title, book, extra in (("Deploy", deploy, None), ("Rollback", rollback, verdict)):
        owner = str(book.get("owner", "nobody named"))
        steps = [str(step) for step in book.get("steps", [])]
        sections.append(
            Section(
                title,
                ("Owner",),
                [(owner,)],
                note=extra,
                steps=[(f"{title} steps", steps or ["none declared (handover." + title.lower() + ".steps)"])],
            )
        )
    return sections


def risks(report: Mapping[str, Any]) -> Section:
    section = Section(
        "Open risks",
        ("Severity", "Rule", "Where", "What"),
        empty="No open risk: the last run made no finding that does not block.",
        note="Every finding of the last run that does not block the release (suppressed ones included).",
    )
    for f in report.get("findings", []):
        if not f.get("blocking") and not str(f.get("rule_id", "")).endswith(_NOT_CHECKED):
            what = f"{f['title']}: {f['message']}" + (" (suppressed)" if f.get("suppressed") else "")
            section.rows.append((str(f["severity"]), str(f["rule_id"]), place(f), what))
    return section


def not_checked(config: Config, report: Mapping[str, Any]) -> Section:
    from gate.checks import REGISTRY

    section = Section(
        "What was not checked",
        ("What", "Why"),
        empty="Every check ran to the end.",
        note="Owners, steps and drill times above are what gate.yml declares; the gate does not verify them.",
    )
    ran = {str(c.get("name")): c for c in report.get("checks", [])}
    for name in REGISTRY:
        if name not in ran:
            section.rows.append((f"{name} check", "not run in the last report (disabled or not selected)"))
        elif ran[name].get("status") == "error":
            section.rows.append((f"{name} check", f"could not finish: {ran[name].get('error') or 'no reason given'}"))
    for f in report.get("findings", []):
        if str(f.get("rule_id", "")).endswith(_NOT_CHECKED):
            section.rows.append((place(f) or str(f["check"]), str(f["message"])))
    if not {"deploy", "rollback"} & set(config.data.get("handover", {})):
        section.rows.append(("handover section", "gate.yml has no handover: owners and steps are missing"))
    return section
