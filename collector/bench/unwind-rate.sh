#!/usr/bin/env bash
# The unwinding rate (samples/s per core) in JMH: UnwindRateBenchmark records 2,000 real samples
# of Debian's perl and python3 at setup and unwinds them again and again through the binding.
# Usage: collector/bench/unwind-rate.sh [extra JMH args, e.g. -p program=perl -rf json]
# Builds inside the reactor (nothing is installed into ~/.m2); needs root or CAP_PERFMON.
set -euo pipefail
cd "$(dirname "$0")/../.."
cp_file=$(mktemp)
trap 'rm -f "$cp_file"' EXIT
mvn -B -o -q -pl collector -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$cp_file" -DskipTests
cp="collector/target/test-classes:collector/target/classes:$(cat "$cp_file")"
exec java -cp "$cp" org.openjdk.jmh.Main 'dev.stackstream.collector.bench.UnwindRateBenchmark' "$@"
