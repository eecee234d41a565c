"""Realistic fake credentials, built at run time in each provider's documented shape.

They are assembled from a prefix and seeded random characters so this repository holds no
string a secret scanner (ours, or a host's push protection) would take for a real key.
"""

from __future__ import annotations

import base64
import json
import random
import string

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "_-"


def chars(alphabet: str, length: int, seed: str) -> str:
    generator = random.Random(seed)
    return "".join(generator.choice(alphabet) for _ in range(length))


def jwt(payload: dict[str, object], seed: str = "jwt") -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.{chars(URLSAFE, 43, seed)}"


def pem_body(seed: str) -> str:
    return chars(string.ascii_letters + string.digits + "+/", 64, seed)


AWS_KEY = "AKIA" + chars(string.ascii_uppercase + string.digits, 16, "aws")
STRIPE_LIVE = "sk_" + "live_" + chars(ALNUM, 99, "stripe")
STRIPE_RESTRICTED = "rk_" + "live_" + chars(ALNUM, 99, "stripe-rk")
STRIPE_WEBHOOK = "whsec_" + chars(ALNUM, 32, "whsec")
OPENAI = "sk-" + "proj-" + chars(URLSAFE, 74, "oa1") + "T3Blbk" + "FJ" + chars(URLSAFE, 74, "oa2")
ANTHROPIC = "sk-" + "ant-api03-" + chars(URLSAFE, 93, "anthropic") + "AA"
GITHUB_FINE = "github_" + "pat_" + chars(ALNUM, 22, "gh1") + "_" + chars(ALNUM, 59, "gh2")
GITHUB_APP = "gh" + "s_" + chars(ALNUM, 36, "ghs")
GOOGLE = "AI" + "za" + chars(URLSAFE, 35, "google")
FCM = "AAAA" + chars(URLSAFE, 7, "fcm1") + ":" + chars(URLSAFE, 140, "fcm2")
SUPABASE_SERVICE = jwt({"iss": "supabase", "ref": "abcdefghijklmnopqrst", "role": "service_role", "iat": 1700000000})
SUPABASE_ANON = jwt({"iss": "supabase", "ref": "abcdefghijklmnopqrst", "role": "anon", "iat": 1700000000})
SUPABASE_SECRET = "sb_" + "secret_" + chars(URLSAFE, 31, "sb")  # gate: allow test data
SENDGRID = "SG" + "." + chars(URLSAFE, 22, "sg1") + "." + chars(URLSAFE, 43, "sg2")
TWILIO_TOKEN = chars(HEX, 32, "twilio")
TWILIO_API_KEY = "SK" + chars(HEX, 32, "twilio-sk")
SLACK_WEBHOOK = (
    "https://hooks."
    + "slack.com/services/T"
    + chars(ALNUM, 8, "s1").upper()
    + "/B"
    + chars(string.ascii_uppercase + string.digits, 8, "s2")
    + "/"
    + chars(ALNUM, 24, "s3")
)
NPM = "npm" + "_" + chars(ALNUM, 36, "npm")
PYPI = "pypi-" + "AgEIcHlwaS5vcmc" + chars(URLSAFE, 120, "pypi")
VERCEL = chars(ALNUM, 24, "vercel")
EXPO = chars(URLSAFE, 40, "expo")
DB_PASSWORD = chars(ALNUM, 20, "dbpw")
VAULT = "hv" + "s." + chars(URLSAFE, 90, "vault")
SHOPIFY = "shp" + "at_" + chars(HEX, 32, "shopify")
MAILGUN = "key-" + chars(HEX, 32, "mailgun")
DIGITALOCEAN = "dop" + "_v1_" + chars(HEX, 64, "do")
DATABRICKS = "dapi" + chars(HEX, 32, "databricks")
DOPPLER = "dp" + ".st." + chars(ALNUM, 43, "doppler")
DISCORD_WEBHOOK = (
    "https://discord.com/api/" + "webhooks/" + chars(string.digits, 18, "d1") + "/" + chars(URLSAFE, 68, "d2")
)
TERRAFORM = chars(ALNUM, 14, "tf1") + ".atlas" + "v1." + chars(ALNUM, 67, "tf2")
ONEPASSWORD = "ops_" + "eyJ" + chars(ALNUM, 300, "op")  # gate: allow test data
ATLASSIAN = "ATATT" + "3x" + chars(URLSAFE, 190, "atl")
DJANGO = "django-insecure-" + chars(string.ascii_lowercase + string.digits + "!@#%^&*(-_=+)", 50, "django")
DOTENV_TOKEN = chars(ALNUM, 32, "dotenv")
RSA_BODY = pem_body("rsa")
OPENSSH_BODY = pem_body("openssh")

