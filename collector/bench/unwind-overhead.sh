#!/usr/bin/env bash
# unwind-overhead.sh - what CFI unwinding costs, stackstream record (default --unwind auto) next to
# perf record --call-graph dwarf, on programs without frame pointers: Debian's perl, Debian's
# python3 and bench/work.c built with -O2 -fomit-frame-pointer. Same machine, same run,
# configurations interleaved round-robin so background load hits them alike.
#
# usage: collector/bench/unwind-overhead.sh [RUNS]          (default 3)
#   BOOTSTRAP=host:port  records through an already running broker (else record starts one per run)
#   RECORD="..."         overrides how record is started (default: the built cli jar with the
#                        launcher's JVM flags for record; not the launcher itself, which rebuilds
#                        the tree when a source changed while the benchmark runs)
#   TARGETS="perl python" which targets (default: nofp perl python)
#   SECONDS_OF_WORK=10   the targets' fixed work, in seconds of their own CPU on an idle machine
#                        (long enough that the profilers' fixed start-up cost is not read as a
#                        cost per sample)
#   LOCK=/tmp/ss-bench.lock  each round (one run of every configuration of one target) holds this
#                        lock (flock), so other benchmarks on a shared machine do not overlap it
#
# Per run, target and configuration:
#   target wall / CPU - printed by the workload itself (fixed work), so profiler start-up is not
#                       counted as slowdown;
#   profiler CPU      - user+sys of the profiler command (bash `time`, the reaped target included)
#                       minus the target's own CPU; for perf plus `perf report --stdio` on the
#                       recording, because perf unwinds the dwarf stack copies there;
#   samples           - summary.txt (stackstream) or `perf script` lines.
# CPU per sample = (profiler CPU - the idle run's profiler CPU) / samples, the idle run being the
# same profiler on `sleep` for the same wall time (JVM start-up, broker, outputs; perf start-up),
# taken in the same round. Medians over the runs; the load average before and after every round
# is printed with the table.
# Needs: root (or CAP_PERFMON), gcc, perf (Debian linux-perf), perl, python3, a built cli.
set -euo pipefail
RUNS=${1:-3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=rounds.sh
. "$HERE/rounds.sh"
ROOT=$(cd "$HERE/../.." && pwd)
WORK_DIR=$(mktemp -d /tmp/stackstream-unwind-bench.XXXXXX)
trap 'rm -rf "$WORK_DIR"' EXIT
if [ -z "${RECORD:-}" ]; then
    RECORD="java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData"
    RECORD="$RECORD -cp $ROOT/cli/target/lib/*:$ROOT/cli/target/stackstream-cli.jar dev.stackstream.cli.Main record"
fi
WORK_S=${SECONDS_OF_WORK:-10}
LOCK=${LOCK:-/tmp/ss-bench.lock}
if [ -n "${BOOTSTRAP:-}" ]; then
    RECORD="$RECORD --bootstrap-servers $BOOTSTRAP"
fi
gcc -O2 -g -fomit-frame-pointer -fno-ipa-icf -fno-optimize-sibling-calls -Wall -Wextra -Werror \
    -o "$WORK_DIR/work_nofp" "$HERE/work.c"

# Each target does fixed work and prints "wall_s=... cpu_s=..." (its own times) on stderr.
target_cmd() {
    case $1 in
        nofp)   echo "$WORK_DIR/work_nofp $(( 2500 * WORK_S * 10 / 18 ))" ;;
        perl)   echo "perl -MTime::HiRes=time -e 'my (\$t, \$s, \$n) = (time, q{alpha beta gamma delta } x 64, 0);
                   for (1 .. $(( 30000 * WORK_S * 10 / 16 ))) { for my \$w (split / /, \$s) { \$n++ if \$w =~ /^(?:a|g)\\w+a\$/ } }
                   my (\$u, \$y) = times; printf STDERR qq{wall_s=%.3f cpu_s=%.3f\\n}, time - \$t, \$u + \$y;'" ;;
        python) echo "/usr/bin/python3 -c 'import json, re, time, sys
