#!/usr/bin/env bash
# Wall time of `stackstream record` through Kafka, end to end (JVM start to exit), on the calltree
# fixture (2 s of CPU), with the embedded broker and with an already running broker, plus the
# embedded broker's start time as record reports it. Usage: cli/bench/record-pipeline.sh [RUNS]
# Prints one line per run and the medians. Run from the repository root after a build.
set -euo pipefail
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CP="$ROOT/cli/target/lib/*:$ROOT/cli/target/stackstream-cli.jar"
FIXTURE="$ROOT/native/target/native/fixtures/calltree"
OUT=$(mktemp -d)
trap 'kill "$KAFKA_PID" 2>/dev/null || true; wait "$KAFKA_PID" 2>/dev/null || true; rm -rf "$OUT"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }

# An external broker for the --bootstrap-servers runs: `stackstream kafka` (forked KRaft broker).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
java -cp "$CP" dev.stackstream.cli.Main kafka --port "$PORT" --data-dir "$OUT/kafka" >"$OUT/kafka.log" 2>&1 &
KAFKA_PID=$!
for _ in $(seq 1 120); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 1; done

run() { # $1 = label, rest = extra args; prints wall seconds, and the broker start for embedded
    local t0 t1
    t0=$(date +%s.%N)
    java -cp "$CP" dev.stackstream.cli.Main record --output "$OUT/rec" "${@:2}" -- "$FIXTURE" 2 >/dev/null 2>"$OUT/err"
    t1=$(date +%s.%N)
    echo "$1 $(echo "$t1 - $t0" | bc) $(grep -o 'started in [0-9.]* s' "$OUT/err" | grep -o '[0-9.]*' || echo -)"
}
: >"$OUT/results"
for i in $(seq 1 "$RUNS"); do
    run embedded | tee -a "$OUT/results"
    run external --bootstrap-servers "127.0.0.1:$PORT" | tee -a "$OUT/results"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo "median wall s, embedded broker:  $(awk '$1=="embedded"{print $2}' "$OUT/results" | median)"
echo "median embedded broker start s:  $(awk '$1=="embedded"{print $3}' "$OUT/results" | median)"
echo "median wall s, external broker:  $(awk '$1=="external"{print $2}' "$OUT/results" | median)"
