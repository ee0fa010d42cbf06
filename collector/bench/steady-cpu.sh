#!/usr/bin/env bash
# steady-cpu.sh - what a user pays per sample in steady state: the stackstream sidecar (`collector`,
# default --unwind auto, i.e. CFI on these targets) next to `perf record --call-graph dwarf` on the
# same long-running target at the same rate, plus the `perf report --stdio` (and `perf script`) that
# perf needs to unwind its dwarf stack copies. Targets without frame pointers: Debian's perl,
# Debian's python3 and bench/work.c built -O2 -fomit-frame-pointer. Unlike unwind-overhead.sh (a
# one-shot `record` per run, minus an idle run) no start-up is counted: each profiler attaches to a
# running target and is measured from WARM s after its start for MEASURE s.
#
# usage: collector/bench/steady-cpu.sh [RUNS]           (default 3)
#   BOOTSTRAP=host:port  the sidecar's broker (else one is started here with `Main kafka`, stopped at the end)
#   SIDECARS="ss=DIR ..." the sidecar builds to compare, each NAME=a cli/target/lib directory of a tree
#                        (default ss=this tree's cli/target/lib); the jars are copied first, so a rebuild
#                        while the benchmark runs changes nothing. Started as that tree's launcher starts
#                        `collector`: its JVM flags (read from TREE/stackstream), the collector's own class
#                        path (TREE/collector/target/runtime-classpath.txt), --window 10, a metrics endpoint
#   TARGETS="nofp perl python"  HZS="99 999"  WARM=15  MEASURE=60  (seconds)
#   LOCK=/tmp/ss-bench.lock  each round of one target (every configuration once) holds this lock
#   OUT=PREFIX           keep the raw results in PREFIX.tsv, .threads.tsv, .loads.tsv;
#                        SUMMARY_ONLY=PREFIX prints the tables of kept (even partial) results
#
# Per run, target and configuration (configurations interleaved: unprofiled, then each profiler at
# each rate), over the measured interval [WARM, WARM + MEASURE] after the profiler started:
#   profiler CPU   utime+stime of the profiler process from /proc/PID/stat (every thread, dead ones
#                  included), the difference between the two readings;
#   samples        stackstream: stackstream_collector_samples_total{outcome="taken"} on /metrics
#                  read just before the start and just after the end (live native counters; the
#                  scrapes' own CPU is outside the interval); perf: `perf script -F time` samples
#                  whose time (-k CLOCK_REALTIME) lies in the interval;
#   perf report    CPU (GNU time, user+sys) of `perf report --stdio` and of `perf script` over the
#                  whole recording, divided by all of its samples;
#   target work    the target prints its progress (rounds done); slowdown = target CPU per round
#                  (from /proc/PID/stat) against the unprofiled run of the same round, and wall
#                  rate likewise;
#   threads        per-thread CPU of the sidecar over the interval (/proc/PID/task/*/stat, by name).
# Medians over the runs; load average before and after each round.
# Needs: root (or CAP_PERFMON), gcc, perf (Debian linux-perf), perl, python3, curl, GNU time, a built cli.
set -euo pipefail
RUNS=${1:-3}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=rounds.sh
. "$HERE/rounds.sh"
ROOT=$(cd "$HERE/../.." && pwd)
WARM=${WARM:-15}
[ -n "${SUMMARY_ONLY:-}" ] && BOOTSTRAP=${BOOTSTRAP:-none}
MEASURE=${MEASURE:-60}
LOCK=${LOCK:-/tmp/ss-bench.lock}
read -r -a TARGETS <<< "${TARGETS:-nofp perl python}"
read -r -a HZS <<< "${HZS:-99 999}"
read -r -a SIDECARS <<< "${SIDECARS:-ss=$ROOT/cli/target/lib}"
WORK_DIR=$(mktemp -d /tmp/stackstream-steady.XXXXXX)
BROKER_PID=
cleanup() {
    [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && { wait "$BROKER_PID" 2>/dev/null || true; }
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT

# Copies a build's jars and prints its sidecar class path (the collector's own jars, as the launcher).
sidecar_classpath() {
    local name=$1 lib=$2 dest="$WORK_DIR/lib-$1" list
    mkdir -p "$dest"
    cp "$lib"/*.jar "$dest/"
    list=$(cat "$lib/../../../collector/target/runtime-classpath.txt")
    echo "$(ls "$dest"/stackstream-collector-*.jar | head -n 1):$(sed "s#^lib/#$dest/#; s#:lib/#:$dest/#g" <<< "$list")"
}
# The JVM flags the launcher of that build's tree gives the sidecar (default_java_opts collector).
sidecar_jvm_flags() {
    sed -n 's/^ *collector) echo "\([^"]*\)" ;;/\1/p' "$1/../../../stackstream"
}
declare -A SIDECAR_CP SIDECAR_JVM
for s in "${SIDECARS[@]}"; do
    SIDECAR_CP[${s%%=*}]=$(sidecar_classpath "${s%%=*}" "${s#*=}")
    SIDECAR_JVM[${s%%=*}]=$(sidecar_jvm_flags "${s#*=}")
    [ -n "${SIDECAR_JVM[${s%%=*}]}" ] || { echo "no sidecar JVM flags in ${s#*=}/../../../stackstream" >&2; exit 1; }
    echo "sidecar ${s%%=*}: ${SIDECAR_JVM[${s%%=*}]}" >&2
done

if [ -z "${BOOTSTRAP:-}" ]; then
    port=19492
    java -cp "$ROOT/cli/target/lib/*:$ROOT/cli/target/stackstream-cli.jar" dev.stackstream.cli.Main kafka \
        --port "$port" > "$WORK_DIR/broker.log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 1 120); do
        grep -q 'listening on' "$WORK_DIR/broker.log" && break
        sleep 0.5
    done
    grep -q 'listening on' "$WORK_DIR/broker.log" || { cat "$WORK_DIR/broker.log" >&2; exit 1; }
    BOOTSTRAP=localhost:$port
fi
gcc -O2 -g -fomit-frame-pointer -fno-ipa-icf -fno-optimize-sibling-calls -Wall -Wextra -Werror \
    -o "$WORK_DIR/work_nofp" "$HERE/work.c"

# Each target runs SECS seconds and prints the rounds done so far to stdout, about every 10-20 ms.
target_cmd() {
    local secs=$2
    case $1 in
        nofp)   echo "exec $WORK_DIR/work_nofp 1000000000 20" ;;
        perl)   echo "exec perl -MTime::HiRes=time -e '\$| = 1; my (\$end, \$s, \$n, \$r) = (time + $secs, q{alpha beta gamma delta } x 64, 0, 0);
                   while (time < \$end) { for (1 .. 200) { for my \$w (split / /, \$s) { \$n++ if \$w =~ /^(?:a|g)\\w+a\$/ } } print ++\$r, qq{\\n} }'" ;;
        python) echo "exec /usr/bin/python3 -c 'import json, re, sys, time
end = time.time() + $secs
doc = {\"k%d\" % i: {\"v\": i, \"s\": \"text %d\" % i, \"l\": list(range(8))} for i in range(200)}
pat = re.compile(r\"\\\"s\\\": \\\"text (\\d+)\\\"\")
n = r = 0
while time.time() < end:
    for _ in range(25):
        s = json.dumps(doc); n += len(pat.findall(s)) + len(json.loads(s))
    r += 1; print(r, flush=True)'" ;;
    esac
}

cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
last_round() { tail -n 2 "$1" | awk 'NF {n = $1} END {print n + 0}'; }
# per-thread CPU ticks of a process, "name<TAB>ticks" summed by thread name
thread_ticks() {
    local f
    for f in /proc/"$1"/task/*/stat; do
        sed 's/^[0-9]* (\(.*\)) \(.*\)/\1\t\2/' "$f" 2>/dev/null | awk -F'\t' '{split($2, a, " "); print $1 "\t" a[12] + a[13]}'
    done | sed 's/[0-9]*\t/\t/' | awk -F'\t' '{t[$1] += $2} END {for (k in t) print k "\t" t[k]}'
}
metric_samples() {
    curl -s "http://127.0.0.1:$1/metrics" | awk '/^stackstream_collector_samples_total/ && /outcome="taken"/ {s += $2} END {printf "%d", s}'
}

# Raw results, kept at OUT (default: removed with the work directory) as each run ends;
# SUMMARY_ONLY=OUT prints the tables of such a (possibly partial) result set and exits.
OUT=${SUMMARY_ONLY:-${OUT:-$WORK_DIR/results}}
RESULTS="$OUT.tsv"          # target cfg run interval_s prof_ticks samples tgt_ticks rounds report_cpu script_cpu all_samples
THREADS="$OUT.threads.tsv"  # target cfg run thread ticks
LOADS="$OUT.loads.tsv"      # target run load_before load_after
[ -n "${SUMMARY_ONLY:-}" ] || { : > "$RESULTS"; : > "$THREADS"; : > "$LOADS"; }

# run TARGET CONFIG RUN; CONFIG is base, perf-HZ or NAME-HZ (a sidecar build)
run() {
    local tgt=$1 cfg=$2 n=$3 out="$WORK_DIR/run" prog="$WORK_DIR/progress" secs=$((WARM + MEASURE + 15))
    local tpid ppid tpid_of_time mport=0 t0 t1 p0 p1 c0 c1 r0 r1 s0=0 s1=0 report=0 script=0 all=0 hz=${cfg##*-}
    rm -rf "$out" "$out.data"; mkdir -p "$out"
    bash -c "$(target_cmd "$tgt" "$secs")" > "$prog" 2>/dev/null &
    tpid=$!
    sleep 0.5
    case $cfg in
        base) ppid= ;;
        perf-*)
            /usr/bin/time -f '%U %S' -o "$out/time" perf record -q -k CLOCK_REALTIME --call-graph dwarf -F "$hz" \
                -p "$tpid" -o "$out.data" > "$out/log" 2>&1 &
            tpid_of_time=$!
            sleep 0.2
            ppid=$(pgrep -P "$tpid_of_time" | head -n 1) ;;
        *)
            mport=$((19500 + RANDOM % 400))
            # shellcheck disable=SC2086
            java ${SIDECAR_JVM[${cfg%-*}]} -cp "${SIDECAR_CP[${cfg%-*}]}" dev.stackstream.collector.sidecar.CollectorMain --pid "$tpid" \
                --service steady-bench --bootstrap-servers "$BOOTSTRAP" --frequency "$hz" --window 10 \
                --metrics-port "$mport" --metrics-address 127.0.0.1 > "$out/log" 2>&1 &
            ppid=$! ;;
    esac
    sleep "$WARM"
    # The scrapes lie outside the interval (read before its start, after its end): a scrape's cost
    # is the monitoring's, and the first one of a JVM loads and interprets the exporter's code.
    [ "$mport" -gt 0 ] && s0=$(metric_samples "$mport")
    t0=$(date +%s.%N); c0=$(cpu_ticks "$tpid"); r0=$(last_round "$prog"); p0=0
    if [ -n "$ppid" ]; then
        p0=$(cpu_ticks "$ppid")
        [ "$mport" -gt 0 ] && thread_ticks "$ppid" > "$out/th0"
    fi
    sleep "$MEASURE"
    t1=$(date +%s.%N); c1=$(cpu_ticks "$tpid"); r1=$(last_round "$prog"); p1=0
    if [ -n "$ppid" ]; then
        p1=$(cpu_ticks "$ppid")
        if [ "$mport" -gt 0 ]; then
            thread_ticks "$ppid" > "$out/th1"; s1=$(metric_samples "$mport")
            awk -F'\t' -v t="$tgt" -v c="$cfg" -v n="$n" 'NR == FNR {a[$1] = $2; next}
                {d = $2 - a[$1]; if (d > 0) print t "\t" c "\t" n "\t" $1 "\t" d}' "$out/th0" "$out/th1" >> "$THREADS"
            kill -TERM "$ppid"; wait "$ppid" 2>/dev/null || true
        else
            kill -INT "$ppid"; wait "$tpid_of_time" 2>/dev/null || true
            s1=$(perf script -i "$out.data" -F time 2>/dev/null | awk -v a="$t0" -v b="$t1" '{t = $1 + 0} t >= a && t < b {k++} END {print k + 0}')
            all=$(perf script -i "$out.data" -F time 2>/dev/null | wc -l)
            report=$(/usr/bin/time -f '%U %S' perf report -i "$out.data" --stdio 2>&1 >/dev/null | tail -n 1 | awk '{print $1 + $2}')
            script=$(/usr/bin/time -f '%U %S' perf script -i "$out.data" 2>&1 >/dev/null | tail -n 1 | awk '{print $1 + $2}')
        fi
    fi
    kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null || true
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tgt" "$cfg" "$n" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" $((p1 - p0)) $((s1 - s0)) $((c1 - c0)) \
        $((r1 - r0)) "$report" "$script" "$all" >> "$RESULTS"
    rm -rf "$out.data"
}

