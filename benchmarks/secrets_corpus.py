"""How many leaked secrets does `gate check secrets` find, and how often does it cry wolf?

Builds a labelled corpus of realistic project files (backend, mobile, CI, IaC, build output,
docs, lock files, test fixtures full of placeholders) with secrets generated in each provider's
documented format, then runs, in one go and on the same files:

  gate            `gate check secrets` as a user runs it (a fresh process, working-tree scan)
  detect-secrets  stock `detect-secrets scan --all-files`, its default plugins and filters

and prints recall and precision for each. Scoring is per line: a labelled line with at least one
finding is found; a finding on any other line is a false alarm. Every line not labelled as a secret
is a negative, the look-alikes (placeholders, masks, digests, publishable keys, example keys) on
purpose. Targets (issue 14): gate recall and precision >= 0.95, each at least 0.15 above
detect-secrets. Nothing is asserted; the numbers are read.

    python benchmarks/secrets_corpus.py [--keep DIR] [--seed N] [--misses]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
# jwt.io's example token and AWS's documentation keys: published, copied everywhere, not secrets.
JWT_IO = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
AWS_DOC_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "_-"
B64 = ALNUM + "+/"
CONFIG = (
    "version: 1\npreset: launch\nchecks:\n  env:\n    enabled: false\n"
    "  secrets:\n    sources:\n      tree: true\n      history: false\n      diff: null\n      build: [dist]\n"
)


@dataclass
class Corpus:
    """Files as lines, each line labelled with the kind of secret it holds (None: none)."""

    rng: random.Random
    files: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)

    def chars(self, alphabet: str, length: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def uuid(self) -> str:
        return "-".join(self.chars(HEX, n) for n in (8, 4, 4, 4, 12))

    def digest(self, size: int) -> str:
        """A base64 digest of `size` random bytes (SRI, lock-file integrity)."""
        return base64.b64encode(self.rng.randbytes(size)).decode()

    def add(self, path: str, *lines: tuple[str, str | None] | str) -> None:
        target = self.files.setdefault(path, [])
        for line in lines:
            if isinstance(line, str):
                target.extend((part, None) for part in line.split("\n"))
            else:
                text, kind = line
                first, *rest = text.split("\n")
                target.append((first, kind))
                target.extend((part, None) for part in rest)

    def positives(self) -> dict[tuple[str, int], str]:
        return {
            (path, number): kind
            for path, lines in self.files.items()
            for number, (_, kind) in enumerate(lines, 1)
            if kind is not None
        }

    def write(self, root: Path) -> None:
        for path, lines in self.files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("".join(text + "\n" for text, _ in lines))


def secret(kind: str, text: str) -> tuple[str, str]:
    return text, kind


def pem(c: Corpus, label: str, lines: int, width: int = 64) -> str:
    body = [c.chars(B64, width) for _ in range(lines)]
    return "\n".join([f"-----BEGIN {label}-----", *body, f"-----END {label}-----"])


def jwt(c: Corpus, payload: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.{c.chars(URLSAFE, 43)}"


def supabase(c: Corpus, role: str) -> str:
    return jwt(c, {"iss": "supabase", "ref": c.chars(string.ascii_lowercase, 20), "role": role, "iat": 1700000000})


def backend(c: Corpus) -> None:
    aws_id = "AK" + "IA" + c.chars(UPPER, 16)
    c.add(
        "api/settings.py",
        "import os\nfrom pathlib import Path\n\nBASE_DIR = Path(__file__).resolve().parent.parent",
        secret("django-secret-key", f"SECRET_KEY = 'django-insecure-{c.chars(ALNUM + '!@#%^&*(-_=+)', 50)}'"),
        "DEBUG = False\nALLOWED_HOSTS = ['api.acme.io']\nDATABASES = {\n    'default': {",
        "        'ENGINE': 'django.db.backends.postgresql',\n        'NAME': 'acme',",
        secret("django-db-password", f"        'PASSWORD': '{c.chars(ALNUM, 18)}',"),
        "        'HOST': os.environ.get('DB_HOST', 'localhost'),\n    }\n}",
        secret("aws-access-key-id", f"AWS_ACCESS_KEY_ID = '{aws_id}'"),
        secret("aws-secret-unquoted", f"AWS_SECRET_ACCESS_KEY = {c.chars(B64, 40)}"),
        "AWS_STORAGE_BUCKET_NAME = 'acme-media'\nSTATIC_URL = '/static/'",
        "SESSION_COOKIE_AGE = 1209600\nPASSWORD_HASHERS = ['django.contrib.auth.hashers.Argon2PasswordHasher']",
        "AUTH_PASSWORD_VALIDATORS = []\nSECRET_KEY_FALLBACKS = []\nCSRF_TRUSTED_ORIGINS = ['https://acme.io']",
    )
    c.add(
        "api/billing.py",
        "import stripe\nfrom django.conf import settings\n",
        secret("stripe-secret", f"stripe.api_key = '{'sk_' + 'live_'}{c.chars(ALNUM, 99)}'"),
        secret("stripe-webhook", f"ENDPOINT_SECRET = '{'whsec_'}{c.chars(ALNUM, 32)}'"),
        secret("stripe-restricted", f"REPORTS_KEY = '{'rk_' + 'live_'}{c.chars(ALNUM, 99)}'"),
        "def charge(customer, amount):\n    return stripe.PaymentIntent.create(customer=customer, amount=amount)",
        "PUBLISHABLE_KEY = settings.STRIPE_PUBLISHABLE_KEY\nCURRENCY = 'usd'",
    )
    c.add(
        "api/llm.py",
        "from openai import OpenAI\nfrom anthropic import Anthropic\n",
        secret(
            "openai",
            f'openai = OpenAI(api_key="{"sk-" + "proj-"}{c.chars(URLSAFE, 74)}T3Blbk{"FJ"}{c.chars(URLSAFE, 74)}")',
        ),
        secret("anthropic", f'claude = Anthropic(api_key="{"sk-" + "ant-api03-"}{c.chars(URLSAFE, 93)}AA")'),
        "MODEL = 'gpt-4o-mini'\nMAX_TOKENS = 1024\nTEMPERATURE = 0.2",
        "def complete(prompt: str) -> str:\n    return openai.responses.create(model=MODEL, input=prompt).output_text",
    )
    c.add(
        "api/notify.py",
        "import requests\n",
        secret(
            "slack-webhook",
            f'SLACK = "https://hooks.{"slack.com"}/services/T{c.chars(UPPER, 8)}/B{c.chars(UPPER, 8)}/'
            f'{c.chars(ALNUM, 24)}"',
        ),
        secret(
            "slack-bot-token",
            f'BOT_TOKEN = "xox{"b"}-{c.chars(string.digits, 12)}-{c.chars(string.digits, 13)}-{c.chars(ALNUM, 24)}"',
        ),
        secret(
            "discord-webhook",
            f'DISCORD = "https://discord.com/api/{"webhooks/"}{c.chars(string.digits, 18)}/{c.chars(URLSAFE, 68)}"',
        ),
        secret("telegram", f'TELEGRAM_BOT = "{c.chars(string.digits, 10)}:AA{c.chars(URLSAFE, 33)}"'),
        secret("sendgrid", f'SENDGRID_API_KEY = "{"SG" + "."}{c.chars(URLSAFE, 22)}.{c.chars(URLSAFE, 43)}"'),
        secret("twilio-auth", f'TWILIO_AUTH_TOKEN = "{c.chars(HEX, 32)}"'),
        secret("twilio-api-key", f'TWILIO_API_KEY = "SK{c.chars(HEX, 32)}"'),
        secret("mailgun", f'MAILGUN_KEY = "key-{c.chars(HEX, 32)}"'),
        secret("mailchimp", f'MAILCHIMP = "{c.chars(HEX, 32)}-us{c.rng.randint(1, 21)}"'),
        "TIMEOUT = 10\n\ndef post(url, payload):\n    return requests.post(url, json=payload, timeout=TIMEOUT)",
    )
    c.add(
        "server/src/config.ts",
        "import { z } from 'zod';\n",
        "export const config = {\n  port: Number(process.env.PORT ?? 3000),",
        secret(
            "supabase-service",
            f"  supabaseServiceKey: '{supabase(c, 'service_role')}',",
        ),
        f"  supabaseAnonKey: '{supabase(c, 'anon')}',",
        secret("supabase-secret", f"  supabaseSecret: '{'sb_' + 'secret_'}{c.chars(URLSAFE, 31)}',"),
        secret("database-url", f"  databaseUrl: 'postgres://acme:{c.chars(ALNUM, 20)}@db.prod.acme.io:5432/acme',"),
        secret("redis-url", f"  redisUrl: 'rediss://default:{c.chars(ALNUM, 24)}@cache.acme.io:6380',"),
        secret("mongodb-url", f"  mongoUrl: 'mongodb+srv://app:{c.chars(ALNUM, 16)}@cluster0.ab1cd.mongodb.net/acme',"),
        "  sessionSecret: process.env.SESSION_SECRET,\n  jwtSecret: process.env.JWT_SECRET ?? '',",
        secret("jwt", f"  adminSession: '{jwt(c, {'sub': c.chars(HEX, 24), 'role': 'admin', 'exp': 1900000000})}',"),
        "};\n\nexport type Config = typeof config;",
    )
    c.add(
        "server/src/github.ts",
        "import { Octokit } from '@octokit/rest';\n",
        secret("github-pat", f"const octokit = new Octokit({{ auth: '{'gh' + 'p_'}{c.chars(ALNUM, 36)}' }});"),
        secret("github-oauth", f"const oauthToken = '{'gh' + 'o_'}{c.chars(ALNUM, 36)}';"),
        secret(
            "github-fine-grained",
            f"const releaseToken = '{'github_' + 'pat_'}{c.chars(ALNUM, 22)}_{c.chars(ALNUM, 59)}';",
        ),
        secret("github-app", f"const installation = '{'gh' + 's_'}{c.chars(ALNUM, 36)}';"),
        "export async function repos(owner: string) {\n  return octokit.repos.listForOrg({ org: owner });\n}",
    )
    c.add(
        "server/src/db.java",
        "package io.acme.db;\n\nimport java.sql.DriverManager;\n\npublic class Db {",
        secret(
            "jdbc-password",
            f'    static final String URL = "jdbc:mysql://db.acme.io/a?user=a&password={c.chars(ALNUM, 16)}";',
        ),
        "    static Connection open() throws Exception {\n        return DriverManager.getConnection(URL);\n    }\n}",
    )
    c.add(
        "server/appsettings.Production.json",
        '{\n  "Logging": { "LogLevel": { "Default": "Warning" } },\n  "ConnectionStrings": {',
        secret(
            "dotnet-connection",
            f'    "Default": "Server=tcp:acme.database.windows.net;User Id=acme;Password={c.chars(ALNUM, 18)};"',
        ),
        secret(
            "azure-storage",
            f'    "Blobs": "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={c.chars(B64, 86)}==;"',
        ),
        '  },\n  "AzureAd": {\n    "Instance": "https://login.microsoftonline.com/",',
        secret("azure-ad-secret", f'    "ClientSecret": "{c.chars(ALNUM, 3)}8Q~{c.chars(URLSAFE + "~.", 34)}",'),
        f'    "ClientId": "{c.uuid()}"',
        "  }\n}",
    )
    c.add(
        "server/google-service-account.json",
        secret(
            "gcp-service-account",
            json.dumps(
                {
                    "type": "service_" + "account",
                    "project_id": "acme-prod",
                    "private_key_id": c.chars(HEX, 40),
                    "private_key": "PEM",
                    "client_email": "deployer@acme-prod.iam.gserviceaccount.com",
                },
                indent=2,
            )
            .replace('"PEM"', '"' + pem(c, "PRIVATE KEY", 25).replace("\n", "\\n") + '\\n"')
            .split("\n", 4)[4],
        ),
    )
    # The label sits on the private_key line: reorder so the JSON opens before it.
    lines = c.files["server/google-service-account.json"]
    c.files["server/google-service-account.json"] = [
        ("{", None),
        ('  "type": "service_' + 'account",', None),
        ('  "project_id": "acme-prod",', None),
        (f'  "private_key_id": "{c.chars(HEX, 40)}",', None),
        *lines,
    ]
    c.add(
        "server/integrations.rb",
        "require 'shopify_api'\n",
        secret(
            "shopify",
            f"ShopifyAPI::Context.setup(api_key: ENV['KEY'], access_token: '{'shp' + 'at_'}{c.chars(ALNUM, 32)}')",
        ),
        secret(
            "atlassian",
            f"JIRA = JIRA::Client.new(username: 'bot@acme.io', password: '{'ATATT' + '3x'}{c.chars(URLSAFE, 190)}')",
        ),
        secret("atlassian-legacy", f"CONFLUENCE_API_TOKEN = '{c.chars(ALNUM, 24)}'"),
        secret("square", f"SQUARE_SECRET = '{'sq0' + 'csp-'}{c.chars(URLSAFE, 43)}'"),
        secret("facebook-app", f"FB_APP_TOKEN = '{c.chars(string.digits, 15)}|{c.chars(HEX, 32)}'"),
        "def sync!\n  Order.pending.find_each(&:push)\nend",
    )
    c.add(
        "server/private/deploy_rsa",
        secret("rsa-private-key", pem(c, "RSA PRIVATE KEY", 25)),
    )
    c.add(
        "server/private/id_ed25519",
        secret("openssh-private-key", pem(c, "OPENSSH PRIVATE KEY", 7, 70)),
    )
    c.add("server/certs/tls.key", secret("ec-private-key", pem(c, "EC PRIVATE KEY", 3)))
    c.add(
        "server/certs/deploy.ppk",
        secret("putty-private-key", "PuTTY-User-Key-File-3: ssh-ed25519"),
        "Encryption: none\nComment: deploy@acme\nPublic-Lines: 2",
        c.chars(B64, 64) + "\n" + c.chars(B64, 4),
        "Private-Lines: 1\n" + c.chars(B64, 44) + "\nPrivate-MAC: " + c.chars(HEX, 64),
    )


def mobile(c: Corpus) -> None:
    c.add(
        "mobile/android/app/src/main/res/values/strings.xml",
        '<?xml version="1.0" encoding="utf-8"?>\n<resources>\n    <string name="app_name">Acme</string>',
        secret("android-resource-token", f'    <string name="backend_api_token">{c.chars(ALNUM, 32)}</string>'),
        secret("google-api-key", f'    <string name="maps_key">AI{"za"}{c.chars(URLSAFE, 35)}</string>'),
        '    <string name="password_hint">Password</string>',
        '    <string name="token_expired">Your session expired</string>',
        "</resources>",
    )
    c.add(
        "mobile/src/push.ts",
        "import messaging from '@react-native-firebase/messaging';\n",
        secret("fcm-server-key", f"const SERVER_KEY = 'AAAA{c.chars(URLSAFE, 7)}:{c.chars(URLSAFE, 140)}';"),
        secret("expo-token", f"const EXPO_TOKEN = '{c.chars(URLSAFE, 40)}';"),
        "export async function register() {\n  return messaging().getToken();\n}",
    )
    c.add(
        "mobile/ios/Acme/Config.xcconfig",
        "PRODUCT_BUNDLE_IDENTIFIER = io.acme.app\nMARKETING_VERSION = 2.4.1",
        secret("xcconfig-secret", f"REVENUECAT_SECRET = {c.chars(ALNUM, 32)}"),
        "API_HOST = api.acme.io",
    )


def ci(c: Corpus) -> None:
    c.add(
        ".github/workflows/deploy.yml",
        "name: deploy\non:\n  push:\n    branches: [main]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:",
        "      NODE_ENV: production\n      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
        secret("vercel-token", f"      VERCEL_TOKEN: {c.chars(ALNUM, 24)}"),
        secret("npm-token", f"      NPM_TOKEN: {'npm' + '_'}{c.chars(ALNUM, 36)}"),
        "    steps:\n      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0",
        f"      - uses: actions/setup-node@{c.chars(HEX, 40)}  # v4.1.0",
        secret("curl-basic", f"      - run: curl -fsS -u deploy:{c.chars(ALNUM, 20)} https://ci.acme.io/hooks/deploy"),
        "      - run: npx vercel deploy --prod --token ${{ secrets.VERCEL_TOKEN }}",
        secret("infracost", f"      - run: infracost breakdown --path . --api-key ico-{c.chars(ALNUM, 32)}"),
    )
    c.add(
        ".gitlab-ci.yml",
        "stages: [test, release]\nvariables:\n  DOCKER_DRIVER: overlay2",
        secret("gitlab-pat", f"  GITLAB_TOKEN: {'gl' + 'pat-'}{c.chars(URLSAFE, 20)}"),
        secret("gitlab-runner", f"  RUNNER_TOKEN: GR1348941{c.chars(URLSAFE, 20)}"),
        "release:\n  stage: release\n  script:\n    - ./release.sh",
        secret(
            "pypi-token",
            f"    - twine upload -u __token__ -p {'pypi-' + 'AgEIcHlwaS5vcmc'}{c.chars(URLSAFE, 120)} dist/*",
        ),
        secret("password-flag", f"    - docker login --username acme --password={c.chars(ALNUM, 20)} registry.acme.io"),
    )
    c.add(
        "scripts/backup.sh",
        "#!/usr/bin/env bash\nset -euo pipefail\nSTAMP=$(date +%F)",
        secret(
            "pgpassword", f"PGPASSWORD={c.chars(ALNUM, 18)} pg_dump -h db.prod.acme.io -U acme acme > backup-$STAMP.sql"
        ),
        secret("doppler", f"export DOPPLER_TOKEN={'dp' + '.st.'}{c.chars(ALNUM, 43)}"),
        secret("vault", f"export VAULT_TOKEN={'hv' + 's.'}{c.chars(URLSAFE, 90)}"),
        secret("onepassword", f"export OP_SERVICE_ACCOUNT_TOKEN={'ops_' + 'eyJ'}{c.chars(ALNUM, 300)}"),
        secret(
            "heroku",
            f"export HEROKU_API_KEY={c.uuid()}",
        ),
        secret(
            "openshift", f"oc login --token={'sha256' + '~'}{c.chars(URLSAFE, 43)} --server=https://api.acme.io:6443"
        ),
        secret("databricks", f"databricks configure --token {'dapi'}{c.chars(HEX, 32)}"),
        "aws s3 cp backup-$STAMP.sql s3://acme-backups/\nrm backup-$STAMP.sql",
    )


def iac(c: Corpus) -> None:
    c.add(
        "infra/main.tf",
        'terraform {\n  required_version = ">= 1.6"\n}\n\nprovider "digitalocean" {',
        secret("digitalocean", f'  token = "{"dop" + "_v1_"}{c.chars(HEX, 64)}"'),
        '}\n\nresource "aws_db_instance" "main" {\n  engine   = "postgres"\n  username = "acme"',
        secret("terraform-db-password", f'  password = "{c.chars(ALNUM, 20)}"'),
        '  storage_encrypted = true\n}\n\nvariable "region" {\n  default = "eu-west-1"\n}',
    )
    c.add(
        "infra/.terraformrc",
        'credentials "app.terraform.io" {',
        secret("terraform-cloud", f'  token = "{c.chars(ALNUM, 14)}.{"atlas" + "v1"}.{c.chars(ALNUM, 67)}"'),
        "}",
    )
    password = c.chars(ALNUM, 20)
    c.add(
        "infra/k8s/db-secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:",
        secret("k8s-secret-data", f"  password: {base64.b64encode(password.encode()).decode()}"),
        secret(
            "k8s-secret-data-url",
            "  url: " + base64.b64encode(f"postgres://acme:{c.chars(ALNUM, 20)}@db.acme.io/acme".encode()).decode(),
        ),
        "stringData:",
        secret("k8s-secret-stringdata", f"  api-token: {c.chars(ALNUM, 32)}"),
    )
    c.add(
        "infra/docker-compose.yml",
        "services:\n  db:\n    image: postgres:16\n    environment:",
        secret("compose-env-password", f"      - POSTGRES_PASSWORD={c.chars(ALNUM, 18)}"),
        "      - POSTGRES_USER=acme\n  api:\n    build: .\n    environment:",
        "      DATABASE_URL: postgres://acme:postgres@db:5432/acme\n      SECRET_KEY: ${SECRET_KEY}",
        "    ports: ['8000:8000']",
    )
    c.add(
        "infra/helm/values.yaml",
        "replicaCount: 2\nimage:\n  repository: ghcr.io/acme/api\n  tag: 2.4.1\nauth:",
        secret("yaml-password", f"  password: {c.chars(ALNUM, 16)}"),
        "  existingSecret: api-auth\nresources:\n  limits:\n    memory: 512Mi",
    )
    c.add(
        "infra/ansible/group_vars/all.ini",
        "[database]\nhost = db.acme.io\nport = 5432",
        secret("ini-password", f"password = {c.chars(ALNUM, 16)}"),
        "[cache]\nhost = cache.acme.io",
    )


def dotenv(c: Corpus) -> None:
    c.add(
        ".env.production",
        "NODE_ENV=production\nPORT=8080\nLOG_LEVEL=info",
        secret("dotenv-secret", f"SESSION_SECRET={c.chars(ALNUM, 32)}"),
        secret("dotenv-api-key", f"PAYMENTS_API_KEY={c.chars(ALNUM, 40)}"),
        f'DOTENV_PUBLIC_KEY_PRODUCTION="03{c.chars(HEX, 64)}"',
        "PUBLIC_URL=https://acme.io\nFEATURE_FLAGS=checkout,search",
    )
    c.add(
        ".env.example",
        "# Copy to .env and fill in\nNODE_ENV=development",
        "SESSION_SECRET=change-me\nPAYMENTS_API_KEY=<your-key>\nSTRIPE_WEBHOOK_SECRET=whsec_...",
        "DB_PASSWORD=REPLACE_WITH_PASSWORD\nGITHUB_TOKEN=ghp_" + "X" * 36,
        "DATABASE_URL=postgres://postgres:postgres@localhost:5432/acme\nOPENAI_API_KEY=sk-...\nJWT_SECRET=${JWT_SECRET}",
    )


def build_output(c: Corpus) -> None:
    publishable = "pk_" + "live_" + c.chars(ALNUM, 99)
    site_key = "6L" + c.chars(URLSAFE, 38)
    leaked = "sk_" + "live_" + c.chars(ALNUM, 99)
    source = (
        f'import {{ loadStripe }} from "@stripe/stripe-js";\nexport const stripe = loadStripe("{publishable}");\n'
        f'export const recaptcha = "{site_key}";\nconst admin = "{leaked}";\n'
    )
    bundle = (
        f'"use strict";(()=>{{var e=Stripe("{publishable}"),t="{site_key}";'
        f'window.grecaptcha.execute(t,{{action:"submit"}});fetch("/api/x",{{headers:{{"X-Site":t}}}})}})();'
    )
    c.add("dist/assets/index-4f2a9c.js", bundle, "//# sourceMappingURL=index-4f2a9c.js.map")
    source_map = json.dumps(
        {
            "version": 3,
            "sources": ["../../src/payments.ts"],
            "sourcesContent": [source],
            "mappings": "AAAA",
            "names": [],
        }
    )
    c.add("dist/assets/index-4f2a9c.js.map", secret("source-map-stripe", source_map))
    c.add(
        "dist/index.html",
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">',
        f'<meta name="google-site-verification" content="{c.chars(URLSAFE, 43)}" />',
        f'<meta name="facebook-domain-verification" content="{c.chars(string.ascii_lowercase + string.digits, 30)}" />',
        f'<script type="module" src="/assets/index-4f2a9c.js" integrity="sha384-{c.digest(48)}" crossorigin></script>',
        f'<link rel="stylesheet" href="/assets/index.css" integrity="sha256-{c.digest(32)}">',
        f'<div class="g-recaptcha" data-sitekey="{site_key}"></div>',
        '</head>\n<body><div id="root"></div></body>\n</html>',
    )


def docs(c: Corpus) -> None:
    c.add(
        "README.md",
        "# Acme API\n\n## Setup\n\n```bash\ncp .env.example .env\nexport GITHUB_TOKEN=ghp_" + "0" * 36,
        f"export AWS_ACCESS_KEY_ID={AWS_DOC_ID}\nexport AWS_SECRET_ACCESS_KEY={AWS_DOC_SECRET}",
        "```\n\nThe service account key file starts with `-----BEGIN PRIVATE KEY-----` and must never be committed.",
        "\nPaste your key here:\n\n```\n-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n```",
        f"\nAn example token: `{JWT_IO}`",
        "\nConnect with `psql postgres://acme:acme@localhost:5432/acme`.",
        secret(
            "local-url-password",
            f"The staging hook is https://deploy:{c.chars(ALNUM, 20)}@hooks.staging.example.com/run (rotated).",
        ),
        f"\nRelease {c.chars(HEX, 40)} fixed the login bug; checksum sha256 {c.chars(HEX, 64)}.",
    )
    c.add(
        "docs/deploy.md",
        "# Deploying\n\nSet `STRIPE_SECRET_KEY=sk_live_...` in the host's secret settings, never in the repository.",
        "Use `AKIA" + "0" * 16 + "` style ids only in examples.\n",
        secret("docs-leaked-token", f"Until then the deploy bot uses `{'gh' + 'p_'}{c.chars(ALNUM, 36)}`."),
        "For Heroku, `heroku auth:token` prints the current key.",
    )


def lock_files(c: Corpus) -> None:
    lines = ['{\n  "name": "acme",\n  "lockfileVersion": 3,\n  "packages": {']
    for name in ("react", "react-dom", "zod", "stripe", "@octokit/rest", "dayjs", "lodash", "axios"):
        digest = c.digest(64)
        lines.append(
            f'    "node_modules/{name}": {{\n      "version": "{c.rng.randint(1, 19)}.{c.rng.randint(0, 9)}.0",'
            f'\n      "resolved": "https://registry.npmjs.org/{name}/-/{name.split("/")[-1]}-1.0.0.tgz",'
            f'\n      "integrity": "sha512-{digest}"\n    }},'
        )
    lines.append("  }\n}")
    c.add("package-lock.json", "\n".join(lines))
    entries = []
    for name in ("django", "psycopg", "stripe", "requests"):
        entries.append(
            f'[[package]]\nname = "{name}"\nversion = "{c.rng.randint(1, 5)}.{c.rng.randint(0, 9)}.0"\n'
            f'files = [\n    {{file = "{name}-1.0.tar.gz", hash = "sha256:{c.chars(HEX, 64)}"}},\n]\n'
        )
    c.add("poetry.lock", "\n".join(entries))
    c.add(
        "go.sum",
        *(f"github.com/acme/mod{i} v1.{i}.0 h1:{c.digest(32)}" for i in range(6)),
    )


def fixtures(c: Corpus) -> None:
    c.add(
        "tests/fixtures/credentials.py",
        '"""Fake credentials for tests: never real."""\n',
        'AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\nSTRIPE_KEY = "sk_live_' + "x" * 24 + '"',
        'GITHUB_TOKEN = "ghp_' + "0" * 36 + '"\nGITLAB_TOKEN = "glpat-' + "x" * 20 + '"',
        'PASSWORD = "password"\nDB_URL = "postgres://user:password@localhost/test"',
        f'REQUEST_ID = "{c.chars(HEX, 8)}-{c.chars(HEX, 4)}-4{c.chars(HEX, 3)}-8{c.chars(HEX, 3)}-{c.chars(HEX, 12)}"',
        f'JWT = "{JWT_IO}"',
        'PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----\n***\n-----END PRIVATE KEY-----"""',
        f'COMMIT_SHA = "{c.chars(HEX, 40)}"\nFILE_MD5 = "{c.chars(HEX, 32)}"',
        'API_KEY = os.environ["API_KEY"]\nSECRET_KEY = os.environ.get("SECRET_KEY", "")',
        "WEBHOOK_SECRET = settings.STRIPE_WEBHOOK_SECRET\nTOKEN_TTL_SECONDS = 86400000",
        'OPENAI_KEY = "sk-proj-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"',
    )
    c.add(
        "tests/test_login.ts",
        "import { login } from '../src/auth';\n",
        "const password = process.env.TEST_PASSWORD;\nconst token = '<token>';\nconst apiKey = '{{API_KEY}}';",
        "test('login', async () => {\n  expect(await login('ada', password)).toBeTruthy();\n});",
    )
    ordinary = [
        "def handler(event, context):\n    return {'statusCode': 200, 'body': json.dumps(event)}",
        "const items = orders.filter((o) => o.status === 'paid').map((o) => o.total);",
        "SELECT id, email FROM users WHERE created_at > now() - interval '7 days';",
        "export function formatPrice(cents: number) { return `$${(cents / 100).toFixed(2)}`; }",
        f'const BUILD_ID = "{c.chars(HEX, 12)}";\nconst CACHE_KEY = "v2-{c.chars(string.digits, 6)}";',
        "logger.info('token refreshed for %s', user.id)",
        "if (!password || password.length < 12) throw new Error('password too short');",
    ]
    c.add("src/handlers.py", *ordinary[:3])
    c.add("src/util.ts", *ordinary[3:])


