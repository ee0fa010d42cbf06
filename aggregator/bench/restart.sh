#!/usr/bin/env bash
# Restart benchmark (issue 12): time from `kill -9` of a forked aggregator and its immediate restart
# to the full, exact answer again, with the restarted process's phases read from its log.
# Usage: aggregator/bench/restart.sh [RESTARTS] [AGGREGATOR JVM OPTIONS...]
#   e.g. aggregator/bench/restart.sh 5 -Dorg.slf4j.simpleLogger.log.org.apache.kafka.streams=info
# Builds inside the reactor (the siblings' own target/ directories; nothing is installed into ~/.m2),
# offline. On a shared machine build first, then time under the lock:
#   aggregator/bench/restart.sh build && BUILD=0 flock LOCKFILE aggregator/bench/restart.sh 5
set -euo pipefail
cd "$(dirname "$0")/../.."
CP_FILE=aggregator/target/restart-bench.classpath
if [ "${BUILD:-1}" != 0 ] || [ ! -s "$CP_FILE" ]; then
  # One reactor run: the class path written last (the aggregator's) names the siblings' target/classes.
  mvn -o -q -pl aggregator -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$PWD/$CP_FILE"
fi
[ "${1:-}" = build ] && exit 0
java -Xmx1g -cp "aggregator/target/test-classes:aggregator/target/classes:$(cat "$CP_FILE")" \
  dev.stackstream.aggregator.RestartBench "$@"
