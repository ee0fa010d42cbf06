#!/usr/bin/env bash
# Runs the symbols JMH benchmarks (warm lookups per second, cold load of libjvm-sized files).
# Usage: symbols/bench/run-jmh.sh [extra JMH args, e.g. -rf json -rff out.json]
#        symbols/bench/run-jmh.sh --cpu   (same measurements in CPU time of the thread; for shared machines)
# Needs the module's dependencies in ~/.m2 (mvn -o -pl symbols install) and, for the libc
# cold-load case with its debug file, Debian's libc6-dbg.
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -o -q -pl symbols test-compile
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
mvn -o -q -pl symbols dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file"
cp="symbols/target/test-classes:symbols/target/classes:$(cat "$cp_file")"
if [ "${1:-}" = "--cpu" ]; then
    exec java -cp "$cp" dev.stackstream.symbols.bench.CpuTimeBench
fi
exec java -cp "$cp" org.openjdk.jmh.Main 'dev.stackstream.symbols.bench.SymbolsBenchmark' "$@"
