"""Each detector on realistic true positives and on the look-alikes that tempt scanners."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from gate.checks.secrets.detectors import load_detectors
from gate.checks.secrets.rules import RULES
from gate.checks.secrets.scanner import Engine, scan_text, shared_engine
from gate.errors import InputError
from tests.support import secrets_samples as s

TRUE_POSITIVES = [
    ("secrets.aws-access-key", "config.py", f'AWS_ACCESS_KEY_ID = "{s.AWS_KEY}"'),
    ("secrets.openai-api-key", "src/ai.ts", f'const openai = new OpenAI({{ apiKey: "{s.OPENAI}" }});'),
    ("secrets.anthropic-api-key", "app/llm.py", f'client = Anthropic(api_key="{s.ANTHROPIC}")'),
    ("secrets.github-fine-grained-token", "scripts/release.sh", f"export GH_TOKEN={s.GITHUB_FINE}"),
    ("secrets.github-token", "ci.yml", f"      token: {s.GITHUB_APP}"),
    (
        "secrets.github-token",
        "scripts/publish.sh",
        f"git clone https://x-access-token:{s.GITHUB_CLASSIC}@github.com/a/b",
    ),
    ("secrets.gitlab-token", ".gitlab-ci.yml", f"    GITLAB_TOKEN: {s.GITLAB}"),
    (
        "secrets.azure-storage-key",
        "appsettings.json",
        f'"Storage": "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={s.AZURE_STORAGE};"',
    ),
    ("secrets.stripe-secret-key", "billing.js", f"const stripe = require('stripe')('{s.STRIPE_LIVE}');"),
    ("secrets.stripe-secret-key", "billing.py", f'stripe.api_key = "{s.STRIPE_RESTRICTED}"'),
    ("secrets.stripe-webhook-secret", "webhooks.ts", f'const endpointSecret = "{s.STRIPE_WEBHOOK}";'),
    ("secrets.google-api-key", "firebase.js", f'  apiKey: "{s.GOOGLE}",'),
    ("secrets.firebase-cloud-messaging-key", "push.py", f'FCM_SERVER_KEY = "{s.FCM}"'),
    ("secrets.google-service-account", "service-account.json", s.service_account("sa")),
    ("secrets.supabase-service-role-key", "lib/supabase.ts", f'const key = "{s.SUPABASE_SERVICE}";'),
    ("secrets.supabase-secret-key", "lib/admin.ts", f'createClient(url, "{s.SUPABASE_SECRET}")'),
    ("secrets.sendgrid-api-key", "mail.py", f'sg = SendGridAPIClient("{s.SENDGRID}")'),
    ("secrets.twilio-auth-token", "sms.py", f'TWILIO_AUTH_TOKEN = "{s.TWILIO_TOKEN}"'),
    ("secrets.twilio-api-key", "sms.js", f'const apiKey = "{s.TWILIO_API_KEY}";'),
    ("secrets.slack-webhook", "alerts.py", f'WEBHOOK = "{s.SLACK_WEBHOOK}"'),
    ("secrets.npm-token", ".npmrc", f"//registry.npmjs.org/:_authToken={s.NPM}"),
    ("secrets.pypi-token", ".pypirc", f"password = {s.PYPI}"),
    ("secrets.vercel-token", "deploy.sh", f'VERCEL_TOKEN="{s.VERCEL}" vercel deploy --prod'),
    ("secrets.expo-token", "eas.sh", f"EXPO_TOKEN={s.EXPO} eas build"),
    (
        "secrets.database-url-password",
        "db.ts",
        f'const url = "postgres://app:{s.DB_PASSWORD}@db.prod.acme.io:5432/app";',
    ),
    ("secrets.database-url-password", "worker.py", f'REDIS = "rediss://default:{s.DB_PASSWORD}@cache.acme.io:6380"'),
    ("secrets.private-key", "deploy/id_rsa", s.private_key("tp-rsa", "rsa")),
    ("secrets.private-key", "deploy/id_ed25519", s.private_key("tp-ed", "openssh")),
    ("secrets.private-key", "certs/key.pem", s.private_key("tp-ec", "ec", 3)),
    ("secrets.private-key", "certs/pkcs8.pem", s.private_key("tp-p8", "pkcs8")),
    ("secrets.vault-token", "vault.env.sh", f"export VAULT_TOKEN={s.VAULT}"),
    ("secrets.shopify-token", "shop.rb", f'ShopifyAPI::Context.setup(api_key: "x", access_token: "{s.SHOPIFY}")'),
    ("secrets.mailgun-api-key", "mail.go", f'mg := mailgun.NewMailgun(domain, "{s.MAILGUN}")'),
    ("secrets.digitalocean-token", "infra.tf", f'  token = "{s.DIGITALOCEAN}"'),
    ("secrets.databricks-token", "etl.py", f'TOKEN = "{s.DATABRICKS}"'),
    ("secrets.doppler-token", "run.sh", f"DOPPLER_TOKEN={s.DOPPLER} doppler run -- npm start"),
    ("secrets.discord-webhook", "notify.js", f'fetch("{s.DISCORD_WEBHOOK}", opts)'),
    ("secrets.terraform-cloud-token", ".terraformrc", f'  token = "{s.TERRAFORM}"'),
    ("secrets.onepassword-token", "ci.sh", f"export OP_SERVICE_ACCOUNT_TOKEN={s.ONEPASSWORD}"),
    ("secrets.atlassian-api-token", "jira.py", f'JIRA = Jira(url, token="{s.ATLASSIAN}")'),
    ("secrets.django-secret-key", "mysite/settings.py", f"SECRET_KEY = '{s.DJANGO}'"),
    ("secrets.dotenv-secret", ".env", f"JWT_SECRET={s.DOTENV_TOKEN}"),
    ("secrets.dotenv-secret", "api/.env.production", f"export PAYMENTS_API_KEY={s.DOTENV_TOKEN}"),
    ("secrets.shopify-token", "shop.ts", f'const token = "{s.SHOPIFY_ALNUM}";'),
    ("secrets.azure-ad-client-secret", "appsettings.json", f'  "ClientSecret": "{s.AZURE_AD}",'),
    ("secrets.atlassian-api-token", "jira.py", f'JIRA_API_TOKEN = "{s.ATLASSIAN_LEGACY}"'),
    ("secrets.heroku-api-key", "deploy.sh", f"export HEROKU_API_KEY={s.HEROKU_UUID}"),
    ("secrets.heroku-api-key", "app.json", f'  "token": "{s.HEROKU}",'),
    ("secrets.openshift-token", "deploy.sh", f"oc login --token={s.OPENSHIFT} --server=https://api.acme.io:6443"),
    ("secrets.infracost-api-key", ".github/workflows/cost.yml", f"          api-key: {s.INFRACOST}"),
    ("secrets.facebook-app-token", "graph.js", f"const appToken = '{s.FACEBOOK_APP}';"),
    ("secrets.aws-secret-access-key", "deploy.py", f"AWS_SECRET_ACCESS_KEY = {s.AWS_SECRET}"),
    ("secrets.aws-secret-access-key", "credentials", f"aws_secret_access_key = {s.AWS_SECRET}"),
    ("secrets.password-assignment", "deploy.py", f"STRIPE_API_KEY = {s.DB_PASSWORD}"),
    ("secrets.password-assignment", "backup.sh", f"PGPASSWORD={s.DB_PASSWORD} pg_dump -h db.acme.io app"),
    ("secrets.password-assignment", "docker-compose.yml", f"      - POSTGRES_PASSWORD={s.DB_PASSWORD}"),
    ("secrets.password-assignment", "migrate.sh", f"mysql --password={s.DB_PASSWORD} -h db.acme.io app"),
    ("secrets.password-assignment", "Makefile", f"\tcurl -u deploy:{s.DB_PASSWORD} https://ci.acme.io/hook"),
    (
        "secrets.password-assignment",
        "appsettings.json",
        f'"Db": "Server=db.acme.io;User Id=sa;Password={s.DB_PASSWORD};"',
    ),
    (
        "secrets.password-assignment",
        "Db.java",
        f'url = "jdbc:mysql://db.acme.io/app?user=app&password={s.DB_PASSWORD}";',
    ),
    ("secrets.password-assignment", "mysite/settings.py", f"        'PASSWORD': '{s.DB_PASSWORD}',"),
    (
        "secrets.password-assignment",
        "app/src/main/res/values/strings.xml",
        f'<string name="api_token">{s.DB_PASSWORD}</string>',
    ),
    ("secrets.password-assignment", "config/app.yaml", f"  password: {s.DB_PASSWORD}"),
    ("secrets.password-assignment", "setup.cfg", f"password = {s.DB_PASSWORD}"),
    ("secrets.password-assignment", "k8s/secret.yaml", f"  api-token: {s.DB_PASSWORD}"),
    ("secrets.password-assignment", "config.toml", f'client_secret = "{s.DB_PASSWORD}"'),
]

FALSE_POSITIVES = [
    ("docs/aws.md", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
    ("docs/aws.py", 'aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"'),
    ("config.example.js", 'const stripe = Stripe("sk_live_XXXXXXXXXXXXXXXXXXXXXXXXXXXX");'),
    ("README.md", "STRIPE_SECRET_KEY=sk_live_your_key_here_replace_me_now"),
    ("index.html", f'<script src="/app.js" integrity="{s.SRI}" crossorigin="anonymous"></script>'),
    ("package-lock.json", f'      "integrity": "{s.LOCK_INTEGRITY}",'),
    ("yarn.lock", f"  integrity {s.LOCK_INTEGRITY}"),
    ("deploy.py", f'COMMIT_SHA = "{s.GIT_SHA}"'),
    ("docker-compose.yml", "      DATABASE_URL: postgres://user:password@localhost:5432/app"),
    ("tests/auth.test.ts", f'const token = "{s.JWT_IO_EXAMPLE}";'),
    ("models.py", f'USER_ID = "{s.UUID}"'),
    ("config.py", 'API_KEY = os.environ["API_KEY"]'),
    ("config.ts", "const password = process.env.DB_PASSWORD;"),
    ("values.yaml", "  password: ${DB_PASSWORD}"),
    ("settings.py", "SECRET_KEY = os.environ.get('SECRET_KEY')"),
    (".env.example", "JWT_SECRET=changeme"),
    (".env", "SESSION_SECRET=<generate with openssl rand -hex 32>"),
    ("manifest.yml", "  DATABASE_URL: {type: url, secret: true}"),
    ("lib/supabase.ts", f'const anon = "{s.SUPABASE_ANON}";'),
    ("docs/example.md", "https://user:pass@example.com/path"),
    ("README.md", "export GITHUB_TOKEN=ghp_" + "0" * 36),
    ("README.md", "export GITHUB_TOKEN=ghp_" + "X" * 36),
    ("docs/aws.md", "aws_access_key_id = AKIA" + "0" * 16),
    (".env.example", "STRIPE_WEBHOOK_SECRET=whsec_..."),
    (".env.example", "DB_PASSWORD=change-me"),
    (".env.example", "DB_PASSWORD=REPLACE_WITH_PASSWORD"),
    ("config.py", 'API_KEY = "<your-key>"'),
    ("index.html", f'<link rel="stylesheet" href="/a.css" integrity={s.SRI}>'),
    ("dist/checkout.js", f'const stripe=Stripe("{s.STRIPE_PUBLISHABLE}");'),
    ("checkout.map", f'{{"sourcesContent":["const stripe = Stripe(\\"{s.STRIPE_PUBLISHABLE}\\");"]}}'),
    ("form.html", f'<div class="g-recaptcha" data-sitekey="{s.RECAPTCHA_SITE}"></div>'),
    ("app.js", f'grecaptcha.execute("{s.RECAPTCHA_SITE}", {{action: "submit"}})'),
    ("index.html", f'<meta name="google-site-verification" content="{s.SITE_VERIFICATION}" />'),
    (".env", f'DOTENV_PUBLIC_KEY="{s.DOTENVX_PUBLIC}"'),
    ("build.sh", f'COMMIT_SHA="{s.GIT_SHA}"'),
    ("Dockerfile", f'ENV NODE_SHA256="{s.chars(s.HEX, 64, "nsha")}"'),
    ("download.py", f'ARCHIVE_MD5 = "{s.chars(s.HEX, 32, "md5")}"'),
    ("settings.py", "SECRET_KEY = get_random_secret_key()"),
    ("settings.py", "DB_PASSWORD = settings.DATABASE_PASSWORD"),
    ("config.sh", "TOKEN_FILE=/run/secrets/api_token"),
    ("config.sh", "OAUTH_TOKEN_URL=https://oauth2.googleapis.com/token"),
    ("config.py", "ACCESS_TOKEN_LIFETIME_SECONDS = 86400000"),
    ("deploy.sh", "mysql --password=$DB_PASSWORD -h db"),
    ("ci.yml", "        run: curl -u ${{ secrets.USER }}:${{ secrets.TOKEN }} https://ci.acme.io"),
    ("jira.py", f'JIRA_PROJECT = "{s.ATLASSIAN_LEGACY}"'),
    ("app.py", f'REQUEST_ID = "{s.HEROKU_UUID}"'),
    ("strings.xml", '<string name="api_token_label">API token</string>'),
    ("values.yaml", "  existingSecret: api-auth-credentials"),
    ("codec.py", "_b32alphabet = b'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'"),
    ("config.toml", 'token_url = "https://oauth.acme.io/token"'),
    ("values.yaml", "  secretName: db-credentials  # created by the operator"),
    ("compose.yml", "      DATABASE_URL: postgres://acme:acme@db:5432/acme"),
    ("gate.yml", "      fields: {email: GATE_TEST_EMAIL, password: GATE_TEST_PASSWORD}"),
    ("gate.yml", "      fields: {password: GATE_ADMIN_PASSWORD, email: GATE_ADMIN_EMAIL}"),
    ("compose.yml", "      DB_PASSWORD: APP_DB_PASSWORD2"),
]


@pytest.mark.parametrize(("rule_id", "path", "line"), TRUE_POSITIVES, ids=[f"{r}:{p}" for r, p, _ in TRUE_POSITIVES])
def test_detector_finds_a_realistic_leak(rule_id: str, path: str, line: str) -> None:
    found = [f.rule_id for f in scan_text(f"# header\n{line}\n", path)]
    assert found == [rule_id], found


@pytest.mark.parametrize(("path", "line"), FALSE_POSITIVES, ids=[p for p, _ in FALSE_POSITIVES])
def test_look_alike_is_not_reported(path: str, line: str) -> None:
    assert [(f.rule_id, f.location.line) for f in scan_text(line + "\n", path)] == []


@pytest.mark.parametrize(("rule_id", "path", "line"), TRUE_POSITIVES, ids=[f"{r}:{p}" for r, p, _ in TRUE_POSITIVES])
def test_prefilter_loses_nothing_the_plain_scan_finds(rule_id: str, path: str, line: str) -> None:
    plain = Engine(shared_engine().detectors, prefilter=False, cache=False)
    fast = shared_engine()
    buf = f"x = 1\n{line}\nprint(x)\n".encode()
    assert list(fast.scan_buffer(buf, path)) == list(plain.scan_buffer(buf, path))


def test_generic_finds_rank_below_provider_keys() -> None:
    severities = {d.rule_id: d.severity for d in shared_engine().detectors}
    generic = {d.rule_id for d in shared_engine().detectors if d.generic}
    assert generic >= {"secrets.high-entropy-string", "secrets.password-assignment", "secrets.dotenv-secret"}
    # Twins that only relabel (a URL password to localhost) are low on purpose.
    keyed = {d.rule_id for d in shared_engine().detectors if not d.generic and d.scanned}
    assert max(severities[r] for r in generic) < min(severities[r] for r in keyed)


def test_high_entropy_string_is_low_severity_and_found() -> None:
    value = s.chars(s.ALNUM, 40, "entropy")
    findings = scan_text(f'blob = "{value}"\n', "app.py")
    assert [(f.rule_id, str(f.severity)) for f in findings] == [("secrets.high-entropy-string", "low")]


def test_keyed_secret_wins_over_a_generic_find_of_the_same_text() -> None:
    findings = scan_text(f'password = "{s.STRIPE_LIVE}"\n', "pay.py")
    assert [f.rule_id for f in findings] == ["secrets.stripe-secret-key"]


def test_provider_key_inside_a_call_is_still_found() -> None:
    # detect-secrets drops every line shaped like `x = f(...)` (indirect reference); that filter
    # only makes sense for generic finds.
    findings = scan_text(f'client = boto3.client("s3", aws_access_key_id="{s.AWS_KEY}")\n', "s3.py")
    assert [f.rule_id for f in findings] == ["secrets.aws-access-key"]


def test_private_keys_differ_by_their_body_not_their_header() -> None:
    begin, end = "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"  # gate: allow test data
    one = scan_text(f"{begin}\n{s.RSA_BODY}\n{end}\n", "a.pem")
    two = scan_text(f"{begin}\n{s.OPENSSH_BODY}\n{end}\n", "b.pem")
    assert one[0].fingerprint != two[0].fingerprint


def _rules_file(tmp_path: Path, detector: str) -> Path:
    path = tmp_path / "detectors.yml"
    path.write_text(f"detectors:\n{detector}")
    return path


def test_a_pattern_that_could_backtrack_without_bound_is_refused(tmp_path: Path) -> None:
    path = _rules_file(tmp_path, "  - {id: bad, title: Bad, severity: high, pattern: '(a+)+b', keywords: [a]}\n")
    with pytest.raises(InputError, match="unbounded quantifier"):
        load_detectors(path)


def test_a_detector_without_keywords_or_trigger_is_refused(tmp_path: Path) -> None:
    path = _rules_file(tmp_path, "  - {id: bad, title: Bad, severity: high, pattern: 'x{2,3}'}\n")
    with pytest.raises(InputError, match="neither keywords nor trigger"):
        load_detectors(path)


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ("{chars: 'a-z\"', min: 20, quoted: true}", "include a quote"),
        ("{chars: 'a-z', min: 8, distinct: 9}", "more distinct characters than length"),
    ],
)
def test_a_run_the_prefilter_could_not_find_exactly_is_refused(tmp_path: Path, run: str, message: str) -> None:
    path = _rules_file(tmp_path, f"  - {{id: bad, title: Bad, severity: high, pattern: 'x{{2,3}}', run: {run}}}\n")
    with pytest.raises(InputError, match=message):
        load_detectors(path)


def test_every_extra_detector_is_a_detect_secrets_plugin() -> None:
    from detect_secrets.plugins.base import BasePlugin

    assert all(isinstance(d.plugin, BasePlugin) for d in shared_engine().detectors)
    assert len({d.rule_id for d in shared_engine().detectors}) >= 45


def test_two_keys_whose_keywords_share_a_prefix_on_one_line_are_both_found() -> None:
    line = f'KEYS = ["{s.STRIPE_LIVE}", "{s.ANTHROPIC}", "{s.GITHUB_APP}", "{s.GITHUB_FINE}"]'
    assert sorted(f.rule_id for f in scan_text(line + "\n", "keys.py")) == [
        "secrets.anthropic-api-key",
        "secrets.github-fine-grained-token",
        "secrets.github-token",
        "secrets.stripe-secret-key",
    ]


def test_a_long_line_dense_with_keywords_is_scanned_window_by_window() -> None:
    # detect-secrets' keyword regexes slow down faster than the line grows; a hostile one-line
    # file full of keywords and one long word must still be scanned piece by piece, key found.
    line = "password_" * 20_000 + "x" * 50_000 + f' token="{s.GITHUB_APP}"'
    findings = scan_text(line, "dist/app.min.js")
    assert [(f.rule_id, f.location.column) for f in findings] == [
        ("secrets.github-token", line.index(s.GITHUB_APP) + 1)
    ]


@pytest.mark.parametrize(
    ("rule_id", "line"),
    [
        ("secrets.database-url-password-local", f'DATABASE_URL = "postgres://app:{s.DB_PASSWORD}@127.0.0.1/app"'),
        ("secrets.database-url-password-local", f"mongodb://root:{s.DB_PASSWORD}@localhost:27017"),
        ("secrets.url-password-local", f"see https://deploy:{s.DB_PASSWORD}@staging.example.com/hook"),
    ],
)
def test_a_password_in_a_url_to_a_local_or_example_host_is_reported_low_saying_why(rule_id: str, line: str) -> None:
    (finding,) = scan_text(line + "\n", "docs/setup.md")
    assert (finding.rule_id, str(finding.severity)) == (rule_id, "low")
    assert "local or example host" in finding.title
    assert RULES[rule_id].why.startswith("The URL points at a local host")


def test_the_same_password_at_a_real_host_keeps_its_severity() -> None:
    (finding,) = scan_text(f"mongodb://root:{s.DB_PASSWORD}@db.acme.io:27017\n", "app.py")
    assert (finding.rule_id, str(finding.severity)) == ("secrets.database-url-password", "high")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_a_kubernetes_secrets_data_is_decoded_and_scanned_one_finding_per_entry() -> None:
    url = f"postgres://app:{s.DB_PASSWORD}@db.acme.io/app"
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\ndata:\n"
        f"  password: {_b64(s.DB_PASSWORD)}\n  url: {_b64(url)}\n  user: {_b64('app')}\n"
        f"  tls.key: {_b64(s.private_key('k8s', 'ec', 3))}\nstringData:\n  region: eu-west-1\n"
    )
    found = [(f.rule_id, f.location.line) for f in scan_text(manifest, "k8s/app-secret.yaml")]
    assert found == [
        ("secrets.password-assignment", 7),
        ("secrets.database-url-password", 8),
        ("secrets.private-key", 10),
    ]
    plain = scan_text(f"db:\n  password: {s.DB_PASSWORD}\n", "values.yaml")
    encoded = scan_text(manifest, "k8s/app-secret.yaml")[0]
    assert plain[0].fingerprint == encoded.fingerprint


def test_base64_values_outside_a_secret_manifest_are_not_decoded() -> None:
    config_map = (
        f"apiVersion: v1\nkind: ConfigMap\ndata:\n  url: {_b64(f'postgres://app:{s.DB_PASSWORD}@db.acme.io/app')}\n"
    )
    assert scan_text(config_map, "k8s/config.yaml") == []
