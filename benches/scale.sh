#!/usr/bin/env bash
# Several `cadence run` processes on one PostgreSQL database, next to pgbench as the yardstick
# of what this server commits, measured in one run:
#
#   bash benches/scale.sh [FOLDER] [CONTACTS] [PARTITIONS] [WINDOW]
#
# 1. pgbench (TPC-B-like, scale 10, 2 clients, 20 s) on a scratch database: transactions/s.
# 2. The benchmark workload (`cadence generate`) through 1 runner, then through 2 runners
#    together, each on a new database of PARTITIONS partitions, virtual clock with --window
#    WINDOW: wall time and
#    transitions/s (inputs applied + timers fired, summed over the runners), and the claim
#    latency (CADENCE_TIMINGS) each runner prints.
# 3. The journal written by the 2 runners is the simulation (sorted comparison).
#
# Needs pgbench, psql and the server at 127.0.0.1:5432 (user postgres, trust authentication,
# database `test`). Makes and drops the databases cadence_scale and cadence_pgbench.
set -euo pipefail
dir=${1:-/tmp/cadence-scale-bench}
contacts=${2:-100000}
parts=${3:-8}
window=${4:-1h}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/cadence"
mkdir -p "$dir"
"$bin" generate "$dir" --contacts "$contacts" --events $((contacts * 3)) --force >/dev/null
server=postgres://postgres@127.0.0.1:5432
sql() { psql -h 127.0.0.1 -U postgres -d test -qAtc "$1"; }
fresh() {
  sql "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
  sql "CREATE DATABASE $1" >/dev/null
}

fresh cadence_pgbench
pgbench -h 127.0.0.1 -U postgres -i -q -s 10 cadence_pgbench >/dev/null 2>&1
tps=$(pgbench -h 127.0.0.1 -U postgres -c 2 -j 2 -T 20 cadence_pgbench 2>/dev/null |
  sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
sql "DROP DATABASE IF EXISTS cadence_pgbench WITH (FORCE)" >/dev/null
echo "pgbench (TPC-B-like, scale 10, 2 clients, 20 s): $tps transactions/s"

url=$server/cadence_scale
# Runs N runners together on a new database; prints the wall time and the transitions/s.
runners() {
  local n=$1
  fresh cadence_scale
  local t0 t1
  t0=$(date +%s.%N)
  for i in $(seq 1 "$n"); do
    (cd "$dir" && CADENCE_TIMINGS=1 "$bin" run trial.cadence --contacts contacts.csv \
      --events events.csv --db "$url" --clock virtual --partitions "$parts" --window "$window" \
      >/dev/null 2>"$dir/runner$n.$i.log") &
  done
  wait
  t1=$(date +%s.%N)
  local applied=0 fired=0
  for i in $(seq 1 "$n"); do
    a=$(sed -n 's/.* \([0-9]*\) inputs applied.*/\1/p' "$dir/runner$n.$i.log" | tail -1)
    f=$(sed -n 's/.* \([0-9]*\) timers fired.*/\1/p' "$dir/runner$n.$i.log" | tail -1)
    applied=$((applied + ${a:-0}))
    fired=$((fired + ${f:-0}))
  done
  local secs
  secs=$(echo "$t1 - $t0" | bc -l)
  printf '%d runner(s): %.2f s; %d inputs applied + %d timers fired = %d transitions, %.0f transitions/s (%.2f x pgbench)\n' \
    "$n" "$secs" "$applied" "$fired" $((applied + fired)) \
    "$(echo "($applied + $fired) / $secs" | bc -l)" \
    "$(echo "($applied + $fired) / $secs / $tps" | bc -l)"
  for i in $(seq 1 "$n"); do
    grep -h "claims of a partition" "$dir/runner$n.$i.log" | sed "s/^/  runner $i: /" || true
  done
}
runners 1
runners 2
# The journal the 2 runners wrote is the simulation (records of one instant come partition by
# partition: compared sorted).
a=$("$bin" trace --db "$url" --format jsonl | sort | md5sum)
b=$(cd "$dir" && "$bin" simulate trial.cadence --contacts contacts.csv --events events.csv --format jsonl 2>/dev/null | sort | md5sum)
[ "$a" = "$b" ] && echo "trace of the 2 runners equals simulate, sorted ($a)" || { echo "the journal differs from simulate"; exit 1; }
sql "DROP DATABASE IF EXISTS cadence_scale WITH (FORCE)" >/dev/null
