#!/usr/bin/env bash
# Collector sidecar CPU and RSS vs `perf record -g` at the same rate on the same target (issue 4).
# Usage: collector/bench/collector-cost.sh [SECONDS] [RUNS]   (runs 99 Hz and 999 Hz)
# Needs: collector test classes built, perf (Debian linux-perf), GNU time, root or CAP_PERFMON.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${1:-30}; RUNS=${2:-3}
CP_FILE="$PWD/collector/target/bench.classpath"
mvn -o -q -pl collector dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CP_FILE" >/dev/null
# Snapshot the jars: other modules' SNAPSHOTs in ~/.m2 may be reinstalled while the benchmark runs.
LIB="$PWD/collector/target/bench-lib"; rm -rf "$LIB"; mkdir -p "$LIB"
tr ':' '\n' < "$CP_FILE" | while read -r j; do [ -n "$j" ] && cp "$j" "$LIB/"; done
cp -r collector/target/classes "$LIB/main-classes"; cp -r collector/target/test-classes "$LIB/test-classes"
for HZ in 99 999; do
  java -Xmx512m -cp "$LIB/test-classes:$LIB/main-classes:$LIB/*" \
    -Dstackstream.native.dir="$PWD/native/target/native" \
    dev.stackstream.collector.bench.CollectorCostBenchmark "$HZ" "$SECS" "$RUNS" 2>/dev/null | grep ' Hz run '
done
