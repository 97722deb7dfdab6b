#!/usr/bin/env bash
# Benchmarks of `cadence run` against baselines measured in the same run (docs/performance.md):
#
#   1. the 100k-contact / 300k-event workload: `run --clock virtual` (no SMTP) against
#      `simulate` on the same files, with peak memory;
#   2. durable inputs per second on SQLite (synchronous=FULL): group commit (the default
#      batches) against one commit per input (`--batch 1`), on the same smaller workload;
#   3. messages per second handed to a local SMTP server (aiosmtpd on loopback), with pools of
#      several sizes, from an outbox filled beforehand.
#
# Usage: bash benches/runner.sh [WORKDIR]   (needs hyperfine and Debian's python3-aiosmtpd)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
mkdir -p "$work"
cargo build --release --quiet
bin=$PWD/target/release/cadence
sink=$PWD/tests/support/smtp_sink.py
for tool in hyperfine sqlite3 /usr/bin/time /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "benches/runner.sh needs $tool" >&2; exit 2; }
done
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null ||
  { echo "benches/runner.sh needs python3-aiosmtpd (apt-get install python3-aiosmtpd)" >&2; exit 2; }

echo "== 1. 100,000 contacts, 300,000 events: run --clock virtual against simulate"
big=$work/big
"$bin" generate "$big" --force >/dev/null
hyperfine --warmup 1 --runs 5 \
  --prepare "rm -f $big/live.db $big/live.db-wal $big/live.db-shm" \
  -n simulate "$bin simulate $big/trial.cadence --contacts $big/contacts.csv --events $big/events.csv --format jsonl > /dev/null" \
  -n run "$bin run $big/trial.cadence --db $big/live.db --contacts $big/contacts.csv --events $big/events.csv --clock virtual > /dev/null 2>&1"
rm -f "$big"/live.db*
/usr/bin/time -f "peak memory: run %M KB" "$bin" run "$big/trial.cadence" --db "$big/live.db" \
  --contacts "$big/contacts.csv" --events "$big/events.csv" --clock virtual 2>&1 >/dev/null | tail -1
/usr/bin/time -f "peak memory: simulate %M KB" "$bin" simulate "$big/trial.cadence" \
  --contacts "$big/contacts.csv" --events "$big/events.csv" --format jsonl 2>&1 >/dev/null | tail -1
"$bin" trace --db "$big/live.db" --format jsonl | cmp - <("$bin" simulate "$big/trial.cadence" \
  --contacts "$big/contacts.csv" --events "$big/events.csv" --format jsonl 2>/dev/null) &&
  echo "the run's trace is byte-identical to simulate's"

echo "== 2. durable inputs/s: group commit against one commit per input"
small=$work/small
"$bin" generate "$small" --contacts 1000 --events 3000 --force >/dev/null
inputs=4000
runs="$bin run $small/trial.cadence --db $small/live.db --contacts $small/contacts.csv --events $small/events.csv --clock virtual"
hyperfine --runs 5 --export-json "$work/durable.json" \
  --prepare "rm -f $small/live.db $small/live.db-wal $small/live.db-shm" \
  -n "group commit" "$runs > /dev/null 2>&1" \
  -n "one commit per input" "$runs --batch 1 > /dev/null 2>&1"
/usr/bin/python3 - "$work/durable.json" "$inputs" <<'EOF'
import json, sys
r = {x["command"]: min(x["times"]) for x in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
g, o = r["group commit"], r["one commit per input"]
print(f"group commit: {n / g:,.0f} inputs/s; one commit per input: {n / o:,.0f} inputs/s; ratio {o / g:.1f}x")
EOF
rm -f "$big"/live.db*
/usr/bin/python3 - "$bin" "$big" <<'EOF'
import subprocess, sys, time
bin, big = sys.argv[1], sys.argv[2]
t = time.monotonic()
subprocess.run([bin, "run", f"{big}/trial.cadence", "--db", f"{big}/live.db", "--contacts",
                f"{big}/contacts.csv", "--events", f"{big}/events.csv", "--clock", "virtual"],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
s = time.monotonic() - t
print(f"group commit on the 100k workload: 400,000 inputs (and their timers) in {s:.2f} s: {400000 / s:,.0f} inputs/s")
EOF

echo "== 3. messages/s handed to a local SMTP server"
mail=$work/mail
"$bin" generate "$mail" --contacts 2000 --events 6000 --force >/dev/null
rm -f "$mail"/base.db*
"$bin" run "$mail/trial.cadence" --db "$mail/base.db" --contacts "$mail/contacts.csv" \
  --events "$mail/events.csv" --clock virtual >/dev/null 2>&1
emails=$(sqlite3 "$mail/base.db" "select count(*) from outbox where state = 'pending'")
echo "$emails emails waiting in the outbox"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/python3 "$sink" "$port" "$mail/smtp.jsonl" --ids-only >/dev/null &
sink_pid=$!
trap 'kill $sink_pid 2>/dev/null || true' EXIT
sleep 1
cmds=()
for pool in 4 16 32 64; do
  cmds+=(-n "pool $pool" "$bin run $mail/trial.cadence --db $mail/live.db --clock virtual --smtp smtp://127.0.0.1:$port --smtp-pool $pool > /dev/null 2>&1")
done
hyperfine --runs 3 --export-json "$work/smtp.json" \
  --prepare "rm -f $mail/live.db*; cp $mail/base.db $mail/live.db" "${cmds[@]}"
/usr/bin/python3 - "$work/smtp.json" "$emails" <<'EOF'
import json, sys
n = int(sys.argv[2])
for x in json.load(open(sys.argv[1]))["results"]:
    print(f"{x['command']}: {n / min(x['times']):,.0f} messages/s")
EOF

echo "== 4. durable events/s through POST /api/events (batches of 100, from a second process)"
api=$work/api
rm -rf "$api"
"$bin" generate "$api" --contacts 10000 --events 1 >/dev/null
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" run "$api/trial.cadence" --db "$api/live.db" --contacts "$api/contacts.csv" \
  --listen "127.0.0.1:$port" >/dev/null 2>&1 &
runner_pid=$!
trap 'kill $sink_pid $runner_pid 2>/dev/null || true' EXIT
sleep 3
token=$("$bin" token create --db "$api/live.db" --name load 2>/dev/null)
/usr/bin/python3 benches/api_load.py "$port" "$token" "$api/contacts.csv" --seconds 10 --clients 4 --batch 100
/usr/bin/python3 benches/api_load.py "$port" "$token" "$api/contacts.csv" --seconds 10 --clients 1 --batch 1
kill -TERM $runner_pid
wait $runner_pid || true
