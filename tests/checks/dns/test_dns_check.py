"""The dns check against a real authoritative server (NSD) on loopback, serving planted zones."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.dns_zones import (
    EDGE_HOST,
    GOOD_POLICY,
    WEB_ADDRESS,
    Domain,
    PolicyHost,
    build,
    dkim_value,
    lines,
    mail_records,
    soa_ns,
    txt,
    web_records,
)
from tests.support.helpers import gate
from tests.support.nsd_server import Nsd, free_port

GOOD_CONFIG: dict[str, Any] = {
    "hosts": {"@": {"points_to": [WEB_ADDRESS]}, "www": {"points_to": [EDGE_HOST]}},
    "canonical": "www",
    "caa": {"issuers": ["letsencrypt.org"]},
    "email": {"dkim_selectors": ["s1"], "require_mta_sts": True},
    "dnssec": False,
}

# Each mail case: records that differ from a clean domain, gate.yml changes, the rules expected.
MAIL_CASES: dict[str, tuple[dict[str, str | None], dict[str, Any], set[str]]] = {
    "no-mx": ({"mx": None}, {}, {"dns.mx.missing"}),
    "no-spf": ({"spf": None}, {}, {"dns.spf.missing"}),
    "two-spf": (
        {"spf": '{d}. 300 IN TXT "v=spf1 -all"\n{d}. 300 IN TXT "v=spf1 include:_spf.mailer.test -all"'},
        {},
        {"dns.spf.multiple"},
    ),
    "bad-spf": ({"spf": '{d}. 300 IN TXT "v=spf1 ip4:192.0.2.300 -all"'}, {}, {"dns.spf.invalid"}),
    "include-without-spf": ({"spf": '{d}. 300 IN TXT "v=spf1 include:mailer.test -all"'}, {}, {"dns.spf.invalid"}),
    "plus-all": ({"spf": '{d}. 300 IN TXT "v=spf1 include:_spf.mailer.test +all"'}, {}, {"dns.spf.pass-all"}),
    "bare-all": ({"spf": '{d}. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 all"'}, {}, {"dns.spf.pass-all"}),
    "redirect-to-open": ({"spf": '{d}. 300 IN TXT "v=spf1 redirect=_open.mailer.test"'}, {}, {"dns.spf.pass-all"}),
    "neutral-all": ({"spf": '{d}. 300 IN TXT "v=spf1 include:_spf.mailer.test ?all"'}, {}, {"dns.spf.weak-all"}),
    "no-all": ({"spf": '{d}. 300 IN TXT "v=spf1 include:_spf.mailer.test"'}, {}, {"dns.spf.weak-all"}),
    "soft-all-where-fail-asked": (
        {"spf": '{d}. 300 IN TXT "v=spf1 include:_spf.mailer.test ~all"'},
        {"email": {"spf_all": "fail"}},
        {"dns.spf.softfail-all"},
    ),
    "soft-all-accepted": ({"spf": '{d}. 300 IN TXT "v=spf1 include:_spf.mailer.test ~all"'}, {}, set()),
    "redirect-to-strict": ({"spf": '{d}. 300 IN TXT "v=spf1 redirect=_spf.mailer.test"'}, {}, set()),
    "spf-include-loop": (
        {"spf": '{d}. 300 IN TXT "v=spf1 include:loop.{d} -all"\nloop.{d}. 300 IN TXT "v=spf1 include:{d} -all"'},
        {},
        {"dns.spf.loop"},
    ),
    "eleven-lookups": (
        {"spf": '{d}. 300 IN TXT "v=spf1 a mx a mx a mx a mx a mx a -all"'},
        {},
        {"dns.spf.too-many-lookups"},
    ),
    "ten-lookups": ({"spf": '{d}. 300 IN TXT "v=spf1 a mx a mx a mx a mx a mx -all"'}, {}, set()),
    "three-void-lookups": (
        {"spf": '{d}. 300 IN TXT "v=spf1 a:gone1.{d} a:gone2.{d} a:gone3.{d} -all"'},
        {},
        {"dns.spf.too-many-void-lookups"},
    ),
    "no-dkim": ({"dkim": None}, {}, {"dns.dkim.missing"}),
    "weak-dkim": ({"dkim": f"s1._domainkey.{{d}}. 300 IN TXT {txt(dkim_value(1024))}"}, {}, {"dns.dkim.weak-key"}),
    "revoked-dkim": ({"dkim": 's1._domainkey.{d}. 300 IN TXT "v=DKIM1; k=rsa; p="'}, {}, {"dns.dkim.invalid"}),
    "garbled-dkim": (
        {"dkim": 's1._domainkey.{d}. 300 IN TXT "v=DKIM1; k=rsa; p=not*base64"'},
        {},
        {"dns.dkim.invalid"},
    ),
    "no-dmarc": ({"dmarc": None}, {}, {"dns.dmarc.missing"}),
    "dmarc-none": (
        {"dmarc": '_dmarc.{d}. 300 IN TXT "v=DMARC1; p=none; rua=mailto:d@{d}"'},
        {},
        {"dns.dmarc.policy-weak"},
    ),
    "dmarc-quarantine-where-reject-asked": (
        {"dmarc": '_dmarc.{d}. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:d@{d}"'},
        {"email": {"dmarc_policy": "reject"}},
        {"dns.dmarc.policy-weak"},
    ),
    "dmarc-subdomains-none": (
        {"dmarc": '_dmarc.{d}. 300 IN TXT "v=DMARC1; p=reject; sp=none; rua=mailto:d@{d}"'},
        {},
        {"dns.dmarc.policy-weak"},
    ),
    "dmarc-without-rua": ({"dmarc": '_dmarc.{d}. 300 IN TXT "v=DMARC1; p=reject"'}, {}, {"dns.dmarc.no-rua"}),
    "two-dmarc": (
        {
            "dmarc": '_dmarc.{d}. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:d@{d}"\n'
            '_dmarc.{d}. 300 IN TXT "v=DMARC1; p=none"'
        },
        {},
        {"dns.dmarc.multiple"},
    ),
    "bad-dmarc": ({"dmarc": '_dmarc.{d}. 300 IN TXT "v=DMARC1; p=bogus; rua=mailto:d@{d}"'}, {}, {"dns.dmarc.invalid"}),
    "no-mta-sts": ({"mta-sts": None, "tlsrpt": None}, {}, {"dns.mta-sts.missing", "dns.tlsrpt.missing"}),
    "no-mta-sts-not-asked": ({"mta-sts": None, "tlsrpt": None}, {"email": {"require_mta_sts": False}}, set()),
    "bad-mta-sts": ({"mta-sts": '_mta-sts.{d}. 300 IN TXT "v=STSv1; id=not valid!"'}, {}, {"dns.mta-sts.invalid"}),
    "sends-no-mail": ({"dkim": None}, {"email": {"sends": False}}, set()),
    "receives-no-mail": ({"mx": None}, {"email": {"receives": False}}, set()),
    "no-mx-but-sends": ({"mx": None}, {"email": {"sends": True}}, {"dns.mx.missing"}),
    "mta-sts-host-missing": ({"mta-sts-host": None}, {}, {"dns.mta-sts.policy-unreachable"}),
    "mta-sts-bad-policy": ({}, {}, {"dns.mta-sts.policy-invalid"}),
    "mta-sts-html-policy": ({}, {}, {"dns.mta-sts.policy-invalid"}),
    "mta-sts-policy-404": ({}, {}, {"dns.mta-sts.policy-unreachable"}),
    "mta-sts-wrong-certificate": ({}, {}, {"dns.mta-sts.policy-unreachable"}),
    "mta-sts-mx-uncovered": ({}, {}, {"dns.mta-sts.mx-not-covered"}),
    "mta-sts-testing-mx-uncovered": ({}, {}, {"dns.mta-sts.mx-not-covered"}),
    "mta-sts-wildcard-covers": ({"mx": "{d}. 300 IN MX 10 in1.backup.test."}, {}, set()),
}
# What the policy host of some mail cases serves instead of the good policy: status, type, body.
POLICIES: dict[str, tuple[int, str, str]] = {
    "mta-sts-bad-policy": (
        200,
        "text/plain",
        "version: STSv1\nmode: strict\nmx: mx.mailer.test\nmax_age: 99999999999\n",
    ),
    "mta-sts-html-policy": (200, "text/html", GOOD_POLICY),
    "mta-sts-policy-404": (404, "text/plain", "not here"),
    "mta-sts-mx-uncovered": (
        200,
        "text/plain",
        "version: STSv1\nmode: enforce\nmx: *.mailer.test.other\nmax_age: 86400\n",
    ),
    "mta-sts-testing-mx-uncovered": (
        200,
        "text/plain",
        "version: STSv1\nmode: testing\nmx: mail.other.test\nmax_age: 86400\n",
    ),
}
CERTIFICATE_LEFT_OUT = "mail-mta-sts-wrong-certificate.test"


def _mail_domain(case: str) -> Domain:
    name = f"mail-{case}.test"
    overrides = {key: None if value is None else value.format(d=name) for key, value in MAIL_CASES[case][0].items()}
    return Domain(name, lines(web_records(name), mail_records(name, **overrides)))


HOSTS_DOMAIN = "hosts.test"
HOST_MAP: dict[str, Any] = {
    "@": {"points_to": [WEB_ADDRESS]},
    "api": {"points_to": ["10.0.0.0/8"]},
    "app": {"points_to": ["other.hostco.test"]},
    "admin": None,
    "staging": {"exists": False},
    "old": {"points_to": ["*.azurewebsites.net"]},
    "shop": None,
    "loop": None,
    "long": None,
    "internal": {"environment": "staging"},
    "docs": {"points_to": ["*.hostco.test"]},
}


def _hosts_domain() -> Domain:
    d = HOSTS_DOMAIN
    chain = [f"long.{d}. 300 IN CNAME l1.{d}."] + [f"l{i}.{d}. 300 IN CNAME l{i + 1}.{d}." for i in range(1, 10)]
    return Domain(
        d,
        lines(
            [
                f"{d}. 300 IN A {WEB_ADDRESS}",
                f'{d}. 300 IN CAA 0 issue "digicert.com"',
                f"api.{d}. 300 IN A 10.0.0.5",
                f"app.{d}. 300 IN CNAME edge.hostco.test.",
                f"staging.{d}. 300 IN A 192.0.2.50",
                f"old.{d}. 300 IN CNAME gone-app.azurewebsites.net.",
                f"shop.{d}. 300 IN CNAME missing.hostco.test.",
                f"loop.{d}. 300 IN CNAME loop2.{d}.",
                f"loop2.{d}. 300 IN CNAME loop.{d}.",
                f"internal.{d}. 300 IN A 10.1.2.3",
                f"docs.{d}. 300 IN CNAME edge.hostco.test.",
                *chain,
                f"l10.{d}. 300 IN A 192.0.2.60",
            ],
            mail_records(d),
        ),
    )


QUICK_DOMAIN = "quick.test"  # clean, signed, no MTA-STS: quick mode without gate.yml fetches nothing


def _domains() -> list[Domain]:
    domains = [_mail_domain(case) for case in MAIL_CASES]
    quick_mail = mail_records(QUICK_DOMAIN, mta_sts=None, mta_sts_host=None, tlsrpt=None)
    domains.append(Domain(QUICK_DOMAIN, lines(web_records(QUICK_DOMAIN), quick_mail), signing="good"))
    domains.append(_hosts_domain())
    for name, signing in (
        ("clean.test", "good"),
        ("dnssec-sha1-ds.test", "good-sha1-ds"),
        ("dnssec-gost-ds.test", "gost-ds"),
        ("dnssec-expired.test", "expired"),
        ("dnssec-wrong-ds.test", "wrong-ds"),
        ("dnssec-edited.test", "edited-after-signing"),
        ("dnssec-ds-only.test", "ds-only"),
    ):
        domains.append(Domain(name, lines(web_records(name), mail_records(name)), signing=signing))
    no_caa = [line for line in web_records("no-caa.test") if " CAA " not in line]
    domains.append(Domain("no-caa.test", lines(no_caa, mail_records("no-caa.test"))))
    for name, target in (("takeover-http.test", "acme.github.io"), ("takeover-dead.test", "down.github.io")):
        takeover = [f"blog.{name}. 300 IN CNAME {target}.", f"docs.{name}. 300 IN CNAME claimed.github.io."]
        domains.append(Domain(name, lines(web_records(name), mail_records(name), takeover)))
    domains.append(
        Domain(
            "spf-down.test",
            lines(
                web_records("spf-down.test"),
                mail_records("spf-down.test", spf='spf-down.test. 300 IN TXT "v=spf1 include:_spf.down.test -all"'),
            ),
        )
    )
    return domains


@pytest.fixture(scope="module")
def policy_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PolicyHost]:
    names = [d.name for d in _domains() if d.name != CERTIFICATE_LEFT_OUT]
    policies = {f"mta-sts.mail-{case}.test": served for case, served in POLICIES.items()}
    with PolicyHost(tmp_path_factory.mktemp("mta-sts"), names, policies) as host:
        yield host


@pytest.fixture(scope="module")
def nsd(tmp_path_factory: pytest.TempPathFactory, policy_host: PolicyHost) -> Iterator[Nsd]:
    zones = build(_domains(), unloaded=("down.test",))
    mailer = zones["mailer.test"]
    assert mailer is not None
    zones["mailer.test"] = mailer + '_open.mailer.test. 300 IN TXT "v=spf1 +all"\n'
    pages = [f"{host}.github.io. 300 IN A {PAGES_ADDRESS}" for host in ("acme", "claimed")]
    zones["github.io"] = soa_ns("github.io") + "\n".join([*pages, f"down.github.io. 300 IN A {DEAD_ADDRESS}"]) + "\n"
    with Nsd(tmp_path_factory.mktemp("nsd"), zones) as server:
        server.gate_settings = policy_settings(policy_host)
        yield server


PAGES_ADDRESS = "127.0.0.2"  # a GitHub Pages stand-in listens here on port 80, as the real one does
DEAD_ADDRESS = "127.0.0.3"  # nothing listens here
UNCLAIMED = b"<html><body><h1>404</h1><p>There isn't a GitHub Pages site here.</p></body></html>"


@pytest.fixture(scope="module")
def pages() -> Iterator[None]:
    """Port 80 on a loopback address of its own, so it cannot clash with other servers on 127.0.0.1."""

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            claimed = self.headers.get("Host", "").startswith("docs.")
            body = b"<html><body>Our docs</body></html>" if claimed else UNCLAIMED
            self.send_response(200 if claimed else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    try:
        server = ThreadingHTTPServer((PAGES_ADDRESS, 80), Pages)
    except OSError as error:
        pytest.skip(f"cannot listen on {PAGES_ADDRESS}:80 here ({error}); the takeover probe always uses port 80")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield
    server.shutdown()
    server.server_close()


def policy_settings(host: PolicyHost) -> dict[str, Any]:
    """What points a run's MTA-STS fetches at the test policy host: its port and its CA."""
    return {"ca_bundle": str(host.ca_pem), "email": {"mta_sts_port": host.port}}


