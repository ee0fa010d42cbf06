#!/usr/bin/env bash
# record-overhead.sh - what profiling costs the target and the profiler, stackstream record next to
# perf record -g, same machine, same run (configurations interleaved round-robin so background
# load hits them alike).
#
# usage: collector/bench/record-overhead.sh [RUNS] [ROUNDS]     (defaults 5 runs, 4000 rounds)
#   RECORD="..." overrides how record is started (default: the built cli jar, RecordCommand main).
#
# Per run and configuration it records:
#   target wall / CPU  - printed by the workload itself (bench/work.c: fixed work, the calltree
#                        fixture's call tree), so profiler start-up is not counted as slowdown;
#   profiler CPU       - user+sys of the whole profiler command (bash `time`, which includes the
#                        reaped target) minus the target's own CPU;
#   samples            - from summary.txt (stackstream) or perf's "(N samples)" line.
# Collector CPU per sample = (profiler CPU of `record -F 999 -- work` - profiler CPU of
#   `record -F 999 -- sleep <same wall time>`) / samples: the idle run has the same JVM start-up,
#   windows, symbolizer start and output writing but no samples, so the difference is what the
#   samples cost (drain, parse, symbolize, merge, render).
# perf record's CPU per sample is computed the same way (perf record -- sleep as its idle run).
# Needs: root (or CAP_PERFMON), gcc, perf (Debian linux-perf), a built cli
# (mvn -o -q -pl cli package -DskipTests).
set -euo pipefail
RUNS=${1:-5}
ROUNDS=${2:-4000}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK_DIR=$(mktemp -d /tmp/stackstream-bench.XXXXXX)
trap 'rm -rf "$WORK_DIR"' EXIT
if [ -z "${RECORD:-}" ]; then
    RECORD="java -cp $ROOT/cli/target/stackstream-cli.jar:$ROOT/cli/target/lib/* dev.stackstream.cli.RecordCommand"
fi
gcc -O2 -g -fno-omit-frame-pointer -fno-ipa-icf -fno-optimize-sibling-calls -Wall -Wextra -Werror \
    -o "$WORK_DIR/work" "$HERE/work.c"
WORK="$WORK_DIR/work"
CONFIGS=(base perf99 ss99 perf999 ss999 idle-ss idle-perf)
RESULTS="$WORK_DIR/results.tsv"   # config run target_wall target_cpu total_cpu samples
: > "$RESULTS"

# run CONFIG RUN -> appends one line to RESULTS
run() {
    local cfg=$1 n=$2 errf="$WORK_DIR/err" out="$WORK_DIR/out-$1" tf="$WORK_DIR/time"
    local cmd sleep_s
    sleep_s=$(awk -v c="ss999" '$1==c {w=$3} END {printf "%.2f", (w==""?3:w)}' "$RESULTS")
    case $cfg in
        base)      cmd=("$WORK" "$ROUNDS") ;;
        perf99)    cmd=(perf record -q -g -F 99 -o "$out.data" -- "$WORK" "$ROUNDS") ;;
        perf999)   cmd=(perf record -q -g -F 999 -o "$out.data" -- "$WORK" "$ROUNDS") ;;
        ss99)      cmd=($RECORD --frequency 99 --output "$out" -- "$WORK" "$ROUNDS") ;;
        ss999)     cmd=($RECORD --frequency 999 --output "$out" -- "$WORK" "$ROUNDS") ;;
        idle-ss)   cmd=($RECORD --frequency 999 --output "$out" -- sleep "$sleep_s") ;;
        idle-perf) cmd=(perf record -q -g -F 999 -o "$out.data" -- sleep "$sleep_s") ;;
    esac
    rm -rf "$out" "$out.data"
    { TIMEFORMAT='%R %U %S'; time "${cmd[@]}" >/dev/null 2>"$errf"; } 2>"$tf"
    local twall=0 tcpu=0 samples=0
    if grep -q '^wall_s=' "$errf"; then
        twall=$(sed -n 's/^wall_s=\([0-9.]*\) cpu_s=.*/\1/p' "$errf" | tail -1)
        tcpu=$(sed -n 's/^wall_s=[0-9.]* cpu_s=\([0-9.]*\)/\1/p' "$errf" | tail -1)
    fi
    local total
    total=$(awk '{print $2 + $3}' "$tf")
    if [ -f "$out/summary.txt" ]; then
        samples=$(awk '$1=="samples" {gsub(",", "", $2); print $2; exit}' "$out/summary.txt")
    elif [ -f "$out.data" ]; then
        samples=$(perf script -i "$out.data" -F tid 2>/dev/null | wc -l)
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$cfg" "$n" "${twall:-0}" "${tcpu:-0}" "$total" "${samples:-0}" >> "$RESULTS"
}

