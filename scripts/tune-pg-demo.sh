#!/usr/bin/env bash
# One-command local demo of a shared tune: a throwaway PostgreSQL cluster,
# WORKERS `ncd tune` processes on one study (as on WORKERS machines), then
# the study's status, and the cluster is removed.
#   scripts/tune-pg-demo.sh [WORKERS=3] [TRIALS=12]
set -euo pipefail
cd "$(dirname "$0")/.."
workers=${1:-3} trials=${2:-12}
make -s build
eval "$(scripts/pg-cluster.sh start)"
out=$(mktemp -d)
trap 'scripts/pg-cluster.sh stop; rm -rf "$out"' EXIT
head -1201 testdata/pendigits_train.csv >"$out/pen.csv"
echo "== $workers workers, $trials trials on 1200 pendigits rows (classes 0,3 novel), study 'demo' in $NCD_PG"
for w in $(seq "$workers"); do
	mkdir -p "$out/w$w" # as on another machine
	bin/ncd tune --storage "$NCD_PG" --study demo --data "$out/pen.csv" --novel 0,3 --trials "$trials" --folds 3 \
		--epochs 100 --k true --threads 1 --out "$out/w$w/best.yaml" --worker "worker$w" 2>"$out/w$w.log" &
done
sleep 4
echo "== while they run: ncd tune --storage \$NCD_PG --study demo --status"
bin/ncd tune --storage "$NCD_PG" --study demo --status
wait
echo "== every worker wrote the same best.yaml:"; md5sum "$out"/w*/best.yaml
echo "== worker1's log:"; cat "$out/w1.log"
echo "== final status"
bin/ncd tune --storage "$NCD_PG" --study demo --status