def run_dns(
    tmp_path: Path, server: Nsd | str, domain: str, section: Mapping[str, Any] | None = None, preset: str = "launch"
) -> tuple[int, dict[str, Any], str]:
    base = {
        "enabled": True,
        "query_timeout": "1s",
        "retries": 1,
        **({} if isinstance(server, str) else server.gate_settings),
    }
    dns_section = merged(
        base, {"domain": domain, "resolver": server if isinstance(server, str) else server.address, **(section or {})}
    )
    dns_section = {key: value for key, value in dns_section.items() if value is not None}  # None: leave the key out
    config = tmp_path / "gate.yml"
    config.write_text(yaml.safe_dump({"version": 1, "preset": preset, "checks": {"dns": dns_section}}))
    outcome = gate("check", "dns", "--config", str(config), "--format", "json")
    report = json.loads(outcome.stdout) if outcome.stdout.strip() else {}
    if dns_section.get("dnssec") is False and report.get("verdict") not in (None, "error"):
        # Turning DNSSEC off is said in the report once; the tests then judge what remains.
        notes = [f for f in report["findings"] if f["rule_id"] == "dns.not-checked" and "DNSSEC" in f["message"]]
        assert len(notes) == 1 and notes[0]["severity"] == "info", report["findings"]
        report["findings"].remove(notes[0])
    return outcome.exit_code, report, outcome.stderr


def merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = {**out[key], **value} if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def rule_ids(report: Mapping[str, Any]) -> set[str]:
    return {f["rule_id"] for f in report["findings"]}


def test_clean_signed_domain_yields_zero_findings_and_passes_launch(nsd: Nsd, tmp_path: Path) -> None:
    code, report, _ = run_dns(tmp_path, nsd, "clean.test", merged(GOOD_CONFIG, {"dnssec": True}))
    assert report["findings"] == []
    assert code == 0 and report["verdict"] == "pass"
    assert [b["id"] for b in report["budgets"]] == ["dns.spf.lookups"]
    assert report["budgets"][0]["measured"] == 1 and report["budgets"][0]["status"] == "pass"


def test_sha1_ds_at_the_registrar_still_validates(nsd: Nsd, tmp_path: Path) -> None:
    code, report, _ = run_dns(tmp_path, nsd, "dnssec-sha1-ds.test", merged(GOOD_CONFIG, {"dnssec": True}))
    assert report["findings"] == [] and code == 0


def test_ds_with_a_digest_validators_dropped_makes_the_zone_unsigned_not_broken(nsd: Nsd, tmp_path: Path) -> None:
    code, report, _ = run_dns(tmp_path, nsd, "dnssec-gost-ds.test", merged(GOOD_CONFIG, {"dnssec": True}))
    (finding,) = report["findings"]
    assert finding["rule_id"] == "dns.dnssec.unsigned" and "no longer accept" in finding["message"]
    assert code == 0


