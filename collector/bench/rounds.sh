# rounds.sh - sourced by the collector benchmarks: the machine line and the interleaved rounds.
# The caller defines run TARGET CONFIG RUN (appends one line to $RESULTS) and sets RUNS, TARGETS,
# CONFIGS, LOCK, RESULTS and LOADS. Each round (every configuration of one target, once) holds
# $LOCK, so other benchmarks on a shared machine do not overlap it; the 1-minute load average
# before and after it goes to $LOADS (target, run, before, after).

machine_line() {
    echo "machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" >&2
}

run_rounds() {
    local n tgt cfg before
    exec 9>>"$LOCK"
    for n in $(seq 1 "$RUNS"); do
        for tgt in "${TARGETS[@]}"; do
            flock 9
            before=$(cut -d' ' -f1 /proc/loadavg)
            for cfg in "${CONFIGS[@]}"; do
                run "$tgt" "$cfg" "$n"
                echo "run $n $(tail -n 1 "$RESULTS")" >&2
            done
            printf '%s\t%s\t%s\t%s\n' "$tgt" "$n" "$before" "$(cut -d' ' -f1 /proc/loadavg)" >> "$LOADS"
            flock -u 9
        done
    done
}
