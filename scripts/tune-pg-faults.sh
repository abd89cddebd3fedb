#!/usr/bin/env bash
# The fault drill of a shared tune (issue 15's closing measurements), on one
# machine with a throwaway PostgreSQL:
#   1 worker (the reference), 2 workers (speed-up), then WORKERS workers with
#   one killed (kill -9) mid-trial, one paused (kill -STOP) past --grace then
#   continued, and a PostgreSQL restart mid-study. Each study must end with
#   exactly TRIALS trials, each number once, with the reference's parameters
#   and fold scores.
#   scripts/tune-pg-faults.sh [TRIALS=32] [WORKERS=4]
# Env: ROWS (pendigits training rows, 2000), EPOCHS (150), GRACE (5s),
# MODE=speed (only the 1- and 2-worker runs).
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-32} workers=${2:-4}
rows=${ROWS:-2000} epochs=${EPOCHS:-150} grace=${GRACE:-5s}
make -s build
eval "$(scripts/pg-cluster.sh start)"
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; scripts/pg-cluster.sh stop; rm -rf "$out"' EXIT
head -$((rows + 1)) testdata/pendigits_train.csv >"$out/pen.csv"
args=(--data "$out/pen.csv" --novel 0,3 --trials "$trials" --folds 3 --epochs "$epochs" --k true --threads 1
	--storage "$NCD_PG" --grace "$grace" --heartbeat 1s)
echo "pendigits $rows rows (0,3 novel), $trials trials x 3 folds, $epochs epochs, --k true, --threads 1 per worker; $(nproc) cores"

# run STUDY N [HOOK]: N workers in the background; HOOK runs meanwhile.
run() {
	local name=$1 n=$2 hook=${3:-true} t0 pids=()
	mkdir -p "$out/$name"
	t0=$(date +%s.%N)
	for w in $(seq "$n"); do
		mkdir -p "$out/$name/w$w"
		bin/ncd tune "${args[@]}" --study "$name" --worker "w$w" --out "$out/$name/w$w/best.yaml" 2>"$out/$name/w$w.log" &
		pids+=($!)
		echo "${pids[-1]}" >"$out/$name/w$w.pid"
	done
	$hook "$name"
	for p in "${pids[@]}"; do wait "$p" || true; done
	echo "$name: $n workers, $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s wall, load average $(cut -d' ' -f1-3 /proc/loadavg)"
}
status() { bin/ncd tune --storage "$NCD_PG" --study "$1" --status --json; }
# running_trial STUDY WORKER: waits until WORKER runs a trial, prints its
# number (nothing if the study finished first)
running_trial() {
	local n
	while :; do
		n=$(status "$1" | python3 -c "
import json,sys; s=json.load(sys.stdin)
r=[t['number'] for t in s['trials'] if t['state']=='running' and t['worker']=='$2']
print(r[0] if r else ('done' if s['counts']['complete']+s['counts']['failed']==s['total'] else ''))")
		[ -n "$n" ] && { echo "$n"; return; }
		sleep 0.1
	done
}
kill9() {
	local n
	sleep 8
	n=$(running_trial "$1" w2)
	kill -9 "$(cat "$out/$1/w2.pid")"
	echo "kill: kill -9 worker w2 while it ran trial $(running_trial "$1" w2)"
}
stop() {
	local n
	sleep 8
	n=$(running_trial "$1" w2)
	kill -STOP "$(cat "$out/$1/w2.pid")"
	echo "stop: kill -STOP worker w2 while it ran trial $(running_trial "$1" w2); continued after 15 s (--grace $grace)"
	sleep 15
	kill -CONT "$(cat "$out/$1/w2.pid")"
}
restart() {
	while [ "$(status "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['counts']['complete'])")" -lt $((trials / 3)) ]; do sleep 1; done
	echo "restart: PostgreSQL stopped (-m fast) at $((trials / 3)) complete trials, down 5 s, started"
	scripts/pg-cluster.sh restart 5
}
run one 1
run two 2
studies="one two"
if [ "${MODE:-}" != speed ]; then
	run kill "$workers" kill9
	run stop "$workers" stop
	run restart "$workers" restart
	studies="one two kill stop restart"
fi
for s in $studies; do status "$s" >"$out/$s.json"; done
python3 - "$out" "$trials" $studies <<'PY'
import json, sys
out, n = sys.argv[1], int(sys.argv[2])
def load(s): return json.load(open(f"{out}/{s}.json"))
ref = load("one")
def key(t): return (t["number"], json.dumps(t["params"], sort_keys=True), [(f["fold"], f["k"], f["acc"], f["nmi"], f["ari"]) for f in t["scores"]])
for s in sys.argv[3:]:
    st = load(s)
    nums = [t["number"] for t in st["trials"]]
    complete = sum(t["state"] == "complete" for t in st["trials"])
    same = [key(a) == key(b) for a, b in zip(st["trials"], ref["trials"])]
    retried = [(t["number"], t["attempt"], t["worker"], t.get("refused_results", 0)) for t in st["trials"] if t["attempt"] > 1 or t.get("refused_results")]
    print(f"{s:8s} trials {len(nums)} complete {complete} distinct numbers {len(set(nums))} "
          f"same params+fold scores as 1 worker: {sum(same)}/{n}  retried (number, attempt, by, refused): {retried}  "
          f"best trial {st['best']['trial']} ACC {st['best']['acc']:.4f}")
PY
echo "worker logs of the faults:"
grep -h "lost\|refused\|dropped\|connection" "$out"/*/w*.log | sort | uniq -c | sort -rn | head -20
grep -h "per trial in the database" "$out"/{one,two}/w*.log || true
