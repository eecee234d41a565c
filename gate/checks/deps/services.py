"""Where vulnerability answers come from: pip-audit's services for Python, OSV for npm.

Python packages always go through pip-audit's `Auditor` and a pip-audit `VulnerabilityService`:
ours over an offline OSV database, or pip-audit's own PyPI and OSV services online. Whatever a
service cannot answer fails the check closed (`CheckFailure`, exit 3); a package a service
skips comes back as skipped, never as clean.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gate.bodies import DecodingError, decode_all, read_sync
from gate.checks.deps.osv import NPM, PYPI, VERSION_KEYS, OsvIndex, index_of_records
from gate.checks.deps.severity import Rated
from gate.errors import CheckFailure

logger = logging.getLogger(__name__)

DEFAULT_OSV_URL = "https://api.osv.dev/v1/query"
PYPI_JSON_BASE = "https://pypi.org/pypi/"
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
MAX_PAGES = 20
NPM_WORKERS = 8


@dataclass(frozen=True)
class Hit:
    """One advisory that affects one installed version."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    fixes: tuple[str, ...]  # fixed versions above the installed one, lowest first
    rating: Rated | None


@dataclass(frozen=True)
class Answer:
    hits: tuple[Hit, ...] = ()
    skipped: str | None = None  # the service could not audit this package


Key = tuple[str, str]  # (name, version)


def _best_rating(index: OsvIndex, ids: Sequence[str]) -> Rated | None:
    ratings = [r for r in (index.advisories[i].rating() for i in ids if i in index.advisories) if r is not None]
    return max(ratings, key=lambda r: r.severity, default=None)


@cache
def _pip_audit_service_class() -> type[Any]:
    from packaging.version import Version
    from pip_audit._service import VulnerabilityResult, VulnerabilityService

    class OfflineOsvService(VulnerabilityService):  # type: ignore[misc]
        """A pip-audit VulnerabilityService answering from an offline OSV index."""

        def __init__(self, index: OsvIndex) -> None:
            self.index = index

        def query(self, spec: Any) -> tuple[Any, list[Any]]:
            if spec.is_skipped():
                return spec, []
            results = [
                VulnerabilityResult.create(
                    ids=list(match.advisory.ids),
                    description=match.advisory.summary,
                    # pip-audit wants Versions: an approximated key stands in for a fix that does
                    # not parse; the finding shows the advisory's own text (see PythonService.fixes).
                    fix_versions=[key if isinstance(key, Version) else Version(str(key)) for key, _ in match.ordered],
                    published=None,
                )
                for match in self.index.query(PYPI, spec.canonical_name, str(spec.version))
            ]
            return spec, results

    return OfflineOsvService


def offline_service(index: OsvIndex) -> Any:
    return _pip_audit_service_class()(index)


class _Session:
    """pip-audit's requests session, recording OSV answers (for severities pip-audit drops)
    and sending PyPI's JSON API to a mirror when one is configured."""

    def __init__(self, inner: Any, pypi_base: str | None) -> None:
        self._inner = inner
        self._pypi_base = pypi_base
        self.index = OsvIndex("online answers")

    def post(self, **kwargs: Any) -> Any:
        response = _bounded(self._inner.post(stream=True, **kwargs))
        if response.ok:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("vulns"), list):
                for record in body["vulns"]:
                    self.index.add(record)
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        if self._pypi_base and url.startswith(PYPI_JSON_BASE):
            url = self._pypi_base.rstrip("/") + "/" + url[len(PYPI_JSON_BASE) :]
        return _bounded(self._inner.get(url=url, stream=True, **kwargs))