echo "machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" >&2
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for n in $(seq 1 "$RUNS"); do
    for cfg in "${CONFIGS[@]}"; do
        run "$cfg" "$n"
        echo "run $n $(tail -1 "$RESULTS")" >&2
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# perf report on one 999 Hz recording: the symbolization/report half perf does separately
perf record -q -g -F 999 -o "$WORK_DIR/r.data" -- "$WORK" "$ROUNDS" 2>/dev/null
REPORT_T=$({ TIMEFORMAT='%R %U %S'; time perf report -i "$WORK_DIR/r.data" --stdio >/dev/null 2>&1; } 2>&1)

python3 - "$RESULTS" "$REPORT_T" <<'PY'
import sys, statistics as st
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
by = {}
for cfg, n, tw, tc, tot, smp in rows:
    by.setdefault(cfg, []).append((float(tw), float(tc), float(tot), float(smp)))
med = lambda xs: st.median(xs)
def m(cfg, i): return med([r[i] for r in by[cfg]])
bw, bc = m("base", 0), m("base", 1)
print("| configuration | target wall s (median) | vs baseline | target CPU s (median) | vs baseline | samples (median) | profiler CPU s (median) |")
print("|---|---|---|---|---|---|---|")
for cfg, label in [("base", "unprofiled"), ("perf99", "perf record -g -F 99"), ("ss99", "stackstream record --frequency 99"),
                   ("perf999", "perf record -g -F 999"), ("ss999", "stackstream record --frequency 999")]:
    prof = med([r[2] - r[1] for r in by[cfg]]) if cfg != "base" else 0.0
    print(f"| {label} | {m(cfg,0):.3f} | {100*(m(cfg,0)/bw-1):+.2f} % | {m(cfg,1):.3f} | {100*(m(cfg,1)/bc-1):+.2f} % | {m(cfg,3):.0f} | {prof:.3f} |")
ss_idle = med([r[2] for r in by["idle-ss"]])
perf_idle = med([r[2] for r in by["idle-perf"]])
ss_prof = [r[2] - r[1] for r in by["ss999"]]
perf_prof = [r[2] - r[1] for r in by["perf999"]]
ss_per = [(p - ss_idle) / r[3] * 1e6 for p, r in zip(ss_prof, by["ss999"]) if r[3] > 0]
perf_per = [(p - perf_idle) / r[3] * 1e6 for p, r in zip(perf_prof, by["perf999"]) if r[3] > 0]
print()
print(f"- idle runs (same wall time, no samples): stackstream record {ss_idle:.3f} s CPU (JVM start-up, symbolizer, outputs), perf record {perf_idle:.3f} s")
print(f"- profiler CPU per sample at 999 Hz (median): stackstream {st.median(ss_per):.1f} us, perf record {st.median(perf_per):.1f} us")
rw, ru, rs = (float(x) for x in sys.argv[2].split())
print(f"- perf report --stdio on one 999 Hz recording (perf's symbolization/report step): {ru+rs:.3f} s CPU, {rw:.3f} s wall")
print(f"- runs per configuration: {len(by['base'])}")
PY
