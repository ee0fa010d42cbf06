#!/usr/bin/env bash
# Writes N (default 100000) unique collapsed stacks to stdout, deterministic (fixed seed):
# 8-40 frames, a few hot prefixes then a 4000-name pool, a fifth with two kernel frames.
set -euo pipefail
N=${1:-100000}
TMP=$(mktemp /tmp/gen-stacks.XXXXXX)
trap 'rm -f "$TMP"' EXIT
awk -v n="$N" 'BEGIN {
    srand(42)
    split("main worker_loop event_loop dispatch handle_request", top, " ")
    for (i = 0; i < 4000; i++) {
        pool[i] = sprintf("%s::%s_%d", (i % 5 == 0 ? "std::vector<int>" : "app::module" (i % 37)), (i % 3 ? "process" : "compute"), i)
    }
    for (s = 0; s < n * 1.05; s++) {
        depth = 8 + int(rand() * 33)
        line = "prog;" top[1 + int(rand() * 5)]
        for (d = 2; d < depth; d++) {
            width = (d < 6 ? 12 : 4000)
            line = line ";" pool[int(rand() * width)]
        }
        if (rand() < 0.2) line = line ";do_syscall_64_[k];ksys_read_[k]"
        print line " " (1 + int(rand() * 50))
    }
}' | sort -u -t' ' -k1,1 > "$TMP"
head -n "$N" "$TMP"
