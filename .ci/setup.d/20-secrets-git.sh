#!/usr/bin/env bash
# The secrets check and its tests drive real git repositories (history, diffs, submodules,
# shallow clones). Idempotent; runs as root on a fresh Debian machine.
set -euo pipefail
if ! command -v git >/dev/null 2>&1; then
  apt-get update
  apt-get install -y --no-install-recommends git ca-certificates
fi