t, c = time.time(), time.process_time()
doc = {\"k%d\" % i: {\"v\": i, \"s\": \"text %d\" % i, \"l\": list(range(8))} for i in range(200)}
pat = re.compile(r\"\\\"s\\\": \\\"text (\\d+)\\\"\")
n = 0
for _ in range($(( 2500 * WORK_S * 10 / 10 ))):
    s = json.dumps(doc); n += len(pat.findall(s)) + len(json.loads(s))
print(\"wall_s=%.3f cpu_s=%.3f\" % (time.time() - t, time.process_time() - c), file=sys.stderr)'" ;;
    esac
}

read -r -a TARGETS <<< "${TARGETS:-nofp perl python}"
CONFIGS=(base perf99 ss99 perf999 ss999 idle-ss idle-perf)
RESULTS="$WORK_DIR/results.tsv"   # target config run target_wall target_cpu total_cpu samples
LOADS="$WORK_DIR/loads.tsv"       # target run load_before load_after (1-minute averages)
: > "$LOADS"
: > "$RESULTS"

# run TARGET CONFIG RUN -> appends one line to RESULTS
run() {
    local tgt=$1 cfg=$2 n=$3 errf="$WORK_DIR/err" out="$WORK_DIR/out-$1-$2" tf="$WORK_DIR/time"
    local cmd sleep_s t
    t=$(target_cmd "$tgt")
    sleep_s=$(awk -v t="$tgt" '$1==t && $2=="ss999" {w=$4} END {printf "%.2f", (w==""?3:w)}' "$RESULTS")
    case $cfg in
        base)      cmd="$t" ;;
        perf99)    cmd="perf record -q --call-graph dwarf -F 99 -o $out.data -- $t" ;;
        perf999)   cmd="perf record -q --call-graph dwarf -F 999 -o $out.data -- $t" ;;
        ss99)      cmd="$RECORD --frequency 99 --output $out -- $t" ;;
        ss999)     cmd="$RECORD --frequency 999 --output $out -- $t" ;;
        idle-ss)   cmd="$RECORD --frequency 999 --output $out -- sleep $sleep_s" ;;
        idle-perf) cmd="perf record -q --call-graph dwarf -F 999 -o $out.data -- sleep $sleep_s" ;;
    esac
    rm -rf "$out" "$out.data"
    { TIMEFORMAT='%R %U %S'; time eval "$cmd" >/dev/null 2>"$errf"; } 2>"$tf"
    local twall=0 tcpu=0 samples=0 total report=0
    if grep -q '^wall_s=' "$errf"; then
        twall=$(sed -n 's/^wall_s=\([0-9.]*\) cpu_s=.*/\1/p' "$errf" | tail -1)
        tcpu=$(sed -n 's/^wall_s=[0-9.]* cpu_s=\([0-9.]*\)/\1/p' "$errf" | tail -1)
    fi
    total=$(awk '{print $2 + $3}' "$tf")
    if [ -f "$out/summary.txt" ]; then
        samples=$(awk '$1=="samples" {gsub(",", "", $2); print $2; exit}' "$out/summary.txt")
    elif [ -f "$out.data" ]; then
        samples=$(perf script -i "$out.data" -F tid 2>/dev/null | wc -l)
        report=$({ TIMEFORMAT='%U %S'; time perf report -i "$out.data" --stdio >/dev/null 2>&1; } 2>&1 | awk '{print $1 + $2}')
        total=$(awk -v a="$total" -v b="$report" 'BEGIN {print a + b}')
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tgt" "$cfg" "$n" "${twall:-0}" "${tcpu:-0}" "$total" "${samples:-0}" \
        >> "$RESULTS"
}

machine_line
echo "date: $(date -u +%FT%TZ); load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
run_rounds
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cp "$RESULTS" "${RESULTS_COPY:-/dev/null}" 2>/dev/null || true

python3 - "$RESULTS" "$LOADS" "${TARGETS[@]}" <<'PY'
import sys, statistics as st
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
loads = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
targets = sys.argv[3:]
by = {}
idle_of_run = {}
for tgt, cfg, n, tw, tc, tot, smp in rows:
    by.setdefault((tgt, cfg), []).append((float(tw), float(tc), float(tot), float(smp), n))
    idle_of_run[(tgt, cfg, n)] = float(tot)
med = st.median
print("| target | configuration | target CPU s | vs unprofiled | target wall s | vs unprofiled | samples | profiler CPU s | CPU per sample |")
print("|---|---|---|---|---|---|---|---|---|")
for tgt in targets:
    bw = med([r[0] for r in by[(tgt, "base")]])
    bc = med([r[1] for r in by[(tgt, "base")]])
    idle = {"ss": med([r[2] for r in by[(tgt, "idle-ss")]]), "perf": med([r[2] for r in by[(tgt, "idle-perf")]])}
    for cfg, label in [("base", "unprofiled"), ("perf99", "perf --call-graph dwarf -F 99 (+ report)"),
                       ("ss99", "stackstream record -F 99"), ("perf999", "perf --call-graph dwarf -F 999 (+ report)"),
                       ("ss999", "stackstream record -F 999")]:
        rs = by[(tgt, cfg)]
        w = med([r[0] for r in rs])
        c = med([r[1] for r in rs])
        if cfg == "base":
            print(f"| {tgt} | {label} | {c:.3f} | | {w:.3f} | | | | |")
            continue
        prof = med([r[2] - r[1] for r in rs])
        kind = "ss" if cfg.startswith("ss") else "perf"
        # the idle run of the same round, so a load change between rounds cancels out
        per = med([(r[2] - r[1] - idle_of_run[(tgt, "idle-" + kind, r[4])]) / r[3] * 1e6 for r in rs if r[3] > 0])
        print(f"| {tgt} | {label} | {c:.3f} | {100 * (c / bc - 1):+.1f} % | {w:.3f} | {100 * (w / bw - 1):+.1f} % |"
              f" {med([r[3] for r in rs]):.0f} |"
              f" {prof:.2f} | {per:.0f} us |")
print()
print(f"idle runs (median profiler CPU): stackstream " +
      ", ".join(f"{t} {med([r[2] for r in by[(t, 'idle-ss')]]):.2f} s" for t in targets) +
      "; perf " + ", ".join(f"{t} {med([r[2] for r in by[(t, 'idle-perf')]]):.2f} s" for t in targets))
print(f"runs per configuration: {len(by[(targets[0], 'base')])}")
print("load average (1 min) before/after each round: " +
      ", ".join(f"{t} run {n}: {b}/{a}" for t, n, b, a in loads))
PY
