#!/usr/bin/env bash
# The voter roll's benchmarks (issue 6), each against a baseline from the same run:
#   import of N synthetic records (sealed + blind-indexed + chained) into SQLite and PostgreSQL
#   vs PostgreSQL `COPY` of the same CSV into a plain table with the same two indexes
#   (voter id; last, first, DOB, ZIP), run back to back, and lookup latency under load with wrk
#   on loopback (with the default 1 ms floor and without it).
# Usage: scripts/roll-bench.sh N [PG_ADMIN_URL]   (e.g. 1000000 postgres://postgres@127.0.0.1:5432/test)
# Env: ROLL_BENCH_DIR (scratch, default /tmp/roll-bench), ROLL_BENCH_DB (database name),
#      ROLL_BENCH_PORT (loopback port for the lookup server), ROLL_BENCH_PROFILE (release),
#      ROLL_BENCH_SQLITE=0 (skip the SQLite import, its audit and the lookups: the 22.6M run on
#      PostgreSQL alone, where disk is short).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
PG=${2:-postgres://postgres@127.0.0.1:5432/test}
W=${ROLL_BENCH_DIR:-/tmp/roll-bench}
DB=${ROLL_BENCH_DB:-roll_bench_$$}
PORT=${ROLL_BENCH_PORT:-18089}
PROFILE=${ROLL_BENCH_PROFILE:-release}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build -q --profile "$PROFILE" -p urne
DIR=$PROFILE; [ "$PROFILE" = dev ] && DIR=debug
URNE="$CARGO_TARGET_DIR/$DIR/urne"
rm -rf "$W" && mkdir -p "$W/data" "$W/pgdata"
"$URNE" roll keygen --out "$W/master.key" >/dev/null
t() { /usr/bin/time -f "%e s, peak RSS %M KiB" "$@"; }
PW=correct-horse-battery
staff() { # data-dir [pg-url]: the first admin, then two supervisors to import and approve
  local url=(); [ -n "${2:-}" ] && url=(--database-url "$2")
  URNE_ROLL_NEW_PASSWORD=$PW "$URNE" roll staff-add --data "$1" "${url[@]}" --master-key-file "$W/master.key" --roll-id bench ada --role admin >/dev/null
  for s in sam sue; do
    URNE_ROLL_PASSWORD=$PW URNE_ROLL_NEW_PASSWORD=$PW "$URNE" roll staff-add --data "$1" "${url[@]}" --master-key-file "$W/master.key" --as ada "$s" --role supervisor >/dev/null
  done
}
import() { # data-dir [pg-url]
  local url=(); [ -n "${2:-}" ] && url=(--database-url "$2")
  URNE_ROLL_PASSWORD=$PW URNE_ROLL_APPROVER_PASSWORD=$PW t "$URNE" roll import --data "$1" "${url[@]}" \
    --master-key-file "$W/master.key" --as sam --approver sue "$W/voters.csv"
}

echo "== generate $N records"
t "$URNE" roll generate "$N" --seed 7 --out "$W/voters.csv"
ls -l "$W/voters.csv" | awk '{print $5 " bytes"}'

echo "== baseline: PostgreSQL COPY into a plain indexed table"
psql -q "$PG" -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
BASE="${PG%/*}/$DB"
COLS=$(head -1 "$W/voters.csv" | sed 's/,/ text, /g; s/$/ text/')
psql -q "$BASE" -c "CREATE TABLE plain ($COLS, PRIMARY KEY (voter_id)); CREATE INDEX ON plain (last, first, dob, res_zip);"
s=$(date +%s.%N)
psql -q "$BASE" -c "\\copy plain FROM '$W/voters.csv' CSV HEADER"
e=$(date +%s.%N)
COPY_S=$(echo "$e - $s" | bc)
echo "COPY: $COPY_S s, $(echo "$N / $COPY_S" | bc) rows/s"
psql -q "$BASE" -c "DROP TABLE plain"

SQLITE=${ROLL_BENCH_SQLITE:-1}
SQLITE_S=0
if [ "$SQLITE" = 1 ]; then
echo "== urne roll import into SQLite"
staff "$W/data"
s=$(date +%s.%N)
import "$W/data"
e=$(date +%s.%N)
SQLITE_S=$(echo "$e - $s" | bc)
ls -l "$W/data/roll.sqlite" | awk '{print "roll.sqlite: " $5 " bytes"}'
fi

echo "== urne roll import into PostgreSQL"
staff "$W/pgdata" "$BASE"
s=$(date +%s.%N)
import "$W/pgdata" "$BASE"
e=$(date +%s.%N)
PG_S=$(echo "$e - $s" | bc)
psql -qAt "$BASE" -c "SELECT 'roll tables: ' || pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c WHERE relname LIKE 'roll_%' AND relkind = 'r'"

echo "== ratios (import rows/s over COPY rows/s; >= 1.0 is the goal)"
[ "$SQLITE" = 1 ] && echo "sqlite: $(echo "scale=3; $COPY_S / $SQLITE_S" | bc)x"
echo "postgres: $(echo "scale=3; $COPY_S / $PG_S" | bc)x"
psql -q "$PG" -c "DROP DATABASE $DB"
[ "$SQLITE" = 1 ] || exit 0

echo "== audit (SQLite)"
t "$URNE" roll audit --data "$W/data" --master-key-file "$W/master.key" | head -1

echo "== lookup latency under load (wrk, loopback, SQLite roll)"
if command -v wrk >/dev/null; then
  # 1000 present and 1000 absent queries, rotated by a wrk Lua script.
  python3 - "$W/voters.csv" "$W/lookup.lua" <<'PY'
import csv, json, sys
rows = []
for i, r in enumerate(csv.DictReader(open(sys.argv[1]))):
    if i == 1000:
        break
    rows.append(r)
qs = []
for r in rows:
    qs.append({"last": r["last"], "first": r["first"], "dob": r["dob"], "zip": r["res_zip"]})
    qs.append({"last": r["last"], "first": r["first"] + "x", "dob": r["dob"], "zip": r["res_zip"]})
with open(sys.argv[2], "w") as f:
    f.write("wrk.method = 'POST'\nwrk.headers['Content-Type'] = 'application/json'\nlocal bodies = {\n")
    for q in qs:
        f.write("  %s,\n" % json.dumps(json.dumps(q)))
    f.write("}\nlocal i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, '/roll/v1/lookup', nil, bodies[i])\nend\n")
PY
  for FLOOR in 1000 0; do
    echo "-- floor ${FLOOR} us"
    "$URNE" serve --data "$W/data" --listen 127.0.0.1:$PORT --roll --roll-master-key-file "$W/master.key" \
      --roll-lookups-per-second 1000000 --roll-lookup-burst 1000000 --roll-lookup-floor-us $FLOOR >/dev/null 2>&1 &
    SRV=$!
    sleep 3
    wrk -t2 -c16 -d20s --latency -s "$W/lookup.lua" http://127.0.0.1:$PORT | sed -n '/Latency Distribution/,/Transfer/p'
    grep VmHWM /proc/$SRV/status
    kill $SRV
    wait $SRV 2>/dev/null || true
  done
else
  echo "wrk not installed; skipped"
fi
