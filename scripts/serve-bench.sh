#!/usr/bin/env bash
# Serving benchmarks (issue 4), each against a baseline in the same run:
#   http  `urne serve` vs nginx serving `urne export` of the same state: wrk on loopback, the
#         election summary HTML and summary JSON, as plain GETs, as a browser sends them
#         (Accept-Encoding) and as a browser revalidates (If-None-Match → 304). Servers and wrk
#         alternate, several rounds; req/s and p99 ratios urne/nginx.
#   sse   `cargo bench -p urne --bench sse_fanout`: live-event subscribers held by one process,
#         time for a release to reach them all, server memory per subscriber.
#   downloads  a whole state (default: the PA 2024 precinct files) released once; its NIST
#         JSON download (hundreds of MB) fetched by wrk from `urne serve` and from nginx
#         serving the same bytes, plain and gzip-accepting; the first request's time; how long
#         the summary JSON takes while the download is being fetched; urne's RSS.
# Usage: scripts/serve-bench.sh [http|sse|downloads|all] [CSV…]
#   CSV: OpenElections precinct files released as one snapshot (default: Fulton County, GA 2018
#   from ../shared/data). Settings: ROUNDS (3), DURATION (10s), CONNECTIONS (64), PORT (27080;
#   nginx PORT+1), PIN (1: server on CPU 0, wrk on CPU 1, one worker each; 0: no pinning, two
#   threads each), SERVE_BENCH_DIR (/work/scratch-serve-bench or /tmp/serve-bench), and the
#   sse_fanout settings (SSE_BENCH_N, …) for `sse`. URNE_BIN: an urne binary to measure
#   instead of building this tree's (to compare two builds in one session).
# Needs nginx and wrk (installed with apt-get when missing and root). nginx runs in the
# foreground of this script with a generated config in the scratch dir (no system service).
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-all}
[ $# -gt 0 ] && shift
SHARED=${URNE_SHARED_DATA:-../shared/data}
DEFAULT_CSV=$SHARED/openelections/ga-2018-general-precinct/20181106__ga__general__fulton__precinct.csv
if [ $# -gt 0 ]; then CSVS=("$@"); else CSVS=("$DEFAULT_CSV"); fi
CSVS_GIVEN=("$@")
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-27080}
NGINX_PORT=$((PORT + 1))
PIN=${PIN:-1}
if [ -d /work ] && [ -w /work ]; then DEFAULT_DIR=/work/scratch-serve-bench; else DEFAULT_DIR=/tmp/serve-bench; fi
W=${SERVE_BENCH_DIR:-$DEFAULT_DIR}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
ELECTION=2018-11-06-general

need() {
  command -v "$1" >/dev/null && return
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -q "$2" >/dev/null
  else
    echo "serve-bench: $1 is missing: sudo apt-get install $2" >&2
    exit 1
  fi
}

if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
  SERVER_CPU=(taskset -c 0); CLIENT_CPU=(taskset -c 1); WRK_THREADS=1
else
  SERVER_CPU=(); CLIENT_CPU=(); WRK_THREADS=2
fi

run_sse() {
  echo "== SSE fan-out (cargo bench -p urne --bench sse_fanout)"
  cargo bench -q -p urne --bench sse_fanout --no-run
  if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
    SSE_BENCH_SERVER_CPUS=${SSE_BENCH_SERVER_CPUS:-0} "${CLIENT_CPU[@]}" \
      cargo bench -q -p urne --bench sse_fanout
  else
    cargo bench -q -p urne --bench sse_fanout
  fi
}

stop_servers() {
  if [ -n "${URNE_PID:-}" ]; then kill -INT "$URNE_PID" 2>/dev/null || true; fi
  if [ -n "${NGINX_PID:-}" ]; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; fi
  URNE_PID="" NGINX_PID=""
}

# A 2-of-2 trust policy and one release of the files given after ELECTION (and any
# `urne results import` options among them), signed and published to a new `urne serve` on
# PORT with data in $W/data ($URNE, $W/keys made by the caller). Sets URNE_PID.
serve_state() {
  local election=$1
  shift
  for who in registrar deputy; do
    "$URNE" keygen --name "$who.bench.example" --out "$W/keys/$who.key" >/dev/null
  done
  "$URNE" policy init --official "$W/keys/registrar.key.vkey" --official "$W/keys/deputy.key.vkey" \
    --threshold 2 --status test --out "$W/policy" >/dev/null
  "$URNE" results import "$@" --election "$election" --status unofficial --out "$W/r0" >/dev/null
  for b in policy r0; do
    for who in registrar deputy; do "$URNE" sign "$W/$b" --key "$W/keys/$who.key" >/dev/null; done
  done
  RUST_LOG=warn "${SERVER_CPU[@]}" "$URNE" serve --data "$W/data" --listen 127.0.0.1:$PORT >/dev/null &
  URNE_PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:$PORT/; do sleep 0.2; done
  "$URNE" publish "$W/policy" --server http://127.0.0.1:$PORT
  "$URNE" publish "$W/r0" --server http://127.0.0.1:$PORT
}

run_http() {
  need nginx nginx-light
  need wrk wrk
  local URNE=${URNE_BIN:-$CARGO_TARGET_DIR/release/urne}
  [ -n "${URNE_BIN:-}" ] || cargo build -q --release -p urne
  rm -rf "$W" && mkdir -p "$W/keys" "$W/nginx"
  chmod 755 "$W"
  URNE_PID="" NGINX_PID=""
  trap 'stop_servers' EXIT

  echo "== state: 2-of-2 policy and one release of ${CSVS[*]}"
  serve_state $ELECTION "${CSVS[@]}"
  "$URNE" export "$W/export" --data "$W/data"
  chmod -R a+rX "$W/export"

  cat >"$W/nginx/nginx.conf" <<EOF
# A static host for the exported tree, as an office would configure one.
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  charset utf-8;
  charset_types text/css text/javascript text/csv application/json application/xml;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  open_file_cache max=10000 inactive=60s;
  gzip on;
  gzip_types application/json text/css text/javascript text/csv application/xml;
  client_body_temp_path $W/nginx/body;
  proxy_temp_path $W/nginx/proxy;
  fastcgi_temp_path $W/nginx/fastcgi;
  uwsgi_temp_path $W/nginx/uwsgi;
  scgi_temp_path $W/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $W/export;
    index index.html;
    add_header Cache-Control "public, max-age=5";
    add_header Access-Control-Allow-Origin *;
  }
}
EOF
  "${SERVER_CPU[@]}" nginx -c "$W/nginx/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:$NGINX_PORT/; do sleep 0.2; done

  local HTML=/elections/$ELECTION/index.html JSON=/api/v1/elections/$ELECTION/summary.json
  for path in $HTML $JSON; do
    cmp <(curl -sf http://127.0.0.1:$PORT$path) <(curl -sf http://127.0.0.1:$NGINX_PORT$path)
    echo "$path: $(curl -sf http://127.0.0.1:$PORT$path | wc -c) bytes, identical from both servers"
  done
  local BROWSER='Accept-Encoding: gzip, deflate, br, zstd'
  etag() { curl -sfI "$1" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag" {print $2}'; }
  # wrk's "Latency" line and "99%" line → microseconds.
  to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); print v} else if (v ~ /ms$/) {sub(/ms/,"",v); print v*1000} else {sub(/s/,"",v); print v*1000000}}'; }
  one() { # server-port path label extra-header…
    local port=$1 path=$2; shift 2
    local args=()
    for h in "$@"; do args+=(-H "$h"); done
    local out
    out=$("${CLIENT_CPU[@]}" wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency "${args[@]}" "http://127.0.0.1:$port$path")
    local rps p99 xfer
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out" | to_us)
    xfer=$(awk '/^Transfer\/sec/ {print $2}' <<<"$out")
    echo "$rps $p99 $xfer"
  }
  echo "== wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION --latency, $ROUNDS rounds, alternating (PIN=$PIN)"
  printf '%-6s %-24s %5s %12s %10s %10s %12s %10s %10s %7s %7s\n' \
    file mode round urne_rps urne_p99us urne_xfer nginx_rps nginx_p99us nginx_xfer rps_x p99_x
  for path in $HTML $JSON; do
    local kind=html
    [ "$path" = "$JSON" ] && kind=json
    local ue ne
    ue=$(etag http://127.0.0.1:$PORT$path)
    ne=$(etag http://127.0.0.1:$NGINX_PORT$path)
    for mode in plain browser revalidate; do
      for round in $(seq 1 "$ROUNDS"); do
        local u n
        case $mode in
          plain) u=$(one $PORT $path); n=$(one $NGINX_PORT $path) ;;
          browser) u=$(one $PORT $path "$BROWSER"); n=$(one $NGINX_PORT $path "$BROWSER") ;;
          revalidate)
            u=$(one $PORT $path "$BROWSER" "If-None-Match: $ue")
            n=$(one $NGINX_PORT $path "$BROWSER" "If-None-Match: $ne") ;;
        esac
        read -r urps up99 uxfer <<<"$u"
        read -r nrps np99 nxfer <<<"$n"
        printf '%-6s %-24s %5s %12s %10s %10s %12s %10s %10s %7.2f %7.2f\n' \
          $kind $mode $round "$urps" "$up99" "$uxfer" "$nrps" "$np99" "$nxfer" \
          "$(echo "$urps / $nrps" | bc -l)" "$(echo "$np99 / $up99" | bc -l)"
      done
    done
  done
  echo "(rps_x = urne req/s ÷ nginx req/s; p99_x = nginx p99 ÷ urne p99: > 1 means urne is better)"
  echo "server RSS: urne $(awk '/VmRSS/ {print $2 " " $3}' /proc/$URNE_PID/status), nginx worker $(for p in $(pgrep -P $NGINX_PID); do awk '/VmRSS/ {print $2 " " $3}' /proc/$p/status; done)"
  stop_servers
}