[ -n "${SUMMARY_ONLY:-}" ] && RUNS=0
CONFIGS=(base)
for hz in "${HZS[@]}"; do
    CONFIGS+=("perf-$hz")
    for s in "${SIDECARS[@]}"; do CONFIGS+=("${s%%=*}-$hz"); done
done
machine_line
echo "date: $(date -u +%FT%TZ); warm-up $WARM s, measured $MEASURE s; configurations: ${CONFIGS[*]}" >&2
run_rounds

python3 - "$RESULTS" "$THREADS" "$LOADS" <<'PY'
import sys, statistics as st
med = st.median
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
threads = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
loads = [l.rstrip("\n").split("\t") for l in open(sys.argv[3]) if l.strip()]
by, order = {}, []
for tgt, cfg, n, secs, prof, smp, tcpu, rounds, rep, scr, allsmp in rows:
    if (tgt, cfg) not in by:
        order.append((tgt, cfg))
    by.setdefault((tgt, cfg), []).append(dict(n=n, secs=float(secs), prof=int(prof) / 100, smp=int(smp),
        tcpu=int(tcpu) / 100, rounds=int(rounds), rep=float(rep), scr=float(scr), all=int(allsmp)))
base = {}
for (tgt, cfg), rs in by.items():
    if cfg == "base":
        for r in rs:
            base[(tgt, r["n"])] = r
