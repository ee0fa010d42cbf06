#!/usr/bin/env bash
# Benchmark (not a test): `stackstream render` of a 100k-unique-stack collapsed file to SVG and to
# HTML, whole process, next to flamegraph.pl on the same input in the same run; medians of RUNS.
#
#   profile/bench/render-bench.sh [RESULTS.md]
#
# Environment:
#   FLAMEGRAPH_PL  path of FlameGraph's flamegraph.pl (Brendan Gregg). It is not in Debian, npm or
#                  Maven Central; without it only our timings are reported and the report says so.
#   RUNS           runs per command (default 5)      STACKS  unique stacks (default 100000)
#   RENDER         command that runs render (default: the CLI jar's `render` subcommand with the
#                  launcher's JVM options for render, see default_java_opts in ./stackstream)
#   STACKSTREAM_JAVA_OPTS  replaces those JVM options, as it does in the launcher
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-5}
STACKS=${STACKS:-100000}
OUT_MD=${1:-}
WORK=$(mktemp -d /tmp/render-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# --- the command under test ----------------------------------------------------------------------
if [ -z "${RENDER:-}" ]; then
    JAR="$ROOT/cli/target/stackstream-cli.jar"
    # the launcher's own java command line (./stackstream minus its build check): its JVM options
    # for render come from default_java_opts in ./stackstream (which also makes or refreshes the
    # class-data-sharing archive), or from STACKSTREAM_JAVA_OPTS as in the launcher
    if [ -z "${STACKSTREAM_JAVA_OPTS+set}" ]; then
        STACKSTREAM_JAVA_OPTS=$(ROOT=$ROOT JAR=$JAR bash -c 'eval "$(sed -n "/^default_java_opts()/,/^# ---- end of the render class-data sharing/p" "$ROOT/stackstream")"; default_java_opts render')
    fi
    LAUNCH="java ${STACKSTREAM_JAVA_OPTS:-} -cp $ROOT/cli/target/lib/*:$JAR dev.stackstream.cli.Main"
    if [ -f "$JAR" ] && $LAUNCH render --help 2>/dev/null | grep -q 'Usage: stackstream render'; then
        RENDER="$LAUNCH render"
    else
        # the CLI is not assembled with render yet: run RenderCommand through picocli directly
        echo "note: $JAR has no render subcommand; running RenderCommand with the profile module's classpath" >&2
        (cd "$ROOT" && mvn -o -q -pl profile dependency:build-classpath -Dmdep.outputFile="$WORK/cp.txt" >/dev/null)
        PICO=$(find ~/.m2/repository/info/picocli/picocli -name 'picocli-*.jar' | sort | tail -1)
        CP="$(cat "$WORK/cp.txt"):$ROOT/profile/target/classes:$PICO"
        mkdir -p "$WORK/classes"
        cat > "$WORK/RunRender.java" <<'JAVA'
public class RunRender {
    public static void main(String[] a) {
        System.exit(new picocli.CommandLine(new dev.stackstream.cli.RenderCommand()).execute(a));
    }
}
JAVA
        javac -d "$WORK/classes" -cp "$CP" "$ROOT/cli/src/main/java/dev/stackstream/cli/RenderCommand.java" "$WORK/RunRender.java"
        RENDER="java ${STACKSTREAM_JAVA_OPTS:-} -cp $WORK/classes:$CP RunRender"
    fi
fi

# --- input: STACKS unique stacks, 8-40 frames, shared prefixes like a real program -----------------
INPUT="$WORK/stacks.collapsed"
"$(dirname "$0")/gen-stacks.sh" "$STACKS" > "$INPUT"
LINES=$(wc -l < "$INPUT")
BYTES=$(wc -c < "$INPUT")

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# One timed run of a command; appends "wall cpu" (cpu = user + sys) to $WORK/NAME.times.
run_once() {
    local name=$1; shift
    /usr/bin/time -f '%e %U %S' -o "$WORK/time" "$@" > /dev/null 2>"$WORK/err" \
        || { echo "$name failed:" >&2; cat "$WORK/err" >&2; exit 1; }
    read -r w u sy < "$WORK/time"
    echo "$w $(echo "$u + $sy" | bc -l)" >> "$WORK/$name.times"
}
# "median-wall-s median-cpu-s" of NAME's runs
medians() { echo "$(cut -d' ' -f1 "$WORK/$1.times" | median) $(cut -d' ' -f2 "$WORK/$1.times" | median)"; }

echo "input: $LINES unique stacks, $BYTES bytes; $RUNS runs each" >&2
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
HAVE_FG=
if [ -n "${FLAMEGRAPH_PL:-}" ] && [ -f "$FLAMEGRAPH_PL" ]; then
    HAVE_FG=yes
fi
# the commands take turns, run after run, so changes in the machine's load (other builds on a
# shared box) fall on all of them alike rather than on whichever happened to be running
for _ in $(seq "$RUNS"); do
    run_once svg $RENDER -o "$WORK/ours.svg" "$INPUT"
    run_once html $RENDER -o "$WORK/ours.html" "$INPUT"
    if [ -n "$HAVE_FG" ]; then
        run_once fg sh -c "perl '$FLAMEGRAPH_PL' '$INPUT' > '$WORK/theirs.svg'"
    fi
done
read -r SVG SVG_CPU <<< "$(medians svg)"
read -r HTML HTML_CPU <<< "$(medians html)"
FG="not available"; FG_CPU="not available"
if [ -n "$HAVE_FG" ]; then
    read -r FG FG_CPU <<< "$(medians fg)"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# same frames? title, x, y, width, height of every frame, sorted (flamegraph.pl writes hash order)
frames() { perl -ne 'print "$1|$2|$3|$4|$5\n" while /<title>([^<]*)<\/title><rect x="([^"]*)" y="([^"]*)" width="([^"]*)" height="([^"]*)"/g' "$1" | sort; }
PARITY="not checked (no flamegraph.pl)"
if [ -f "$WORK/theirs.svg" ]; then
    frames "$WORK/ours.svg" > "$WORK/ours.frames"
    frames "$WORK/theirs.svg" > "$WORK/theirs.frames"
    if cmp -s "$WORK/ours.frames" "$WORK/theirs.frames"; then
        PARITY="identical: $(wc -l < "$WORK/ours.frames") frames, same names, x, y, widths and heights"
    else
        PARITY="DIFFERENT: $(diff "$WORK/theirs.frames" "$WORK/ours.frames" | grep -c '^[<>]') differing lines"
    fi
fi

ratio() { if [ "$2" = "not available" ]; then echo "n/a"; else echo "scale=1; $2 / $1" | bc -l; fi; }
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
REPORT=$(cat <<MD
### Rendering a 100k-unique-stack profile (profile module, issue 6)

Command: \`profile/bench/render-bench.sh\` (input generated by the script: $LINES unique stacks, 8-40
frames each, $(echo "scale=1; $BYTES / 1048576" | bc -l) MiB of collapsed text). Whole process wall time (JVM start, read, render,
write), median of $RUNS runs each, all in the same run of the script, the commands taking turns.

Machine: $(nproc) cores ($CPU), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr), $(java -version 2>&1 | head -1).
Date: $(date -u +%Y-%m-%dT%H:%MZ).

| command | median wall s | wall: flamegraph.pl / this | median CPU s (user+sys) | CPU: flamegraph.pl / this |
|---|---:|---:|---:|---:|
| flamegraph.pl (perl $(perl -e 'print $^V')) to SVG | $FG | 1.0 | $FG_CPU | 1.0 |
| stackstream render to SVG | $SVG | $(ratio "$SVG" "$FG") | $SVG_CPU | $(ratio "$SVG_CPU" "$FG_CPU") |
| stackstream render to HTML | $HTML | $(ratio "$HTML" "$FG") | $HTML_CPU | $(ratio "$HTML_CPU" "$FG_CPU") |

Render command: \`$(echo "$RENDER" | sed "s|$ROOT/||g; s|$WORK|\$WORK|g" | cut -c1-160)\`.
Load average (1/5/15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER (other builds shared the 2 cores).
flamegraph.pl has no HTML output; the HTML row is compared with its SVG time.
SVG frames, ours vs flamegraph.pl on this input: $PARITY.
MD
)
if [ "$FG" = "not available" ]; then
    REPORT="$REPORT

flamegraph.pl was not available (set FLAMEGRAPH_PL): it is not packaged in Debian, npm or Maven
Central, the only registries this machine reaches, so no ratio was measured in this run."
fi
echo "$REPORT"
if [ -n "$OUT_MD" ]; then
    echo "$REPORT" > "$OUT_MD"
fi
