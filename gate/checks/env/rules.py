"""Every rule the env check can raise: why a missing, malformed or exposed variable matters at launch, and the fix."""

from __future__ import annotations

from gate.checks.base import RuleBook, RuleDoc
from gate.model import Severity

RULES = RuleBook(
    "env",
    [
        RuleDoc(
            "env.missing-required",
            "Required environment variable is not set",
            Severity.HIGH,
            "The app reads this variable at runtime; without it the first request that needs it fails, in "
            "front of users, instead of the deploy failing early.",
            "Set the variable for this environment in your hosting platform (and in the .env file for local "
            "runs), or mark it `required: false` in the manifest if the app really copes without it.",
        ),
        RuleDoc(
            "env.invalid-value",
            "Environment variable has the wrong format",
            Severity.HIGH,
            "A malformed value (a URL without scheme, a port that is not a number) passes the deploy and "
            "breaks at runtime.",
            "Correct the value where it is defined; the manifest says which format is expected.",
        ),
        RuleDoc(
            "env.public-secret",
            "Secret behind a public client prefix",
            Severity.CRITICAL,
            "Frameworks inline variables with public prefixes (NEXT_PUBLIC_, VITE_, EXPO_PUBLIC_, ...) into "
            "the JavaScript bundle; every visitor can read them.",
            "Rotate the secret now, rename the variable without the public prefix, and read it only on the "
            "server (an API route or server action) instead of in client code.",
        ),
        RuleDoc(
            "env.local-address-in-production",
            "Production value points at a local address",
            Severity.HIGH,
            "localhost, 127.0.0.1, 0.0.0.0 and *.local mean the server itself or a developer's machine; in "
            "production the feature that uses it is simply broken.",
            "Point the variable at the production service's real host name.",
        ),
        RuleDoc(
            "env.test-credential-in-production",
            "Test or sandbox credential in production",
            Severity.HIGH,
            "A test-mode key in production means payments or messages silently do nothing real.",
            "Use the live credential for production and keep test keys to development and preview.",
        ),
        RuleDoc(
            "env.staging-host-in-production",
            "Production value points at a staging host",
            Severity.HIGH,
            "Production talking to staging mixes real customers' data with test systems, and a staging "
            "token that opens production is a breach waiting to happen.",
            "Point production at production services; give staging its own credentials.",
        ),
        RuleDoc(
            "env.duplicate-definition",
            "Variable defined more than once",
            Severity.MEDIUM,
            "When two files define the same variable, which one wins depends on load order; a different "
            "value in each is a bug that only shows in one environment.",
            "Keep one definition per environment and delete the other.",
        ),
        RuleDoc(
            "env.malformed-line",
            "Line in an env file is not KEY=VALUE",
            Severity.MEDIUM,
            "dotenv loaders skip lines they cannot parse, so the variable on it is silently missing.",
            "Write the line as KEY=VALUE; quote values that contain spaces or #.",
        ),
        RuleDoc(
            "env.undeclared-in-code",
            "Code reads a variable the manifest does not declare",
            Severity.MEDIUM,
            "An undeclared variable is set nowhere on purpose: the first deploy to a new environment "
            "breaks and nobody knows why.",
            "Declare the variable in the env manifest with its type and where it is required.",
        ),
        RuleDoc(
            "env.not-in-manifest",
            "Env file sets a variable the manifest does not declare",
            Severity.LOW,
            "Unknown variables are usually leftovers or typos of a declared name.",
            "Declare it in the manifest, or delete it from the file.",
        ),
        RuleDoc(
            "env.unreadable-source",
            "A source file could not be read for variable reads",
            Severity.MEDIUM,
            "The variables that file reads are unknown: one of them may be missing from the manifest and "
            "from production. A FIFO or device is never opened, since reading it could block or never end.",
            "Replace it with a regular file, make it readable, or leave its folder out of checks.env.code.",
        ),
        RuleDoc(
            "env.no-sources",
            "No environment values to check",
            Severity.MEDIUM,
            "Without a .env file, platform export or process environment, nothing proves the required variables "
            "are set.",
            "List sources under checks.env.targets in gate.yml (files, platform_export or process: true).",
        ),
    ],
)
