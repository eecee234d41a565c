"""How the gate trusts a preview's certificates: one definition for every check that connects."""

from __future__ import annotations

import ssl
from pathlib import Path


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """System roots plus the optional private CA, verified the way current browsers and Python do."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    # Python 3.13 turns these on by default; set them here so 3.11 judges certificates the same way.
    context.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