run_downloads() {
  need nginx nginx-light
  need wrk wrk
  local URNE=${URNE_BIN:-$CARGO_TARGET_DIR/release/urne}
  [ -n "${URNE_BIN:-}" ] || cargo build -q --release -p urne
  if [ $# -eq 0 ]; then
    # Every PA 2024 precinct file but the two with rows `urne results import` refuses
    # (Columbia line 907 and Erie line 1810 have non-numeric counts).
    set -- $(ls "$SHARED"/openelections/pa-2024-general-precinct/*.csv | grep -v -e __columbia__ -e __erie__)
  fi
  local ELECTION=2024-11-05-general DUR=${DURATION:-10s}
  rm -rf "$W" && mkdir -p "$W/keys" "$W/nginx" "$W/export/downloads/$ELECTION"
  chmod 755 "$W"
  URNE_PID="" NGINX_PID=""
  trap 'stop_servers' EXIT
  echo "== state: 2-of-2 policy and one release of $# files"
  # The import's warnings (hundreds for a state) are not what this bench reports.
  serve_state $ELECTION "$@" --date 2024-11-05 --state Pennsylvania 2>/dev/null
  local FILE=/downloads/$ELECTION/results.json SUMMARY=/api/v1/elections/$ELECTION/summary.json
  rss() { awk '/VmRSS/ {print $2 " " $3}' /proc/$URNE_PID/status; }
  local rss0 first
  rss0=$(rss)
  first=$(curl -sf -o "$W/export$FILE" -w '%{time_total}' http://127.0.0.1:$PORT$FILE)
  echo "$FILE: $(wc -c <"$W/export$FILE") bytes; first request (renders it) ${first}s"
  echo "urne RSS: $rss0 after publishing, $(rss) after the first download"
  cat >"$W/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  open_file_cache max=10000 inactive=60s;
  gzip on;
  gzip_types application/json text/css text/javascript text/csv application/xml;
  client_body_temp_path $W/nginx/body;
  proxy_temp_path $W/nginx/proxy;
  fastcgi_temp_path $W/nginx/fastcgi;
  uwsgi_temp_path $W/nginx/uwsgi;
  scgi_temp_path $W/nginx/scgi;
  server { listen 127.0.0.1:$NGINX_PORT; root $W/export; }
}
EOF
  chmod -R a+rX "$W/export"
  "${SERVER_CPU[@]}" nginx -c "$W/nginx/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  until curl -sf -o /dev/null http://127.0.0.1:$NGINX_PORT$FILE; do sleep 0.2; done
  cmp <(curl -sf http://127.0.0.1:$PORT$FILE) <(curl -sf http://127.0.0.1:$NGINX_PORT$FILE)
  echo "second request from urne and nginx: identical bytes"
  local BROWSER='Accept-Encoding: gzip, deflate, br, zstd'
  # urne's summary JSON while the download is being fetched: 20 requests, a quarter second
  # apart; p50 and max in ms.
  summary_times() {
    local ts=()
    for _ in $(seq 1 20); do
      ts+=("$(curl -s -o /dev/null -w '%{time_total}' -H "$BROWSER" http://127.0.0.1:$PORT$SUMMARY)")
      sleep 0.25
    done
    printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1*1000} END {printf "%.1f %.1f", a[int((NR+1)/2)], a[NR]}'
  }
  printf '%-8s %-8s %10s %12s %14s %14s\n' server mode req_s transfer summary_p50ms summary_maxms
  for mode in plain gzip; do
    for port in $PORT $NGINX_PORT; do
      local name=urne args=()
      [ "$port" = "$NGINX_PORT" ] && name=nginx
      [ "$mode" = gzip ] && args=(-H "$BROWSER")
      local out st
      summary_times >"$W/st" &
      local spid=$!
      out=$("${CLIENT_CPU[@]}" wrk -t1 -c4 -d"$DUR" --timeout 60s "${args[@]}" "http://127.0.0.1:$port$FILE")
      wait $spid
      st=$(cat "$W/st")
      printf '%-8s %-8s %10s %12s %14s %14s\n' $name $mode \
        "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" "$(awk '/^Transfer\/sec/ {print $2}' <<<"$out")" $st
    done
  done
  echo "(summary_*: urne's summary JSON, fetched while wrk fetches the download from that server)"
  # Files kept on disk are unlinked: their sizes are found through urne's descriptors.
  local spilled=0
  for fd in /proc/$URNE_PID/fd/*; do
    case $(readlink "$fd") in "$W"/data/spill/*) spilled=$((spilled + $(stat -L -c %s "$fd"))) ;; esac
  done
  echo "urne RSS at the end: $(rss); kept on disk (unlinked, in $W/data/spill): $spilled bytes"
  stop_servers
}

case $WHAT in
  http) run_http ;;
  sse) run_sse ;;
  downloads) run_downloads "${CSVS_GIVEN[@]}" ;;
  all) run_http; run_sse ;;
  *) echo "usage: $0 [http|sse|downloads|all] [CSV…]" >&2; exit 2 ;;
esac