def test_quick_mode_checks_a_domain_without_gate_yml(nsd: Nsd, tmp_path: Path) -> None:
    outcome = gate(
        "check", "dns", "--domain", QUICK_DOMAIN, "--resolver", nsd.address, "--format", "json", cwd=tmp_path
    )
    report = json.loads(outcome.stdout)
    assert report["findings"] == [] and outcome.exit_code == 0, outcome.stderr


def test_quick_mode_notes_when_no_common_dkim_selector_has_a_key(nsd: Nsd, tmp_path: Path) -> None:
    """--domain overrides the domain gate.yml names; the rest of gate.yml (the policy host's port) applies."""
    config = {"version": 1, "checks": {"dns": {"domain": "clean.test", **nsd.gate_settings}}}
    (tmp_path / "gate.yml").write_text(yaml.safe_dump(config))
    outcome = gate(
        "check", "dns", "--domain", "mail-no-dkim.test", "--resolver", nsd.address, "--format", "json", cwd=tmp_path
    )
    report = json.loads(outcome.stdout)
    found = {f["rule_id"]: f for f in report["findings"]}
    assert set(found) == {"dns.dkim.none-found", "dns.dnssec.unsigned"}
    assert found["dns.dkim.none-found"]["severity"] == "low" and found["dns.dnssec.unsigned"]["severity"] == "info"
    assert outcome.exit_code == 0


@pytest.mark.parametrize("case", list(MAIL_CASES))
def test_mail_record_problem_is_found(nsd: Nsd, tmp_path: Path, case: str) -> None:
    _, config_changes, expected = MAIL_CASES[case]
    code, report, stderr = run_dns(tmp_path, nsd, f"mail-{case}.test", merged(GOOD_CONFIG, config_changes))
    assert rule_ids(report) == expected, (report.get("findings"), stderr)
    for finding in report["findings"]:
        assert finding["location"]["name"].endswith(f"mail-{case}.test")
        assert "Publish: " in finding["fix"] or "action" in finding["details"], finding
    blocking = any(f["severity"] in ("critical", "high", "medium") for f in report["findings"])
    assert code == (1 if blocking else 0)


def test_dmarc_none_only_warns_in_the_demo_preset(nsd: Nsd, tmp_path: Path) -> None:
    code, report, _ = run_dns(tmp_path, nsd, "mail-dmarc-none.test", GOOD_CONFIG, preset="demo")
    assert [(f["rule_id"], f["severity"]) for f in report["findings"]] == [("dns.dmarc.monitoring-only", "low")]
    stronger = '_dmarc.mail-dmarc-none.test. TXT "v=DMARC1; p=quarantine; rua=mailto:d@mail-dmarc-none.test"'
    assert f"Publish: {stronger}" in report["findings"][0]["fix"]
    assert code == 0


