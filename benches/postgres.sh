#!/usr/bin/env bash
# `cadence run --clock virtual` on PostgreSQL against the same run on an SQLite file, measured in
# one hyperfine run (each run on a new database).
#
#   bash benches/postgres.sh [FOLDER] [CONTACTS]
#
# Needs hyperfine, psql, and the PostgreSQL server at 127.0.0.1:5432 (user postgres, trust
# authentication, database `test`). Makes and drops the database `cadence_bench`.
set -euo pipefail
dir=${1:-/tmp/cadence-pg-bench}
contacts=${2:-10000}
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/cadence"
mkdir -p "$dir"
"$bin" generate "$dir" --contacts "$contacts" --events $((contacts * 3)) >/dev/null
url=postgres://postgres@127.0.0.1:5432/cadence_bench
cat > "$dir/one.sh" <<SH
#!/usr/bin/env bash
set -e
cd "$dir"
if [ "\$1" = postgres ]; then
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS cadence_bench WITH (FORCE)" >/dev/null
  psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE cadence_bench" >/dev/null
  db=$url
else
  rm -f live.db live.db-wal live.db-shm live.db.lock
  db=live.db
fi
"$bin" run trial.cadence --contacts contacts.csv --events events.csv --db "\$db" --clock virtual >/dev/null 2>&1
SH
hyperfine -N -w 1 -r 5 "bash $dir/one.sh sqlite" "bash $dir/one.sh postgres"
# The journal on PostgreSQL is the simulation, byte for byte.
a=$("$bin" trace --db "$url" --format jsonl | md5sum)
b=$(cd "$dir" && "$bin" simulate trial.cadence --contacts contacts.csv --events events.csv --format jsonl 2>/dev/null | md5sum)
[ "$a" = "$b" ] && echo "trace --db $url equals simulate ($a)" || { echo "the journal differs from simulate"; exit 1; }
psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS cadence_bench WITH (FORCE)" >/dev/null
