#!/usr/bin/env bash
# A real browser for the handover test: headless Chromium screenshots the generated HTML page so a
# test (and a reviewer) sees it is readable. Debian's package; nothing is fetched at run time.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