def test_weak_subdomain_policy_fix_drops_sp_and_keeps_the_rest(nsd: Nsd, tmp_path: Path) -> None:
    domain = "mail-dmarc-subdomains-none.test"
    _, report, _ = run_dns(tmp_path, nsd, domain, GOOD_CONFIG)
    (finding,) = report["findings"]
    assert "sp=none for subdomains" in finding["message"]
    assert f'Publish: _dmarc.{domain}. TXT "v=DMARC1; p=reject; rua=mailto:d@{domain}"' in finding["fix"]


def test_spf_plus_all_is_critical_and_says_what_to_publish(nsd: Nsd, tmp_path: Path) -> None:
    code, report, _ = run_dns(tmp_path, nsd, "mail-plus-all.test", GOOD_CONFIG, preset="prototype")
    (finding,) = report["findings"]
    assert finding["severity"] == "critical" and code == 1
    assert finding["location"]["name"] == "mail-plus-all.test"
    # The same senders, with the `all` the preset accepts instead of +all.
    assert 'Publish: mail-plus-all.test. TXT "v=spf1 include:_spf.mailer.test ~all"' in finding["fix"]


@pytest.mark.parametrize(("preset", "severity", "exit_code"), [("prototype", "low", 0), ("launch", "medium", 1)])
def test_missing_caa_warns_early_and_blocks_at_launch(
    nsd: Nsd, tmp_path: Path, preset: str, severity: str, exit_code: int
) -> None:
    code, report, _ = run_dns(tmp_path, nsd, "no-caa.test", GOOD_CONFIG, preset=preset)
    assert [(f["rule_id"], f["severity"]) for f in report["findings"]] == [("dns.caa.missing", severity)]
    assert 'no-caa.test. CAA 0 issue "letsencrypt.org"' in report["findings"][0]["fix"]
    assert code == exit_code


def test_weak_dkim_key_warns_at_1024_bits(nsd: Nsd, tmp_path: Path) -> None:
    _, report, _ = run_dns(tmp_path, nsd, "mail-weak-dkim.test", GOOD_CONFIG)
    (finding,) = report["findings"]
    assert finding["severity"] == "low" and "RSA 1024 bits" in finding["message"]


def test_host_map_problems_are_each_reported_once(nsd: Nsd, tmp_path: Path) -> None:
    section = {
        "hosts": HOST_MAP,
        "canonical": "@",
        "caa": {"issuers": ["letsencrypt.org"]},
        "email": {"dkim_selectors": ["s1"]},
        "dnssec": True,
    }
    code, report, stderr = run_dns(tmp_path, nsd, HOSTS_DOMAIN, section)
    by_name = {(f["rule_id"], f["location"]["name"]) for f in report["findings"]}
    d = HOSTS_DOMAIN
    assert by_name == {
        ("dns.host.private-address", f"api.{d}"),
        ("dns.host.unexpected-target", f"app.{d}"),
        ("dns.host.unresolvable", f"admin.{d}"),
        ("dns.host.should-not-exist", f"staging.{d}"),
        ("dns.takeover.dangling", f"old.{d}"),
        ("dns.host.dangling-cname", f"shop.{d}"),
        ("dns.host.cname-loop", f"loop.{d}"),
        ("dns.host.cname-chain-too-long", f"long.{d}"),
        ("dns.host.canonical-alias-missing", f"www.{d}"),
        ("dns.caa.ca-not-allowed", d),
        ("dns.dnssec.unsigned", d),
    }, stderr
    takeover = next(f for f in report["findings"] if f["rule_id"] == "dns.takeover.dangling")
    assert takeover["severity"] == "critical" and "gone-app.azurewebsites.net" in takeover["message"]
    assert code == 1


TAKEOVER_HOSTS = {"blog": {"environment": "staging"}, "docs": {"environment": "staging"}}


def test_cname_to_an_unclaimed_github_pages_site_is_a_takeover(nsd: Nsd, pages: None, tmp_path: Path) -> None:
    config = merged(GOOD_CONFIG, {"hosts": TAKEOVER_HOSTS})
    code, report, stderr = run_dns(tmp_path, nsd, "takeover-http.test", config)
    (finding,) = report["findings"]
    assert finding["rule_id"] == "dns.takeover.dangling" and finding["location"]["name"] == "blog.takeover-http.test"
    assert "GitHub Pages" in finding["message"] and "acme.github.io" in finding["message"]
    assert code == 1, stderr


def test_takeover_probe_that_gets_no_answer_fails_closed(nsd: Nsd, pages: None, tmp_path: Path) -> None:
    code, report, _ = run_dns(tmp_path, nsd, "takeover-dead.test", merged(GOOD_CONFIG, {"hosts": TAKEOVER_HOSTS}))
    assert code == 3 and "http://blog.takeover-dead.test/ did not answer" in report["checks"][0]["error"]