# Tempting look-alikes that are not leaks.
JWT_IO_EXAMPLE = jwt({"sub": "1234567890", "name": "John Doe", "iat": 1516239022}, "jwtio")
SRI = "sha384-" + base64.b64encode(bytes(random.Random("sri").randrange(256) for _ in range(48))).decode()
GIT_SHA = chars(HEX, 40, "gitsha")
UUID = "3f2b8a9c-4d1e-4f6a-9b7c-2e5d8f1a0c3b"
LOCK_INTEGRITY = "sha512-" + base64.b64encode(bytes(random.Random("lock").randrange(256) for _ in range(64))).decode()

GITHUB_CLASSIC = "gh" + "p_" + chars(ALNUM, 36, "ghp")
GITLAB = "gl" + "pat-" + chars(URLSAFE, 20, "glpat")
AZURE_STORAGE = chars(ALNUM + "+/", 86, "azure") + "=="
PEM_LABELS = {
    "rsa": "RSA PRIVATE KEY",
    "ec": "EC PRIVATE KEY",
    "pkcs8": "PRIVATE KEY",
    "openssh": "OPENSSH PRIVATE KEY",
}
# Every unencrypted ed25519 key in OpenSSH's format starts with the same 70 characters.
OPENSSH_ED25519_START = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"


def key_lines(seed: str, kind: str = "rsa", lines: int = 6) -> list[str]:
    """A private key's PEM lines: header, `lines` base64 body lines, footer."""
    width = 70 if kind == "openssh" else 64
    body = [chars(string.ascii_letters + string.digits + "+/", width, f"{seed}{i}") for i in range(lines)]
    if kind == "openssh":
        body[0] = OPENSSH_ED25519_START
    label = PEM_LABELS[kind]
    return ["-----BEGIN " + label + "-----", *body, "-----END " + label + "-----"]


def private_key(seed: str, kind: str = "rsa", lines: int = 6) -> str:
    return "\n".join(key_lines(seed, kind, lines))


def service_account(seed: str) -> str:
    """A Google service-account key file, as the console downloads it."""
    pem = "\\n".join(key_lines(seed, "pkcs8", 25)) + "\\n"
    fields = {
        "type": "service_" + "account",
        "project_id": "acme-prod",
        "private_key_id": chars(HEX, 40, seed + "id"),
        "private_key": "PEM",
        "client_email": "deployer@acme-prod.iam.gserviceaccount.com",
        "client_id": chars(string.digits, 21, seed + "cid"),
    }
    return json.dumps(fields, indent=2).replace('"PEM"', '"' + pem + '"')


SHOPIFY_ALNUM = "shp" + "at_" + chars(ALNUM, 32, "shopify-alnum")
AZURE_AD = chars(ALNUM, 3, "aad1") + "8Q" + "~" + chars(URLSAFE + "~.", 34, "aad2")
ATLASSIAN_LEGACY = chars(ALNUM, 24, "atl-legacy")
HEROKU_UUID = "5f1c2a9e-8b7d-4c3e-9a1f-" + chars(HEX, 12, "heroku")
HEROKU = "HR" + "KU-" + chars(URLSAFE, 60, "hrku")
OPENSHIFT = "sha256" + "~" + chars(URLSAFE, 43, "openshift")
INFRACOST = "ico" + "-" + chars(ALNUM, 32, "infracost")
FACEBOOK_APP = chars(string.digits, 15, "fbid") + "|" + chars(HEX, 32, "fbsecret")
AWS_SECRET = chars(ALNUM + "/+", 40, "aws-secret")
STRIPE_PUBLISHABLE = "pk_" + "live_" + chars(ALNUM, 99, "stripe-pk")
RECAPTCHA_SITE = "6L" + chars(URLSAFE, 38, "recaptcha")
SITE_VERIFICATION = chars(URLSAFE, 43, "site-verification")
DOTENVX_PUBLIC = "03" + chars(HEX, 64, "dotenvx")
