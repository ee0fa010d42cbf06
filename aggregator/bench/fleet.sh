#!/usr/bin/env bash
# Fleet-scale benchmark (issue 14), through the launcher: a forked broker and one aggregator that
# stay up between steps (so a long backfill can be split into short runs, each under a lock of its
# own), `simulate` backfilling services, p50 of merged queries, state size per pod-day, and the
# aggregator's CPU while live collectors send 10 s windows at 99 Hz.
#
# Steps (state in $FLEET_WORK, default a directory under $TMPDIR kept between steps):
#   fleet.sh up                              broker + aggregator (6 partitions), waits until healthy
#   fleet.sh backfill NAME PODS FROM TO      simulate NAME with PODS pods and $STACKS stacks, 1 h windows
#                                            from FROM to TO (e.g. now-7d now-6d); waits until the
#                                            aggregator counted every sample sent to NAME so far
#   fleet.sh query NAME...                   p50 of $QUERIES merged 24 h and 7 d queries per service,
#                                            series the plans read, state directory per pod-day
#   fleet.sh live PODS SECONDS               aggregator CPU while PODS live collectors send 10 s windows
#   fleet.sh down                            stops both and deletes $FLEET_WORK
#   fleet.sh all                             all of it in one go (env PODS=1000 DAYS=7 LIVE_PODS=1000
#                                            LIVE_SECONDS=120): needs a machine of its own for ~1 h
set -euo pipefail
cd "$(dirname "$0")/../.."
STACKS="${STACKS:-300}"; QUERIES="${QUERIES:-15}"
KPORT="${KPORT:-19392}"; HPORT="${HPORT:-18392}"
WORK="${FLEET_WORK:-${TMPDIR:-/tmp}/stackstream-fleet-bench}"
URL="http://127.0.0.1:$HPORT"
TICKS=$(getconf CLK_TCK)

load() { cut -d' ' -f1-3 /proc/loadavg; }
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, clock ticks
agg_java() { cat "$WORK/aggregator.java.pid"; }
seconds() { echo "$1" | xargs printf '%.1f'; }
samples_of() {   # what the aggregator counted for service $1 over the last 8 days
  curl -s -D - -o /dev/null "$URL/api/v1/profile?service=$1&from=now-8d&format=collapsed" \
    | tr -d '\r' | awk -F': ' 'tolower($1)=="x-stackstream-samples"{print $2}'
}

# The broker and aggregator outlive this step: they get no inherited descriptor (3-9 closed), so a
# `flock LOCKFILE fleet.sh up` does not leave them holding the lock.
up() {
  mkdir -p "$WORK"
  ./stackstream build >/dev/null 2>&1 || true
  setsid ./stackstream kafka --port "$KPORT" --data-dir "$WORK/kafka" >"$WORK/kafka.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- </dev/null &
  echo $! >"$WORK/kafka.pid"
  for _ in $(seq 120); do (exec 3<>"/dev/tcp/127.0.0.1/$KPORT") 2>/dev/null && break; sleep 1; done
  STACKSTREAM_JAVA_OPTS="-Xmx2g" setsid ./stackstream aggregator --bootstrap-servers "127.0.0.1:$KPORT" \
    --http-port "$HPORT" --state-dir "$WORK/state" --topic-partitions 6 >"$WORK/aggregator.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- </dev/null &
  local agg=$!
  echo "$agg" >"$WORK/aggregator.pid"
  for _ in $(seq 180); do curl -sf "$URL/healthz" >/dev/null && break; sleep 1; done
  (pgrep -P "$agg" java || echo "$agg") >"$WORK/aggregator.java.pid"
  echo "# fleet benchmark up $(date -u +%FT%TZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); load $(load)"
}