def test_cname_into_a_zone_the_server_does_not_serve_is_chased_by_the_gate(tmp_path: Path) -> None:
    """The first server answers with the CNAME alone; the gate asks for the target, which the
    first server refuses and the second one serves."""
    from gate.checks.dns.resolver import GateResolver

    site = {"site.test": soa_ns("site.test") + "www.site.test. 300 IN CNAME edge.cdn.test.\n"}
    cdn = {"cdn.test": soa_ns("cdn.test") + "edge.cdn.test. 300 IN A 192.0.2.99\n"}
    with Nsd(tmp_path / "site", site) as first, Nsd(tmp_path / "cdn", cdn) as second:
        resolver = GateResolver([first.address, second.address], timeout=1, retries=0)
        result = resolver.chase("www.site.test", "A")
        assert result.chain == ("edge.cdn.test",) and result.values == ["192.0.2.99"]
        assert resolver.queries == 3  # www at the first; edge refused by the first, answered by the second
        gone = resolver.chase("www.site.test", "AAAA")
        assert gone.chain == ("edge.cdn.test",) and gone.rrset is None and not gone.nxdomain


@pytest.mark.parametrize(
    ("domain", "problem"),
    [
        ("dnssec-expired.test", "expired on"),
        ("dnssec-wrong-ds.test", "matches the DS its parent publishes"),
        ("dnssec-edited.test", "The MX record set of dnssec-edited.test has no signature that verifies"),
        ("dnssec-ds-only.test", "publishes a DS but the zone serves no DNSKEY"),
    ],
)
def test_broken_dnssec_chain_is_critical(nsd: Nsd, tmp_path: Path, domain: str, problem: str) -> None:
    code, report, _ = run_dns(tmp_path, nsd, domain, merged(GOOD_CONFIG, {"dnssec": True}), preset="prototype")
    (finding,) = report["findings"]
    assert finding["rule_id"] == "dns.dnssec.broken" and finding["severity"] == "critical"
    assert problem in finding["message"] and code == 1


def test_servfail_fails_closed_with_exit_3(nsd: Nsd, tmp_path: Path) -> None:
    code, report, _ = run_dns(tmp_path, nsd, "down.test", GOOD_CONFIG)
    assert code == 3 and report["verdict"] == "error"
    (check,) = report["checks"]
    assert "SERVFAIL" in check["error"] and "down.test" in check["error"]


def test_dns_failure_inside_checkdmarc_still_fails_closed(nsd: Nsd, tmp_path: Path) -> None:
    """checkdmarc reports an include it could not fetch as "not found"; the gate does not believe it."""
    code, report, _ = run_dns(tmp_path, nsd, "spf-down.test", GOOD_CONFIG)
    assert code == 3
    assert "_spf.down.test" in report["checks"][0]["error"] and "SERVFAIL" in report["checks"][0]["error"]


def test_resolver_that_never_answers_fails_closed_after_retries(tmp_path: Path) -> None:
    silent = f"127.0.0.1:{free_port()}"
    code, report, _ = run_dns(tmp_path, silent, "clean.test", {"query_timeout": "200ms", "retries": 1})
    assert code == 3
    assert "clean.test" in report["checks"][0]["error"] and "2 attempts" in report["checks"][0]["error"]


def test_name_outside_the_servers_zones_is_refused_and_fails_closed(nsd: Nsd, tmp_path: Path) -> None:
    outcome = gate("check", "dns", "--domain", "example.invalid", "--resolver", nsd.address, cwd=tmp_path)
    assert outcome.exit_code == 3 and "REFUSED" in outcome.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--domain", "clean.test", "--resolver", "not-an-address"), "not an address"),
        (("--domain", "not a domain", "--resolver", "127.0.0.1:53"), "domain"),
        ((), "needs a domain"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    outcome = gate("check", "dns", *args, cwd=tmp_path)
    assert outcome.exit_code == 2 and says in outcome.output


def test_a_domain_that_does_not_exist_is_one_root_cause_finding(nsd: Nsd, tmp_path: Path) -> None:
    code, report, _ = run_dns(tmp_path, nsd, "never-registered.test", {"dnssec": True})
    (finding,) = report["findings"]
    assert finding["rule_id"] == "dns.domain.not-found" and finding["severity"] == "critical"
    assert "nothing else about it was checked" in finding["message"] and code == 1


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("api.hosts.test", "is a name inside the zone hosts.test"),  # an A record in the zone
        ("www.clean.test", "is a CNAME to edge.hostco.test"),
        ("l1.hosts.test", "is a CNAME to l2.hosts.test"),
    ],
)
def test_a_name_inside_a_zone_is_not_taken_for_a_domain(nsd: Nsd, tmp_path: Path, name: str, says: str) -> None:
    code, report, _ = run_dns(tmp_path, nsd, name, {"dnssec": True})
    (finding,) = report["findings"]
    assert finding["rule_id"] == "dns.domain.not-apex" and says in finding["message"], finding
    assert code == 1
    if name == "api.hosts.test":
        assert "Set checks.dns.domain: hosts.test and list api under hosts" in finding["fix"]


SEVERAL = {
    "domains": [
        {"domain": "clean.test", **GOOD_CONFIG},
        {"domain": "mail-no-dkim.test", "email": {"dkim_selectors": ["s1"]}, "dnssec": False},
        {"domain": "no-caa.test", "caa": {"required": False}},
    ],
    "email": {"require_mta_sts": True},
    "caa": {"issuers": ["letsencrypt.org"]},
}


