#!/usr/bin/env bash
# The tests take their contracts from the publishers' npm packages (Microsoft's SARIF multitool,
# GitHub's OpenAPI description in @octokit/openapi; see tests/support/contracts.py), so npm must exist.
# Debian ships npm apart from nodejs. The download itself happens in scripts/test, into a cache.
set -euo pipefail
if command -v npm >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends nodejs npm
