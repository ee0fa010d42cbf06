#!/usr/bin/env bash
# Fleet-scale benchmark (issue 14), through the launcher: a forked broker, one aggregator, and
# `simulate` backfilling a PODS-pod service and a 1-pod service with the same STACKS stacks over
# DAYS days of 1 h windows; then the p50 of merged 24 h and 7 d queries for both, the state-store
# size per pod-day, and (LIVE_SECONDS > 0) the aggregator's CPU while LIVE_PODS live collectors send
# 10 s windows at 99 Hz.
# Usage: aggregator/bench/fleet.sh   (env: PODS=1000 STACKS=300 DAYS=7 QUERIES=15 LIVE_PODS=1000 LIVE_SECONDS=120)
set -euo pipefail
cd "$(dirname "$0")/../.."
PODS="${PODS:-1000}"; STACKS="${STACKS:-300}"; DAYS="${DAYS:-7}"; QUERIES="${QUERIES:-15}"
LIVE_PODS="${LIVE_PODS:-1000}"; LIVE_SECONDS="${LIVE_SECONDS:-120}"
KPORT="${KPORT:-19392}"; HPORT="${HPORT:-18392}"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

./stackstream build >/dev/null 2>&1 || true
./stackstream kafka --port "$KPORT" --data-dir "$WORK/kafka" >"$WORK/kafka.log" 2>&1 & PIDS+=($!)
for _ in $(seq 120); do (exec 3<>"/dev/tcp/127.0.0.1/$KPORT") 2>/dev/null && break; sleep 1; done
STACKSTREAM_JAVA_OPTS="-Xmx2g" ./stackstream aggregator --bootstrap-servers "127.0.0.1:$KPORT" \
  --http-port "$HPORT" --state-dir "$WORK/state" --topic-partitions 6 >"$WORK/aggregator.log" 2>&1 & AGG=$!
PIDS+=($AGG)
for _ in $(seq 180); do curl -sf "http://127.0.0.1:$HPORT/healthz" >/dev/null && break; sleep 1; done
AGG_JAVA=$(pgrep -P "$AGG" java || echo "$AGG")

echo "# fleet benchmark $(date -u +%FT%TZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); load $(cut -d' ' -f1-3 /proc/loadavg)"
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, clock ticks
TICKS=$(getconf CLK_TCK)

t0=$(date +%s.%N); c0=$(cpu_of "$AGG_JAVA")
for svc in fleet:"$PODS" one:1; do
  name=${svc%%:*}; pods=${svc##*:}
  out=$(./stackstream simulate --bootstrap-servers "127.0.0.1:$KPORT" --service "$name" --pods "$pods" \
        --stacks "$STACKS" --from "now-${DAYS}d" --to now --window 1h --seed 14)
  echo "simulate $name: $out"
  eval "want_$name=$(sed -E 's/.* ([0-9]+) samples.*/\1/' <<<"$out")"
done
t1=$(date +%s.%N)
echo "backfill sent in $(echo "$t1 - $t0" | bc) s"
for name in fleet one; do
  want=$(eval echo "\$want_$name")
  for _ in $(seq 1800); do
    got=$(curl -s -D - -o /dev/null "http://127.0.0.1:$HPORT/api/v1/profile?service=$name&from=now-$((DAYS + 1))d&format=collapsed" \
          | tr -d '\r' | awk -F': ' 'tolower($1)=="x-stackstream-samples"{print $2}')
    [ "$got" = "$want" ] && break; sleep 1
  done
  echo "aggregator counted $name: $got of $want samples"
done
t2=$(date +%s.%N); c2=$(cpu_of "$AGG_JAVA")
echo "backfill ingested in $(echo "$t2 - $t0" | bc) s wall, aggregator CPU $(echo "($c2 - $c0) / $TICKS" | bc -l | xargs printf '%.1f') s"

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
for range in 24h 7d; do
  for name in one fleet; do
    url="http://127.0.0.1:$HPORT/api/v1/profile?service=$name&from=now-$range&format=collapsed"
    for _ in 1 2 3; do curl -s -o /dev/null "$url"; done   # warm-up
    p50=$(for _ in $(seq "$QUERIES"); do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done | median)
    echo "query $range $name: p50 $(echo "$p50 * 1000" | bc | xargs printf '%.0f') ms"
  done
done
echo "series read by query plans: $(curl -s "http://127.0.0.1:$HPORT/metrics" | grep '^stackstream_aggregator_query_series_read' | tr '\n' ' ')"
bytes=$(du -sb "$WORK/state" | cut -f1)
echo "state dir $bytes bytes for $((PODS + 1)) pods x $DAYS days: $(echo "$bytes / (($PODS + 1) * $DAYS)" | bc) bytes per pod-day"

if [ "$LIVE_SECONDS" -gt 0 ]; then
  c3=$(cpu_of "$AGG_JAVA"); t3=$(date +%s.%N)
  out=$(./stackstream simulate --bootstrap-servers "127.0.0.1:$KPORT" --service live --pods "$LIVE_PODS" \
        --stacks "$STACKS" --from now --to "now+${LIVE_SECONDS}s" --window 10s --rate 99 --seed 14)
  sleep 5
  c4=$(cpu_of "$AGG_JAVA"); t4=$(date +%s.%N)
  echo "live: $out"
  echo "live ingest: aggregator CPU $(echo "($c4 - $c3) / $TICKS" | bc -l | xargs printf '%.1f') s over $(echo "$t4 - $t3" | bc | xargs printf '%.0f') s wall = $(echo "($c4 - $c3) / $TICKS / ($t4 - $t3)" | bc -l | xargs printf '%.2f') cores"
fi
echo "load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
