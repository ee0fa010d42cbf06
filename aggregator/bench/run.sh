#!/usr/bin/env bash
# Aggregator benchmark (issue 5): ingest per core, freshness, query latency over 1 h / 24 h / 7 d.
# Usage: aggregator/bench/run.sh [RUNS] [OUTPUT.md]   (defaults: 3 runs, aggregator/target/bench-aggregator.md)
# Needs the modules installed (mvn -o -pl aggregator install); runs offline against ~/.m2.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-3}"
OUT="${2:-aggregator/target/bench-aggregator.md}"
mvn -o -q -pl aggregator test-compile
CP_FILE="$(mktemp)"
mvn -o -q -pl aggregator dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CP_FILE"
# Snapshot the class path: other modules may be re-installed into ~/.m2 while the benchmark runs.
SNAP="$(mktemp -d)"
trap 'rm -rf "$SNAP" "$CP_FILE"' EXIT
cp -r aggregator/target/test-classes "$SNAP/test-classes"
cp -r aggregator/target/classes "$SNAP/classes"
CP="$SNAP/test-classes:$SNAP/classes"
i=0
IFS=":" read -ra JARS < "$CP_FILE" || true  # no trailing newline: read returns 1
for jar in "${JARS[@]}"; do
  i=$((i + 1))
  cp "$jar" "$SNAP/$i-$(basename "$jar")"
  CP="$CP:$SNAP/$i-$(basename "$jar")"
done
java -Xmx4g -cp "$CP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  dev.stackstream.aggregator.bench.AggregatorBench "$RUNS" "$OUT"
