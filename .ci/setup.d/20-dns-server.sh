#!/usr/bin/env bash
# The dns check's tests run NSD, a real authoritative DNS server, on 127.0.0.1 at a high port
# (tests/support/nsd_server.py starts and stops it; the packaged system service is not used).
set -euo pipefail
if command -v nsd >/dev/null 2>&1 || [ -x /usr/sbin/nsd ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends nsd
# The package starts a system nsd on port 53; the tests need none, and it must not hold the port.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nsd 2>/dev/null; then
  systemctl stop nsd || true
  systemctl disable nsd || true
fi
