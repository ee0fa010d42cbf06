#!/usr/bin/env bash
# Bytes per sample on the wire vs gzipped pprof for the same windows (issue 4 benchmark).
# Usage: collector/bench/wire-size.sh [HZ] [RECORD_SECONDS] [MINUTES] [-- COMMAND...]
# Default workload: python3 running a CPU-heavy mixed job (many distinct native stacks).
# Needs: the collector module built with test classes (mvn -o -q -pl collector test-compile), root or
# CAP_PERFMON for perf events.
set -euo pipefail
cd "$(dirname "$0")/../.."
HZ=${1:-99}; SECS=${2:-60}; MIN=${3:-5}
shift $(( $# < 3 ? $# : 3 )) || true
[ "${1:-}" = "--" ] && shift
if [ $# -eq 0 ]; then
  set -- python3 -c 'import json,re,random,hashlib,time
t=time.time()
while time.time()-t<'"$SECS"':
    d=[{"k":random.random(),"s":str(i)*5} for i in range(2000)]
    s=json.dumps(d); json.loads(s); sorted(d,key=lambda x:x["k"])
    re.findall(r"\d+\.\d{3}",s); hashlib.sha256(s.encode()).hexdigest()'
fi
CP_FILE="$PWD/collector/target/bench.classpath"
mvn -o -q -pl collector dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CP_FILE" >/dev/null
# Snapshot the jars: other modules' SNAPSHOTs in ~/.m2 may be reinstalled while the benchmark runs.
LIB="$PWD/collector/target/bench-lib"; rm -rf "$LIB"; mkdir -p "$LIB"
tr ':' '\n' < "$CP_FILE" | while read -r j; do [ -n "$j" ] && cp "$j" "$LIB/"; done
cp -r collector/target/classes "$LIB/main-classes"; cp -r collector/target/test-classes "$LIB/test-classes"
java -Xmx1g -cp "$LIB/test-classes:$LIB/main-classes:$LIB/*" \
  -Dstackstream.native.dir="$PWD/native/target/native" \
  dev.stackstream.collector.bench.WireSizeBenchmark "$HZ" "$SECS" "$MIN" "$@"