SECTIONS: tuple[Callable[[Corpus], None], ...] = (
    backend,
    mobile,
    ci,
    iac,
    dotenv,
    build_output,
    docs,
    lock_files,
    fixtures,
)


def build(seed: int) -> Corpus:
    corpus = Corpus(random.Random(seed))
    for section in SECTIONS:
        section(corpus)
    return corpus


def gate_lines(root: Path) -> set[tuple[str, int]]:
    (root / "gate.yml").write_text(CONFIG)
    result = subprocess.run(
        [sys.executable, "-m", "gate", "check", "secrets", "--format", "json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 1):
        raise SystemExit(f"gate failed ({result.returncode}): {result.stderr[-2000:]}")
    found: set[tuple[str, int]] = set()
    for finding in json.loads(result.stdout)["findings"]:
        path, line = finding["location"]["path"], finding["location"].get("line")
        if finding["rule_id"] == "secrets.unscanned" or not line:
            continue
        found.add((path, int(line)))
        # One credential, one finding: its other half's line is found with it.
        if finding["details"].get("secret_line"):
            found.add((path, int(finding["details"]["secret_line"])))
    return found


def detect_secrets_lines(root: Path) -> set[tuple[str, int]]:
    result = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan", "--all-files", "--exclude-files", r"^gate\.yml$"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        (path, int(entry["line_number"]))
        for path, entries in json.loads(result.stdout)["results"].items()
        for entry in entries
    }


def score(found: set[tuple[str, int]], positives: dict[tuple[str, int], str]) -> tuple[float, float, int, int]:
    hits = found & positives.keys()
    recall = len(hits) / len(positives)
    precision = len(hits) / len(found) if found else 1.0
    return recall, precision, len(hits), len(found - positives.keys())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--misses", action="store_true", help="list what each tool missed or raised wrongly")
    args = parser.parse_args()
    corpus = build(args.seed)
    positives = corpus.positives()
    lines = sum(len(v) for v in corpus.files.values())
    kinds = Counter(positives.values())
    with tempfile.TemporaryDirectory(prefix="gate-corpus-") as temp:
        root = args.keep or Path(temp)
        root.mkdir(parents=True, exist_ok=True)
        corpus.write(root)
        print(f"corpus: {len(corpus.files)} files, {lines} lines, {len(positives)} secrets of {len(kinds)} kinds")
        results = {"gate": gate_lines(root), "detect-secrets": detect_secrets_lines(root)}
    scores = {}
    print(f"{'tool':16} {'recall':>7} {'precision':>9} {'found':>6} {'false alarms':>12}")
    for tool, found in results.items():
        recall, precision, hits, false = score(found, positives)
        scores[tool] = (recall, precision)
        print(f"{tool:16} {recall:7.3f} {precision:9.3f} {hits:>3}/{len(positives):<3} {false:>11}")
        if args.misses:
            for place in sorted(positives.keys() - found):
                print(f"    missed  {positives[place]:24} {place[0]}:{place[1]}")
            for place in sorted(found - positives.keys()):
                print(f"    alarm   {'':24} {place[0]}:{place[1]}")
    gate, stock = scores["gate"], scores["detect-secrets"]
    print(
        f"gate - detect-secrets: recall {gate[0] - stock[0]:+.3f}, precision {gate[1] - stock[1]:+.3f} "
        "(targets: gate >= 0.95 on both, each >= +0.15)"
    )


if __name__ == "__main__":
    main()
