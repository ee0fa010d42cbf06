#!/usr/bin/env bash
# sidecar-rss-python.sh - the sidecar's resident set at 99 Hz on a python3 target, with CFI
# unwinding (default --unwind auto, 16 KiB stack copies) and the unwind tables of python3, libc
# and libm loaded: VmRSS and VmHWM of the collector process after SECONDS, per run.
#
# usage: collector/bench/sidecar-rss-python.sh BOOTSTRAP [SECONDS] [RUNS]    (defaults 45 s, 3 runs)
#   CP=...  class path of the sidecar (default: the launcher's, collector/target/runtime-classpath.txt)
# Needs: root (or CAP_PERFMON), python3, a running Kafka broker at BOOTSTRAP, a built cli.
set -euo pipefail
BOOTSTRAP=$1
SECS=${2:-45}
RUNS=${3:-3}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LIB="$ROOT/cli/target/lib"
if [ -z "${CP:-}" ]; then
    CP="$(ls "$LIB"/stackstream-collector-*.jar | head -n 1):$(sed "s#^lib/#$LIB/#; s#:lib/#:$LIB/#g" \
        "$ROOT/collector/target/runtime-classpath.txt")"
fi
# the launcher's JVM flags for the sidecar (stackstream, java_opts collector)
JVM="-Xmx40m -Xms8m -Xmn4m -Xss256k -XX:ReservedCodeCacheSize=16m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
     -XX:CICompilerCount=1 -XX:MaxMetaspaceSize=64m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30 -XX:-UsePerfData"
echo "date: $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for n in $(seq 1 "$RUNS"); do
    python3 -c 'import json, re, time
doc = {"k%d" % i: {"v": i, "s": "text %d" % i} for i in range(200)}
end = time.time() + '"$((SECS + 30))"'
while time.time() < end:
    s = json.dumps(doc); re.findall(r"text (\d+)", s); json.loads(s)' &
    target=$!
    # shellcheck disable=SC2086
    java $JVM -cp "$CP" dev.stackstream.collector.sidecar.CollectorMain --pid "$target" --service rss-bench \
        --bootstrap-servers "$BOOTSTRAP" --frequency 99 --window 10 >/dev/null 2>&1 &
    sidecar=$!
    sleep "$SECS"
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$sidecar/status")
    hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$sidecar/status")
    echo "run $n: VmRSS $((rss / 1024)) MB, VmHWM $((hwm / 1024)) MB" 
    kill "$sidecar" "$target"
    wait "$sidecar" "$target" 2>/dev/null || true
done