print("| target | profiler | rate | runs | samples/s | profiler CPU ms/s | profiler µs/sample | + perf report µs/sample | + perf script µs/sample | total µs/sample (perf: record + report) | target CPU per round vs unprofiled | target rounds per wall s vs unprofiled |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
per = {}
for tgt, cfg in order:
    if cfg == "base":
        continue
    rs = by[(tgt, cfg)]
    name, hz = cfg.rsplit("-", 1)
    us = med([r["prof"] / r["smp"] * 1e6 for r in rs if r["smp"] > 0])
    rep = med([r["rep"] / r["all"] * 1e6 for r in rs if r["all"] > 0]) if name == "perf" else 0
    scr = med([r["scr"] / r["all"] * 1e6 for r in rs if r["all"] > 0]) if name == "perf" else 0
    tot = med([r["prof"] / r["smp"] * 1e6 + (r["rep"] / r["all"] * 1e6 if name == "perf" else 0) for r in rs if r["smp"] > 0])
    per[(tgt, name, hz)] = tot
    slow = med([100 * ((r["tcpu"] / r["rounds"]) / (base[(tgt, r["n"])]["tcpu"] / base[(tgt, r["n"])]["rounds"]) - 1)
                for r in rs if r["rounds"] > 0 and (tgt, r["n"]) in base])
    wall = med([100 * ((r["rounds"] / r["secs"]) / (base[(tgt, r["n"])]["rounds"] / base[(tgt, r["n"])]["secs"]) - 1)
                for r in rs if (tgt, r["n"]) in base])
    print(f"| {tgt} | {name} | {hz} Hz | {len(rs)} | {med([r['smp'] / r['secs'] for r in rs]):.0f} |"
          f" {med([r['prof'] / r['secs'] * 1e3 for r in rs]):.1f} | {us:.1f} |"
          + (f" {rep:.1f} | {scr:.1f} |" if name == "perf" else " | |") + f" {tot:.1f} | {slow:+.1f} % | {wall:+.1f} % |")
print()
print("ratio stackstream / perf (record + report), per sample:")
for (tgt, name, hz), v in per.items():
    if name != "perf" and (tgt, "perf", hz) in per:
        print(f"  {tgt} {hz} Hz {name}: {v:.1f} / {per[(tgt, 'perf', hz)]:.1f} = {v / per[(tgt, 'perf', hz)]:.2f}x")
print()
print("sidecar threads, median CPU ms per second of the interval (top 6):")
tb = {}
for tgt, cfg, n, th, ticks in threads:
    tb.setdefault((tgt, cfg), {}).setdefault(th, {})[n] = int(ticks) * 10
for key, ths in tb.items():
    secs = med([r["secs"] for r in by[key]])
    runs = len(by[key])
    top = sorted(((med([v.get(n, 0) for n in [r["n"] for r in by[key]]]) / secs, th) for th, v in ths.items()), reverse=True)[:6]
    print(f"  {key[0]} {key[1]}: " + ", ".join(f"{th} {ms:.1f}" for ms, th in top))
print()
print("load average (1 min) before/after each round: " + ", ".join(f"{t} run {n}: {b}/{a}" for t, n, b, a in loads))
PY
