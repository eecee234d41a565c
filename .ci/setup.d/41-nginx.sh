#!/usr/bin/env bash
# nginx from the Debian package: benchmarks/load_nginx.py starts one worker of it on 127.0.0.1 with
# its own temporary config as the server the load engine and wrk are measured against (the packaged
# system service is not used).
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends nginx
# The package may start a system nginx on port 80; the benchmark needs none, and it must not hold the port.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  systemctl stop nginx || true
  systemctl disable nginx || true
fi