def test_several_domains_are_checked_in_one_run_each_with_its_own_settings(nsd: Nsd, tmp_path: Path) -> None:
    section = {**SEVERAL, "domain": None}
    code, report, stderr = run_dns(tmp_path, nsd, "(from domains)", section)
    found = {(f["rule_id"], f["location"]["name"]) for f in report["findings"]}
    assert found == {
        ("dns.not-checked", "clean.test"),  # GOOD_CONFIG turns DNSSEC off for clean.test
        ("dns.dkim.missing", "s1._domainkey.mail-no-dkim.test"),
        ("dns.not-checked", "mail-no-dkim.test"),
        ("dns.caa.missing", "no-caa.test"),  # low: this entry does not require CAA
        ("dns.dnssec.unsigned", "no-caa.test"),
    }, stderr
    assert {b["subject"] for b in report["budgets"]} >= {"clean.test", "mail-no-dkim.test", "no-caa.test"}
    assert code == 1  # the missing DKIM key is high


def test_domain_option_picks_one_of_several_and_says_which_were_left_out(nsd: Nsd, tmp_path: Path) -> None:
    config = {"version": 1, "checks": {"dns": merged(nsd.gate_settings, SEVERAL)}}
    (tmp_path / "gate.yml").write_text(yaml.safe_dump(config))
    outcome = gate(
        "check", "dns", "--domain", "mail-no-dkim.test", "--resolver", nsd.address, "--format", "json", cwd=tmp_path
    )
    report = json.loads(outcome.stdout)
    found = {(f["rule_id"], f["location"]["name"]) for f in report["findings"]}
    # The entry's own selector applies: its key is missing (quick mode would only have noted it).
    assert ("dns.dkim.missing", "s1._domainkey.mail-no-dkim.test") in found
    left_out = sorted(name for rule, name in found if rule == "dns.not-checked" and name != "mail-no-dkim.test")
    assert left_out == ["clean.test", "no-caa.test"]
    assert outcome.exit_code == 1


def test_domain_help_says_it_overrides_gate_yml() -> None:
    outcome = gate("check", "dns", "--help")
    assert "--domain" in outcome.stdout and "overrides" in outcome.stdout and "checks.dns.domains" in outcome.stdout


def test_takeover_kept_to_dns_makes_no_http_request_and_says_what_it_did_not_confirm(nsd: Nsd, tmp_path: Path) -> None:
    """Nothing listens at the address blog.takeover-dead.test resolves to; with the probe on this is exit 3."""
    config = merged(GOOD_CONFIG, {"hosts": TAKEOVER_HOSTS, "takeover_http": False})
    code, report, stderr = run_dns(tmp_path, nsd, "takeover-dead.test", config)
    found = [(f["rule_id"], f["location"]["name"]) for f in report["findings"]]
    assert found == [("dns.not-checked", "blog.takeover-dead.test"), ("dns.not-checked", "docs.takeover-dead.test")]
    assert "takeover_http is false" in report["findings"][0]["message"] and code == 0, stderr


def test_policy_host_with_a_certificate_for_another_name_is_unreachable(nsd: Nsd, tmp_path: Path) -> None:
    _, report, _ = run_dns(tmp_path, nsd, "mail-mta-sts-wrong-certificate.test", GOOD_CONFIG)
    (finding,) = report["findings"]
    assert (
        "certificate not valid" in finding["message"]
        and "mta-sts.mail-mta-sts-wrong-certificate.test" in (finding["message"])
    )


def test_policy_that_misses_an_mx_names_it_and_blocks_only_in_enforce_mode(nsd: Nsd, tmp_path: Path) -> None:
    code, report, _ = run_dns(tmp_path, nsd, "mail-mta-sts-mx-uncovered.test", GOOD_CONFIG, preset="demo")
    (finding,) = report["findings"]
    assert finding["severity"] == "high" and "mx.mailer.test" in finding["message"] and code == 1
    assert "Add `mx: mx.mailer.test`" in finding["fix"]
    code, report, _ = run_dns(tmp_path, nsd, "mail-mta-sts-testing-mx-uncovered.test", GOOD_CONFIG, preset="demo")
    (finding,) = report["findings"]
    assert finding["severity"] == "medium" and "testing mode" in finding["message"] and code == 0


def test_bad_policy_names_every_problem(nsd: Nsd, tmp_path: Path) -> None:
    _, report, _ = run_dns(tmp_path, nsd, "mail-mta-sts-bad-policy.test", GOOD_CONFIG)
    (finding,) = report["findings"]
    assert "mode 'strict'" in finding["message"] and "max_age '99999999999'" in finding["message"]


def test_a_zone_whose_only_note_is_info_ends_go_without_a_warning(nsd: Nsd, tmp_path: Path) -> None:
    config = tmp_path / "gate.yml"
    section = merged(nsd.gate_settings, {"enabled": True, "domain": "no-caa.test", "resolver": nsd.address})
    section = merged(section, {"caa": {"issuers": ["letsencrypt.org"]}, "email": {"dkim_selectors": ["s1"]}})
    config.write_text(yaml.safe_dump({"version": 1, "preset": "prototype", "checks": {"dns": section}}))
    outcome = gate("check", "dns", "--config", str(config), "--no-color")
    assert outcome.exit_code == 0, outcome.output
    go_line = next(line for line in outcome.stdout.splitlines() if line.startswith("GO"))
    # no-caa.test: the CAA note is low (a warning) in prototype; DNSSEC unsigned is info (a note).
    assert "1 warning(s) and 1 note(s)" in go_line
    # Only a note (the zone is unsigned): GO, and neither the line nor the verdict speaks of a warning.
    outcome = gate("check", "dns", "--config", str(config), "--no-color", "--domain", "mail-no-mta-sts-not-asked.test")
    go_line = next(line for line in outcome.stdout.splitlines() if line.startswith("GO"))
    assert go_line.endswith("holds with 1 note(s).") and "warning" not in go_line, outcome.stdout
    outcome = gate(
        "check", "dns", "--config", str(config), "--format", "json", "--domain", "mail-no-mta-sts-not-asked.test"
    )
    report = json.loads(outcome.stdout)
    assert [f["rule_id"] for f in report["findings"]] == ["dns.dnssec.unsigned"] and report["verdict"] == "pass"