backfill() {
  local name=$1 pods=$2 from=$3 to=$4
  echo "backfill $name: $pods pods, $STACKS stacks, 1 h windows, $from..$to; load before $(load)"
  local t0 c0 out sent want got
  t0=$(date +%s.%N); c0=$(cpu_of "$(agg_java)")
  out=$(./stackstream simulate --bootstrap-servers "127.0.0.1:$KPORT" --service "$name" --pods "$pods" \
        --stacks "$STACKS" --from "$from" --to "$to" --window 1h --seed 14)
  echo "  $out"
  sent=$(sed -E 's/.* ([0-9]+) samples.*/\1/' <<<"$out")
  want=$(( $(cat "$WORK/want_$name" 2>/dev/null || echo 0) + sent ))
  echo "$want" >"$WORK/want_$name"
  echo "  sent in $(seconds "$(echo "$(date +%s.%N) - $t0" | bc)") s"
  got=""
  for _ in $(seq 1800); do got=$(samples_of "$name"); [ "$got" = "$want" ] && break; sleep 1; done
  local c1; c1=$(cpu_of "$(agg_java)")
  echo "  counted $got of $want samples of $name in $(seconds "$(echo "$(date +%s.%N) - $t0" | bc)") s wall," \
       "aggregator CPU $(seconds "$(echo "($c1 - $c0) / $TICKS" | bc -l)") s; load after $(load)"
  [ "$got" = "$want" ]
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

query() {
  echo "queries, $QUERIES each after 3 warm-ups; load before $(load)"
  local range name url p50 times
  for range in 24h 7d; do
    for name in "$@"; do
      url="$URL/api/v1/profile?service=$name&from=now-$range&format=collapsed"
      [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] || { echo "  $name: not a 200"; return 1; }
      for _ in 1 2 3; do curl -s -o /dev/null "$url"; done
      times=$(for _ in $(seq "$QUERIES"); do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done)
      p50=$(median <<<"$times")
      echo "  $range $name: p50 $(echo "$p50 * 1000" | bc | xargs printf '%.0f') ms" \
           "(min $(sort -n <<<"$times" | head -1), max $(sort -n <<<"$times" | tail -1) s)"
    done
  done
  echo "  series read by query plans: $(curl -s "$URL/metrics" | grep '^stackstream_aggregator_query_series_read' | tr '\n' ' ')"
  local bytes pod_hours=0 f
  bytes=$(du -sb "$WORK/state" | cut -f1)
  for f in "$WORK"/want_*; do pod_hours=$(( pod_hours + $(cat "$f") / (99 * 3600) )); done
  echo "  state dir $bytes bytes for $pod_hours pod-hours: $(echo "$bytes * 24 / $pod_hours" | bc) bytes per pod-day;" \
       "load after $(load)"
}

live() {
  local pods=$1 secs=$2 c0 t0 out c1 t1
  echo "live: $pods pods, 10 s windows at 99 Hz for $secs s; load before $(load)"
  c0=$(cpu_of "$(agg_java)"); t0=$(date +%s.%N)
  out=$(./stackstream simulate --bootstrap-servers "127.0.0.1:$KPORT" --service live --pods "$pods" \
        --stacks "$STACKS" --from now --to "now+${secs}s" --window 10s --rate 99 --seed 14)
  sleep 5   # the aggregator commits what arrived last
  c1=$(cpu_of "$(agg_java)"); t1=$(date +%s.%N)
  echo "  $out"
  echo "  aggregator CPU $(seconds "$(echo "($c1 - $c0) / $TICKS" | bc -l)") s over $(seconds "$(echo "$t1 - $t0" | bc)") s" \
       "wall = $(echo "($c1 - $c0) / $TICKS / ($t1 - $t0)" | bc -l | xargs printf '%.2f') cores; load after $(load)"
}

down() {
  local f
  for f in aggregator kafka; do
    [ -f "$WORK/$f.pid" ] && kill -- "-$(cat "$WORK/$f.pid")" 2>/dev/null || true
  done
  sleep 3
  rm -rf "$WORK"
}

case "${1:-}" in
  up) up ;;
  backfill) shift; backfill "$@" ;;
  query) shift; query "$@" ;;
  live) shift; live "$@" ;;
  down) down ;;
  all)
    PODS="${PODS:-1000}"; DAYS="${DAYS:-7}"
    trap down EXIT
    up
    for d in $(seq "$DAYS" -1 1); do backfill fleet "$PODS" "now-${d}d" "now-$((d - 1))d"; done
    backfill one 1 "now-${DAYS}d" now
    query one fleet
    [ "${LIVE_SECONDS:-120}" -gt 0 ] && live "${LIVE_PODS:-1000}" "${LIVE_SECONDS:-120}"
    ;;
  *) sed -n '2,18p' "$0"; exit 2 ;;
esac
