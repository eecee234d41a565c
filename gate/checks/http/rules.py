"""Every rule the http check can raise (what it means, why it matters, how to fix it), and the one way
the check turns a rule into a finding: `RULES.finding`.

Longer than the ~400 lines a module should be because it is one list of data: the shape of a
check keeps every rule doc of the check in its rules.py, where docs, SARIF and `gate explain` read them.
"""

from __future__ import annotations

from typing import Any

from gate.checks.base import RuleBook, RuleDoc
from gate.model import Finding, Location, Severity, fingerprint_of

_STREAM_FIX = (
    "Flush events as they are produced, send a heartbeat comment during long work, disable proxy "
    "buffering (X-Accel-Buffering: no) and compression for text/event-stream, and end the stream cleanly."
)


class PreviewRuleBook(RuleBook):
    """The http check's rules, whose findings keep their fingerprints from one preview URL to the next."""

    def finding(
        self,
        rule_id: str,
        message: str,
        *,
        severity: Severity | None = None,
        subject: str | None = None,
        preview_host: str | None = None,
        where: str | None = None,
        **fields: Any,
    ) -> Finding:
        """A finding of one of the http rules; with `preview_host`, one that survives a new preview URL.

        Every deploy gets a new preview host, so the preview's own host is replaced by a fixed
        label before hashing: a reviewed suppression keeps matching the next preview's finding.
        `where` names what a finding is about when its location's URL is only an example.
        """
        if preview_host is not None:
            location: Location = fields.get("location", Location())
            place = where if where is not None else location.subject()
            stable = place.replace(preview_host, "<preview>")
            fields.setdefault("fingerprint", fingerprint_of(rule_id, f"{stable}\x1f{subject or ''}"))
            subject = None
        return super().finding(rule_id, message, severity=severity, subject=subject, **fields)


