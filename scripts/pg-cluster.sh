#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for trying `ncd tune --storage postgres://...`
# on one machine (the tests start their own, see internal/pgtest).
#   eval "$(scripts/pg-cluster.sh start)"   # sets NCD_PG_DIR and NCD_PG (a DSN)
#   scripts/pg-cluster.sh restart|stop      # uses NCD_PG_DIR
# As root, the server runs as the user postgres (initdb refuses root).
set -euo pipefail
bin=${NCD_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$bin/pg_ctl" ] || { echo "no PostgreSQL server binaries (apt-get install postgresql, or set NCD_PG_BIN)" >&2; exit 2; }
as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-}" in
start)
	dir=$(mktemp -d /tmp/ncd-pg-XXXXXX)
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	port=${NCD_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
	as "$bin/initdb" -D "$dir/db" -U ncd --auth=trust -N >/dev/null
	echo "$port" >"$dir/port"
	as "$bin/pg_ctl" -D "$dir/db" -l "$dir/log" -w -t 60 -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
	echo "export NCD_PG_DIR=$dir NCD_PG=postgres://ncd@127.0.0.1:$port/postgres?sslmode=disable"
	;;
restart)
	port=$(cat "$NCD_PG_DIR/port")
	as "$bin/pg_ctl" -D "$NCD_PG_DIR/db" -m fast -w stop >/dev/null
	sleep "${2:-3}"
	as "$bin/pg_ctl" -D "$NCD_PG_DIR/db" -l "$NCD_PG_DIR/log" -w -t 60 -o "-p $port -k $NCD_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
	;;
stop)
	as "$bin/pg_ctl" -D "$NCD_PG_DIR/db" -m immediate -w stop >/dev/null || true
	rm -rf "$NCD_PG_DIR"
	;;
*) echo "usage: $0 start|restart [seconds down]|stop" >&2; exit 2 ;;
esac