def test_ipv6_resolvers_are_written_in_brackets() -> None:
    from gate.checks.dns.resolver import GateResolver

    assert GateResolver(["[::1]:15353", "127.0.0.1:53"]).describe() == "[::1]:15353, 127.0.0.1:53"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: STSv1\nmode: enforce\nmax_age: 86400\n", "no `mx:` line"),
        ("mode: enforce\nmx: a.test\nmax_age: 86400\n", "no `version: STSv1`"),
        ("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n", "max_age '-1'"),
        ("version: STSv1\nmode: enforce\nmx: a.test\n", "no `max_age:`"),
        ("version: STSv1\nmode: enforce\nmx: bad pattern!\nmax_age: 1\n", "not host names"),
        ("version: STSv1\njust words\n", "line 2 is not `key: value`"),
    ],
)
def test_policy_parser_rejects_what_senders_reject(text: str, problem: str) -> None:
    from gate.checks.dns.mta_sts import parse_policy

    policy, problems = parse_policy(text)
    assert policy is None and any(problem in p for p in problems), problems


def test_policy_parser_accepts_crlf_unknown_fields_and_first_of_repeated_ones() -> None:
    from gate.checks.dns.mta_sts import Policy, mx_matches, parse_policy

    text = "version: STSv1\r\nmode: none\r\nmode: enforce\r\nextension: x\r\nmax_age: 31557600\r\n"
    assert parse_policy(text) == (Policy(mode="none", max_age=31557600, mx=()), [])
    assert mx_matches("*.example.com", "mx1.example.com") and not mx_matches("*.example.com", "a.b.example.com")
    assert not mx_matches("*.example.com", "example.com") and mx_matches("MX.example.com.", "mx.example.com")


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"hosts": {"api": None}}, "checks.dns.hosts is set next to checks.dns.domains"),
        ({"domains": [{"domain": "a.test"}, {"domain": "A.test."}]}, "lists a.test more than once"),
    ],
)
def test_several_domains_refuse_what_would_be_ignored(tmp_path: Path, extra: dict[str, Any], says: str) -> None:
    section = {"enabled": True, "resolver": "127.0.0.1:53", "domains": [{"domain": "a.test"}], **extra}
    (tmp_path / "gate.yml").write_text(yaml.safe_dump({"version": 1, "checks": {"dns": section}}))
    outcome = gate("check", "dns", cwd=tmp_path)
    assert outcome.exit_code == 2 and says in outcome.output, outcome.output


def test_a_resolver_silent_for_every_attempt_of_two_queries_is_not_asked_again(tmp_path: Path) -> None:
    import socket

    from gate.checks.dns.resolver import GateResolver, ResolutionFailed

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dead:
        dead.bind(("127.0.0.1", 0))
        resolver = GateResolver([f"127.0.0.1:{dead.getsockname()[1]}"], timeout=0.2, retries=1)
        for name in ("a.test", "b.test"):  # one ignored query could be about an odd type; two are not
            with pytest.raises(ResolutionFailed, match="2 attempts"):
                resolver.chase(name, "A")
        with pytest.raises(ResolutionFailed, match="every resolver stopped answering earlier in this run"):
            resolver.chase("c.test", "A")
        assert resolver.queries == 4


def test_unreadable_ca_bundle_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not a certificate")
    section = {"enabled": True, "domain": "a.test", "resolver": "127.0.0.1:53", "ca_bundle": "ca.pem"}
    (tmp_path / "gate.yml").write_text(yaml.safe_dump({"version": 1, "checks": {"dns": section}}))
    outcome = gate("check", "dns", cwd=tmp_path)
    assert outcome.exit_code == 2 and "checks.dns.ca_bundle 'ca.pem' is not a readable PEM bundle" in outcome.output


@pytest.mark.parametrize(
    ("status", "headers", "body", "says"),
    [
        (200, {"content-type": "text/plain"}, b"\xff\xfe", "is not UTF-8 text"),
        (200, {}, b"version: STSv1", "served as (no Content-Type)"),
        (302, {}, b"", "redirects (302 to (no Location))"),
    ],
)
def test_policy_responses_senders_would_not_use(status: int, headers: dict[str, str], body: bytes, says: str) -> None:
    import asyncio

    import httpx

    from gate.checks.dns.mta_sts import _read

    fetched = asyncio.run(_read("mta-sts.a.test", httpx.Response(status, headers=headers, content=body)))
    assert says in (fetched.invalid or fetched.unreachable or ""), fetched