def _bounded(response: Any) -> Any:
    """Read the body here, at most MAX_RESPONSE_BYTES of it: requests would read a body of any size
    (a 10 GB Content-Length, a stream that never ends) into memory for pip-audit."""
    try:
        # Raw bytes decoded under the cap: urllib3 decodes a chunk whole (a gzip bomb in one read).
        body, over = decode_all(
            response.headers.get("content-encoding"),
            response.raw.stream(64 * 1024, decode_content=False),
            MAX_RESPONSE_BYTES,
        )
    except DecodingError as error:
        raise CheckFailure(
            f"the vulnerability service ({response.url}) answered a body that cannot be decoded ({error}); "
            "nothing was passed"
        ) from None
    finally:
        response.close()
    if over:
        raise CheckFailure(
            f"the vulnerability service ({response.url}) answered with more than {MAX_RESPONSE_BYTES} bytes; "
            "nothing was passed"
        )
    response._content = body
    return response


@dataclass
class PythonService:
    """A pip-audit service plus how to find the severity of what it reports."""

    service: Any
    name: str
    index: OsvIndex | None = None
    session: _Session | None = None

    def fixes(self, name: str, version: str, ids: Sequence[str]) -> tuple[str, ...] | None:
        """The advisory's own fixed-version text, where the offline index has it."""
        if self.index is None:
            return None
        for match in self.index.query(PYPI, name, version):
            if match.advisory.id in ids:
                return match.fixes
        return None

    def rating(self, ids: Sequence[str]) -> Rated | None:
        if self.index is not None:
            return _best_rating(self.index, ids)
        if self.session is not None:
            return _best_rating(self.session.index, ids)
        return None


def online_python_service(
    kind: str, *, osv_url: str, pypi_url: str | None, timeout: float, cache_dir: Path
) -> PythonService:
    from pip_audit._service import OsvService, PyPIService

    if kind == "pypi":
        pypi = PyPIService(cache_dir=cache_dir, timeout=timeout)
        session = _Session(pypi.session, pypi_url)
        pypi.session = session
        return PythonService(pypi, f"PyPI ({pypi_url or PYPI_JSON_BASE})", session=session)
    osv = OsvService(cache_dir=cache_dir, timeout=timeout, osv_url=osv_url)
    session = _Session(osv.session, None)
    osv.session = session
    return PythonService(osv, f"OSV ({osv_url})", session=session)


def audit_python(keys: Sequence[Key], service: PythonService) -> dict[Key, Answer]:
    """Every (name, version) through pip-audit's Auditor; service failures fail closed."""
    import requests
    from packaging.version import InvalidVersion, Version
    from pip_audit._audit import Auditor
    from pip_audit._dependency_source import DependencySource
    from pip_audit._service import ResolvedDependency, ServiceError, SkippedDependency

    specs: list[Any] = []
    for name, version in keys:
        try:
            specs.append(ResolvedDependency(name=name, version=Version(version)))
        except InvalidVersion:
            specs.append(SkippedDependency(name=name, skip_reason=f"version {version!r} is not a PEP 440 version"))

    class Pins(DependencySource):  # type: ignore[misc]
        def collect(self) -> Iterator[Any]:
            yield from specs

        def fix(self, fix_version: Any) -> None:
            raise NotImplementedError("the gate reports fixes; it never edits a project")

    answers: dict[Key, Answer] = {}
    try:
        for (name, version), spec, (dep, vulns) in zip(
            keys, specs, Auditor(service.service).audit(Pins()), strict=True
        ):
            key = (name, version)
            if dep.is_skipped():
                answers[key] = Answer(skipped=str(dep.skip_reason))
                continue
            hits = []
            for vuln in vulns:
                ids = [str(vuln.id), *sorted(str(a) for a in vuln.aliases)]
                fixes = service.fixes(name, version, ids)
                if fixes is None:
                    fixes = tuple(str(v) for v in sorted(vuln.fix_versions) if v > spec.version)
                hits.append(Hit(ids[0], tuple(ids[1:]), str(vuln.description), fixes, service.rating(ids)))
            answers[key] = Answer(hits=tuple(hits))
    except ServiceError as error:
        cause = error.__cause__ or error
        raise CheckFailure(f"the vulnerability service {service.name} failed: {cause}; nothing was passed") from None
    except requests.RequestException as error:
        raise CheckFailure(
            f"the vulnerability service {service.name} could not be reached: {type(error).__name__}: {error}"
        ) from None
    except (KeyError, TypeError, ValueError) as error:
        raise CheckFailure(
            f"the vulnerability service {service.name} answered in a shape pip-audit cannot read "
            f"({type(error).__name__}: {error})"
        ) from None
    return answers