RULES = PreviewRuleBook(
    "http",
    [
        RuleDoc(
            "http.preview.unreachable",
            "Preview does not answer",
            Severity.CRITICAL,
            "The gate waited for the preview and got no usable answer; nothing about it can be vouched for, and "
            "users would see the same failure.",
            "Check that the deploy finished and the URL in gate.yml (or --url) is the preview's; raise "
            "checks.http.wait.timeout if the platform is slow to route a new deploy.",
        ),
        RuleDoc(
            "http.tls.untrusted",
            "Certificate not trusted",
            Severity.CRITICAL,
            "Browsers refuse a certificate that does not chain to a trusted root (self-signed, unknown issuer, "
            "missing intermediate); users see a full-page warning and API clients fail.",
            "Serve a certificate from a public CA with its full chain (Let's Encrypt or your platform's managed "
            "certificates); for a private preview, give gate.yml the CA in checks.http.ca_bundle.",
        ),
        RuleDoc(
            "http.tls.expired",
            "Certificate expired or not yet valid",
            Severity.CRITICAL,
            "An expired certificate takes the whole host down for every browser and mobile client.",
            "Renew the certificate now and automate renewal (ACME, managed certificates).",
        ),
        RuleDoc(
            "http.tls.name-mismatch",
            "Certificate does not cover this host name",
            Severity.CRITICAL,
            "A certificate for another name is treated like no certificate at all: browsers block the page.",
            "Issue a certificate whose subjectAltName lists this host (or a wildcard that covers it).",
        ),
        RuleDoc(
            "http.tls.handshake-failed",
            "TLS handshake fails",
            Severity.CRITICAL,
            "The host accepts connections but cannot complete a TLS handshake with a current client.",
            "Check the TLS configuration of the host (protocols, ciphers, certificate and key pairing).",
        ),
        RuleDoc(
            "http.tls.no-https",
            "Declared host does not answer on HTTPS",
            Severity.HIGH,
            "A host listed in the domain map that refuses HTTPS is either broken or points at the wrong place.",
            "Point the host at the deployment and enable HTTPS on it, or remove it from checks.http.hosts.",
        ),
        RuleDoc(
            "http.tls.expiry-imminent",
            "Certificate expires within the fail threshold",
            Severity.CRITICAL,
            "Expiry inside the preset's fail window means renewal is not working; the site goes down on that date.",
            "Renew now and fix the renewal automation; check the ACME client's logs.",
        ),
        RuleDoc(
            "http.tls.expiry-soon",
            "Certificate expires soon",
            Severity.LOW,
            "Expiry inside the warn window is normal only if automated renewal is about to run.",
            "Confirm the renewal job is healthy, or renew by hand.",
        ),
        RuleDoc(
            "http.tls.legacy-protocol",
            "TLS 1.0 or 1.1 accepted",
            Severity.HIGH,
            "TLS 1.0 and 1.1 are deprecated (RFC 8996); accepting them allows downgrade attacks and fails audits.",
            "Set the minimum TLS version to 1.2 on the host, load balancer or CDN.",
        ),
        RuleDoc(
            "http.tls.legacy-untested",
            "Legacy TLS could not be probed",
            Severity.INFO,
            "This machine's TLS library cannot offer TLS 1.0/1.1, so whether the host accepts them was not tested.",
            "Run the gate on a machine whose OpenSSL still supports TLS 1.0/1.1 client handshakes.",
        ),
        RuleDoc(
            "http.tls.http-not-redirected",
            "Plain HTTP is served instead of redirected to HTTPS",
            Severity.HIGH,
            "Users who type the bare name or follow an old http:// link use an unencrypted connection that anyone "
            "on the network can read or change.",
            "Answer every http:// request with a 301/308 redirect to the same path on https://.",
        ),
        RuleDoc(
            "http.redirect.loop",
            "Redirect loop",
            Severity.CRITICAL,
            "A redirect chain that comes back to a URL it already visited never loads; browsers show an error.",
            "Fix the redirect rules so each host redirects once, straight to the canonical https URL.",
        ),
        RuleDoc(
            "http.redirect.too-long",
            "Redirect chain too long",
            Severity.MEDIUM,
            "Each hop costs a round trip, and clients give up after a handful.",
            "Redirect straight to the final URL in one hop.",
        ),
        RuleDoc(
            "http.redirect.downgrade",
            "Redirect downgrades to http://",
            Severity.HIGH,
            "A redirect from https to http throws away the encryption the user already had.",
            "Make every redirect target an https:// URL.",
        ),
        RuleDoc(
            "http.redirect.not-canonical",
            "Host does not end on the canonical host",
            Severity.MEDIUM,
            "apex and www should both end on the one canonical host, or the site lives at two addresses (split "
            "cookies, duplicate content for search engines, CORS surprises).",
            "Redirect this host to the canonical host declared in checks.http.canonical_host.",
        ),
        RuleDoc(
            "http.redirect.multi-hop",
            "Canonical redirect takes more than one hop",
            Severity.LOW,
            "Going http->https->www->path in several hops slows every first visit.",
            "Redirect straight to https://CANONICAL/path in a single 301/308.",
        ),
        RuleDoc(
            "http.redirect.alias-not-redirected",
            "Same site served on a second host without a redirect",
            Severity.MEDIUM,
            "The same content on two hosts splits sessions and search ranking and doubles the attack surface.",
            "Answer requests to this host with a 301/308 to the canonical host.",
        ),
        RuleDoc(
            "http.headers.hsts-missing",
            "Strict-Transport-Security missing",
            Severity.MEDIUM,
            "Without HSTS a browser can be tricked into plain HTTP on the first request (SSL stripping).",
            "Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on HTTPS responses.",
        ),
        RuleDoc(
            "http.headers.hsts-weak",
            "Strict-Transport-Security too weak",
            Severity.MEDIUM,
            "A short max-age or a missing includeSubDomains leaves windows and hosts open to SSL stripping.",
            "Raise max-age to the preset's minimum (launch: 180 days or more) and add includeSubDomains.",
        ),
        RuleDoc(
            "http.headers.csp-missing",
            "Content-Security-Policy missing on HTML",
            Severity.MEDIUM,
            "Without a CSP any injected script runs with the page's full power (XSS becomes account takeover).",
            "Send a Content-Security-Policy on HTML responses; start from `default-src 'self'` and widen it.",
        ),
        RuleDoc(
            "http.headers.csp-unsafe-inline",
            "CSP allows inline scripts",
            Severity.MEDIUM,
            "'unsafe-inline' in script-src switches off most of the protection a CSP gives against XSS.",
            "Use nonces or hashes ('nonce-...', 'strict-dynamic') instead of 'unsafe-inline' for scripts.",
        ),
        RuleDoc(
            "http.headers.nosniff-missing",
            "X-Content-Type-Options: nosniff missing",
            Severity.LOW,
            "Browsers may sniff a response into a script or stylesheet type it was never meant to be.",
            "Send `X-Content-Type-Options: nosniff` on every response.",
        ),
        RuleDoc(
            "http.headers.framing-unprotected",
            "Page can be framed by any site",
            Severity.MEDIUM,
            "A page that any site may frame is open to clickjacking: users click buttons they cannot see.",
            "Send `Content-Security-Policy: frame-ancestors 'self'` (or `X-Frame-Options: DENY`) on HTML.",
        ),
        RuleDoc(
            "http.headers.referrer-policy-missing",
            "Referrer-Policy missing or leaky",
            Severity.LOW,
            "Without a strict Referrer-Policy, full URLs (with tokens or ids in them) leak to other sites.",
            "Send `Referrer-Policy: strict-origin-when-cross-origin` (or stricter) on HTML.",
        ),
        RuleDoc(
            "http.headers.leaks-version",
            "Header reveals server software or version",
            Severity.MEDIUM,
            "Server versions and framework names tell an attacker which known exploits to try first.",
            "Remove X-Powered-By and similar headers, and configure the server to send no version.",
        ),
        RuleDoc(
            "http.errors.stack-trace",
            "Error response shows a stack trace",
            Severity.HIGH,
            "Stack traces reveal code paths, library versions and sometimes secrets or SQL to anyone.",
            "Turn off debug mode in production and return a generic error page; log the trace server-side.",
        ),
        RuleDoc(
            "http.cors.wildcard-credentials",
            "CORS allows any origin with credentials",
            Severity.HIGH,
            "`Access-Control-Allow-Origin: *` with credentials is a misconfiguration; where frameworks emulate it "
            "by reflecting, any site can read the user's data.",
            "Allow only your own origins, and only send Access-Control-Allow-Credentials for those.",
        ),
        RuleDoc(
            "http.cors.reflected-origin",
            "CORS reflects any Origin",
            Severity.HIGH,
            "Echoing whatever Origin arrives means any website can read this authenticated route's responses "
            "in the user's browser.",
            "Compare the Origin with an allow-list of your own origins before echoing it.",
        ),
        RuleDoc(
            "http.cors.null-origin",
            "CORS accepts the null origin",
            Severity.HIGH,
            "`Origin: null` is sent by sandboxed iframes and local files, which any attacker can create.",
            "Never put `null` on the CORS allow-list.",
        ),
        RuleDoc(
            "http.cache.private-cacheable",
            "Authenticated response may be stored by shared caches",
            Severity.HIGH,
            "A CDN or proxy that stores an authenticated response serves one user's data to the next one.",
            "Send `Cache-Control: private, no-store` on authenticated responses (never public or s-maxage).",
        ),
        RuleDoc(
            "http.cache.private-served-from-cache",
            "Authenticated response came from a shared cache",
            Severity.CRITICAL,
            "The edge answered an authenticated request from its cache: other users can receive this data.",
            "Mark authenticated responses `Cache-Control: private, no-store` and purge the CDN cache.",
        ),
        RuleDoc(
            "http.cache.private-unchecked",
            "Authenticated routes not checked for private caching",
            Severity.INFO,
            "Without credentials the gate only sees the refusal, not the private response a shared cache could keep.",
            "Declare checks.http.login (the gate signs in as a test user), or set checks.http.auth_token_env to a "
            "GATE_* environment variable holding a valid token of a test user "
            "who may read these routes.",
        ),
        RuleDoc(
            "http.cache.set-cookie-cacheable",
            "Set-Cookie on a cacheable response",
            Severity.HIGH,
            "A shared cache that stores a response with Set-Cookie hands that cookie (often a session) to "
            "everyone who gets the cached copy.",
            "Send `Cache-Control: private` or `no-store` on any response that sets a cookie.",
        ),
        RuleDoc(
            "http.cookies.not-secure",
            "Session cookie without Secure",
            Severity.HIGH,
            "Without Secure the cookie is also sent over plain HTTP, where anyone on the network can read it.",
            "Set the Secure attribute on the cookie.",
        ),
        RuleDoc(
            "http.cookies.not-httponly",
            "Session cookie readable by scripts",
            Severity.MEDIUM,
            "Without HttpOnly, any XSS can read the session cookie and take over the account.",
            "Set the HttpOnly attribute on session cookies.",
        ),
        RuleDoc(
            "http.cookies.no-samesite",
            "Session cookie without SameSite",
            Severity.LOW,
            "Without SameSite=Lax or Strict, older browsers and some flows send the cookie on cross-site "
            "requests, enabling CSRF.",
            "Set `SameSite=Lax` (or Strict) on session cookies.",
        ),
        RuleDoc(
            "http.edge.no-cdn",
            "No CDN or edge in front of the site",
            Severity.MEDIUM,
            "Without an edge, every request reaches the origin: slow far from it, and one traffic spike or "
            "attack away from going down.",
            "Put the site behind a CDN (your platform's edge network, Cloudflare, CloudFront, Fastly, ...).",
        ),
        RuleDoc(
            "http.edge.static-short-cache",
            "Hashed static asset not cached long",
            Severity.LOW,
            "Content-hashed files never change, so a short max-age makes returning visitors download them again.",
            "Serve content-hashed assets with `Cache-Control: public, max-age=31536000, immutable`.",
        ),
        RuleDoc(
            "http.edge.static-not-cached",
            "Static asset reaches the origin on every request",
            Severity.LOW,
            "An edge that does not keep static assets gives users no speed-up and the origin no relief.",
            "Let the CDN cache static assets (check its cache rules and the assets' Cache-Control).",
        ),
        RuleDoc(
            "http.exposed.file",
            "Sensitive file served publicly",
            Severity.CRITICAL,
            "Files like .env, .git/config or database dumps hand out credentials and source code to anyone who "
            "asks for them by name, and scanners ask within minutes of a deploy.",
            "Remove the file from the deployed output (and the web root), rotate any credential it held, and add "
            "a deny rule for dotfiles.",
        ),
        RuleDoc(
            "http.exposed.source-map",
            "Source map is public",
            Severity.MEDIUM,
            "A public source map hands out the original, commented client source, including internal routes "
            "and anything that should not have been there.",
            "Do not upload source maps to the public host; send them to your error tracker instead.",
        ),
        RuleDoc(
            "http.exposed.source-map-unchecked",
            "Source map not checked",
            Severity.MEDIUM,
            "A bundle names a source map the gate did not check for secrets: it is on a host gate.yml does not "
            "declare (the gate connects only to declared hosts; a bundle could name any server, a cloud metadata "
            "address included), or the preview did not answer for it. Not checked is not passed.",
            "If the map's host is yours, add it to checks.http.hosts so the map is checked; otherwise remove the "
            "SourceMap header or sourceMappingURL comment from the build. A map the preview did not answer for: "
            "run again.",
        ),
        RuleDoc(
            "http.mixed-content",
            "Page loads resources over http://",
            Severity.HIGH,
            "An https page that loads scripts or styles over http:// can be rewritten by anyone on the network; "
            "browsers block active mixed content, breaking the page.",
            "Load every sub-resource over https:// (or with a relative URL).",
        ),
        RuleDoc(
            "http.bundle.local-api",
            "Client bundle points at a local or private address",
            Severity.HIGH,
            "A production bundle that calls localhost or a private network address is broken for every user "
            "(and reveals internal addresses).",
            "Build with the production API base URL (check NEXT_PUBLIC_/VITE_ variables in the build environment).",
        ),
        RuleDoc(
            "http.bundle.staging-host",
            "Client bundle points at a staging host",
            Severity.MEDIUM,
            "A production build that talks to staging mixes real users with test systems and data.",
            "Build with production hosts; list a host in checks.http.crawl.allow_hosts if it is intended.",
        ),
        RuleDoc(
            "http.login.failed",
            "Sign-in fails",
            Severity.CRITICAL,
            "If the test account cannot sign in, users cannot either, and nothing behind the login could be "
            "measured or checked.",
            "Check the login route, the credentials in the CI secrets named in checks.http.login.fields, and the "
            "success marker (status, cookie or token path) gate.yml expects.",
        ),
        RuleDoc(
            "http.access.unauthenticated",
            "Authenticated route serves requests without valid credentials",
            Severity.CRITICAL,
            "A route gate.yml marks as authenticated answered without credentials or with a forged token: "
            "anyone on the internet can read or change what it guards.",
            "Enforce authentication on the route (middleware or a guard that verifies the token's signature "
            "and expiry) and answer 401 or 403 otherwise.",
        ),
        RuleDoc(
            "http.access.not-refused",
            "Authenticated route fails instead of refusing",
            Severity.MEDIUM,
            "Without valid credentials the route errored (or answered something other than 401/403): clients "
            "cannot tell 'sign in again' from an outage, and error paths often leak details.",
            "Check authentication before anything else in the handler and answer 401 (or 403).",
        ),
        RuleDoc(
            "http.access.role",
            "Role-restricted route answers another role",
            Severity.CRITICAL,
            "A route gate.yml restricts to some roles (admin) answered a signed-in account of another role: any "
            "user can reach it.",
            "Check the caller's role on the server for every restricted route, not only in the UI.",
        ),
        RuleDoc(
            "http.route.writes-skipped",
            "Routes that change data were not requested",
            Severity.INFO,
            "Write routes are only loaded when gate.yml says the target is a preview whose data may change.",
            "Set checks.http.allow_writes: true for a preview with throwaway data, or accept that writes are "
            "unmeasured.",
        ),
        RuleDoc(
            "http.ratelimit.missing",
            "No rate limit on an auth-sensitive route",
            Severity.HIGH,
            "Login, OTP and password-reset routes without a rate limit let anyone guess passwords and codes or "
            "flood users with emails and texts.",
            "Limit attempts per account and per IP (429 with Retry-After) on the route, or tell gate.yml the signal "
            "your limiter uses (rate_limit.statuses / rate_limit.header).",
        ),
        RuleDoc(
            "http.stream.stalled",
            "Stream stalls",
            Severity.HIGH,
            "The stream went silent past its stall budget: users watch a frozen answer, and many clients time out.",
            _STREAM_FIX,
        ),
        RuleDoc(
            "http.stream.broken",
            "Stream breaks",
            Severity.HIGH,
            "The stream failed before it ended: users get half an answer.",
            _STREAM_FIX,
        ),
        RuleDoc(
            "http.stream.unclean-end",
            "Stream ends uncleanly",
            Severity.MEDIUM,
            "The connection closed without a clean end of the "
            "response: clients cannot tell a complete answer from a cut one.",
            _STREAM_FIX,
        ),
        RuleDoc(
            "http.stream.empty",
            "Stream carries nothing",
            Severity.MEDIUM,
            "The streaming route ended without one event: the feature shows nothing.",
            _STREAM_FIX,
        ),
        RuleDoc(
            "http.stream.buffered",
            "Stream is buffered",
            Severity.MEDIUM,
            "Every byte arrived in one burst at the end: something between "
            "the app and users buffers the stream, so it does not feel streamed and can time out.",
            _STREAM_FIX,
        ),
        RuleDoc(
            "http.stream.status",
            "Stream answers an error status",
            Severity.HIGH,
            "The streaming route did not answer 2xx: the feature it serves is down.",
            _STREAM_FIX,
        ),
    ],
)
