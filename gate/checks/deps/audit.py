"""Ask the vulnerability services about the pinned packages: pip-audit's services for Python
(offline over OSV records, or online), OSV for npm. A run that audited nothing is a failure."""

from __future__ import annotations

import tempfile
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from gate import redact
from gate.checks.base import CheckContext
from gate.checks.deps.osv import NPM, PYPI
from gate.checks.deps.pinned import Pinned
from gate.config.units import seconds
from gate.errors import CheckFailure

if TYPE_CHECKING:
    from gate.checks.deps.services import Answer


def audit(ctx: CheckContext, root: Path, pins: list[Pinned]) -> dict[tuple[str, str, str], Answer]:
    from gate.checks.deps import services
    from gate.checks.deps.osv import load_index, merge_indexes

    config = ctx.config
    wanted: dict[str, dict[tuple[str, str], None]] = {PYPI: {}, NPM: {}}
    for pinned in pins:
        if not pinned.local and pinned.skip is None and pinned.version is not None:
            wanted[pinned.ecosystem][(pinned.name, pinned.version)] = None
    osv_url = config.get("osv_url", services.DEFAULT_OSV_URL)
    for url in (osv_url, config.get("pypi_url")):
        # A mirror URL may carry credentials; errors quote the URL, so the redactor must know them.
        password = urllib.parse.urlsplit(url).password if url else None
        if password:
            redact.register(password)
    timeout = seconds(config.get("request_timeout", "15s"))
    npm: dict[tuple[str, str], Answer] = {}
    with tempfile.TemporaryDirectory(prefix="gate-pip-audit-cache-") as cache:
        if config.get("osv_db"):
            ctx.progress.update("loading the offline OSV database")
            given = config["osv_db"] if isinstance(config["osv_db"], list) else [config["osv_db"]]
            index = merge_indexes([load_index(Path(p) if Path(p).is_absolute() else root / p) for p in given])
            python = services.PythonService(
                services.offline_service(index), f"offline OSV ({', '.join(given)})", index=index
            )
            npm = services.audit_offline(NPM, list(wanted[NPM]), index)
        else:
            python = services.online_python_service(
                config.get("service", "osv"),
                osv_url=osv_url,
                pypi_url=config.get("pypi_url"),
                timeout=timeout,
                cache_dir=Path(cache),
            )
            if wanted[NPM]:
                ctx.progress.update(f"asking OSV about {len(wanted[NPM])} npm packages")
                npm = services.audit_npm_online(list(wanted[NPM]), url=osv_url, timeout=timeout)
        ctx.progress.update(f"auditing {len(wanted[PYPI])} Python packages with pip-audit")
        py = services.audit_python(list(wanted[PYPI]), python) if wanted[PYPI] else {}
    if py and all(answer.skipped for answer in py.values()):
        (name, version), first = next(iter(py.items()))
        raise CheckFailure(
            f"{python.name} could not audit any of the {len(py)} Python packages it was asked about "
            f"({name} {version}: {first.skipped}); a run that audited nothing is not a pass"
        )
    answers = {(PYPI, name, version): answer for (name, version), answer in py.items()}
    answers.update({(NPM, name, version): answer for (name, version), answer in npm.items()})
    return answers
