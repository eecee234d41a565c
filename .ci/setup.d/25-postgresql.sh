#!/usr/bin/env bash
# A real PostgreSQL server for the tests of everything that meets one (migrations, restore, the
# watch store): the tests start throw-away clusters through gate.postgres; no system service runs.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql
# The package may start a cluster on 5432; the tests use their own, so the system one stops.
if command -v pg_ctlcluster >/dev/null 2>&1; then
  for cluster in /etc/postgresql/*/main; do
    [ -d "$cluster" ] || continue
    version=$(basename "$(dirname "$cluster")")
    pg_ctlcluster "$version" main stop 2>/dev/null || true
  done
fi