def audit_offline(ecosystem: str, keys: Sequence[Key], index: OsvIndex) -> dict[Key, Answer]:
    answers: dict[Key, Answer] = {}
    for name, version in keys:
        hits = [
            Hit(m.advisory.id, m.advisory.aliases, m.advisory.summary, m.fixes, _best_rating(index, m.advisory.ids))
            for m in index.query(ecosystem, name, version)
        ]
        answers[(name, version)] = Answer(hits=tuple(hits))
    return answers


def _osv_query(client: Any, url: str, name: str, version: str) -> list[Any]:
    """POST /v1/query for one npm release, following next_page_token a bounded number of times."""
    import httpx

    records: list[Any] = []
    body: dict[str, Any] = {"package": {"name": name, "ecosystem": NPM}, "version": version}
    for _ in range(MAX_PAGES):
        try:
            with client.stream("POST", url, json=body) as response:
                raw, over = read_sync(response, MAX_RESPONSE_BYTES)
            if over:
                raise CheckFailure(f"OSV ({url}) answered {name}@{version} with more than {MAX_RESPONSE_BYTES} bytes")
        except DecodingError as error:
            raise CheckFailure(
                f"OSV ({url}) answered {name}@{version} with a body that cannot be decoded ({error})"
            ) from None
        except httpx.TimeoutException:
            raise CheckFailure(f"OSV ({url}) did not answer for {name}@{version} in time; nothing was passed") from None
        except httpx.HTTPError as error:
            raise CheckFailure(f"OSV ({url}) could not be reached: {type(error).__name__}: {error}") from None
        if response.status_code != 200:
            raise CheckFailure(
                f"OSV ({url}) answered HTTP {response.status_code} for {name}@{version}: "
                f"{raw[:200].decode(errors='replace')}"
            )
        try:
            page = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise CheckFailure(f"OSV ({url}) answered {name}@{version} with something that is not JSON") from None
        if not isinstance(page, dict) or not isinstance(page.get("vulns", []), list):
            raise CheckFailure(f"OSV ({url}) answered {name}@{version} in an unexpected shape")
        records.extend(page.get("vulns", []))
        token = page.get("next_page_token")
        if not token:
            return records
        body = {**body, "page_token": token}
    raise CheckFailure(f"OSV ({url}) kept paging past {MAX_PAGES} pages for {name}@{version}")


def audit_npm_online(keys: Sequence[Key], *, url: str, timeout: float) -> dict[Key, Answer]:
    """Each release through the OSV query API; the records it returns are matched as offline."""
    import httpx

    with httpx.Client(timeout=timeout, follow_redirects=False) as client, ThreadPoolExecutor(NPM_WORKERS) as pool:
        pages = list(pool.map(lambda key: _osv_query(client, url, *key), keys))
    answers: dict[Key, Answer] = {}
    for key, records in zip(keys, pages, strict=True):
        index = index_of_records(records, url)
        installed = VERSION_KEYS[NPM](key[1])
        hits = [
            Hit(
                entry.advisory.id,
                entry.advisory.aliases,
                entry.advisory.summary,
                tuple(raw for order, raw in entry.fixes() if installed is None or order > installed),
                _best_rating(index, entry.advisory.ids),
            )
            # OSV already matched the version; a record may also name other packages.
            for entry in index.by_package.get((NPM, key[0]), [])
        ]
        answers[key] = Answer(hits=tuple({hit.id: hit for hit in hits}.values()))
    return answers
