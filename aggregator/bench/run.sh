#!/usr/bin/env bash
# Aggregator benchmark (issue 5): ingest per core, freshness, query latency over 1 h / 24 h / 7 d.
# Also the Grafana API next to /api/v1/profile (section grafana).
# Usage: aggregator/bench/run.sh [RUNS] [OUTPUT.md] [SECTIONS]
#   defaults: 3 runs, report on stdout only, sections ingest,freshness,queries (any of those and grafana,
#   comma-separated; e.g. `aggregator/bench/run.sh 5 "" grafana`).
# Builds inside the reactor (the sibling modules' own target/ directories; nothing is installed into
# ~/.m2) and runs offline.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-3}"
OUT="${2:-}"
SECTIONS="${3:-ingest,freshness,queries}"
CP_FILE="$(mktemp)"
# One reactor run: every module compiles, and the class path written last (the aggregator's) names the
# siblings' target/classes directories.
mvn -o -q -pl aggregator -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$CP_FILE"
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
  cp -r "$jar" "$SNAP/$i-$(basename "$jar")"
  CP="$CP:$SNAP/$i-$(basename "$jar")"
done
java -Xmx4g -cp "$CP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  dev.stackstream.aggregator.bench.AggregatorBench "$RUNS" "$OUT" "$SECTIONS"
