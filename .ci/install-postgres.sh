#!/usr/bin/env bash
# Installs Debian's PostgreSQL server when it is missing: the tests of
# `ncd tune --storage postgres://...` start a throwaway cluster with its
# initdb and pg_ctl (internal/pgtest). Without it those tests are skipped
# with a message, so a failed install does not fail CI here.
set -uo pipefail
if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || [ -n "${NCD_PG_BIN:-}" ]; then
	echo "postgresql: $(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
	echo "postgresql: not installed and cannot install it (needs root and apt-get); its tests will be skipped" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null &&
	apt-get install -y -qq --no-install-recommends postgresql >/dev/null ||
	echo "postgresql: apt-get install failed; its tests will be skipped" >&2
# The package starts a cluster on 5432; the tests use their own.
exit 0
