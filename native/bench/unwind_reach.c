/*
 * unwind_reach.c - how many samples of a running process unwind to the root, and at what cost.
 *
 *   unwind_reach PID SECONDS [STACK_BYTES [auto|fp|cfi [HZ]]]
 *
 * Attaches to PID (all threads) for SECONDS at HZ (999), draining once per second, and prints the
 * samples, the share whose unwinding reached the root (not cut), the cuts by reason, frames by
 * method, the unwind tables compiled, and the reader thread's CPU per sample (the whole thread:
 * ring reading, unwinding, table inserts, wake-ups). Used to choose SS_DEFAULT_STACK_BYTES.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stackstream.h"

static double thread_cpu_of_reader(pid_t self)
{
    /* the reader is the only thread of this process besides main: sum /proc/self/task/<tid>/stat
     * utime+stime of every thread but the main one */
    char path[128];
    double total = 0;
    for (int tid = self + 1; tid < self + 64; tid++) {
        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", self, tid);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        char buf[1024];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        unsigned long ut = 0, st = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            total += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    return total;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s PID SECONDS [STACK_BYTES [auto|fp|cfi [HZ]]]\n", argv[0]);
        return 2;
    }
    ss_options o;
    ss_options_init(&o);
    o.pid = atoi(argv[1]);
    int seconds = atoi(argv[2]);
    if (argc > 3)
        o.stack_bytes = atoi(argv[3]);
    if (argc > 4)
        o.unwind = !strcmp(argv[4], "fp") ? SS_UNWIND_FP : !strcmp(argv[4], "cfi") ? SS_UNWIND_CFI
                                                                                  : SS_UNWIND_AUTO;
    if (argc > 5)
        o.frequency_hz = atoi(argv[5]);
    o.per_thread = 0;
    o.kernel_mode = SS_KERNEL_NO;
    char err[512];
    int32_t code;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "ss_open: %s\n", err);
        return 1;
    }
    size_t cap = 64 << 20;
    uint8_t *buf = malloc(cap);
    for (int i = 0; i < seconds && ss_target_alive(s); i++) {
        sleep(1);
        int64_t needed;
        if (ss_drain(s, buf, (int64_t)cap, &needed) < 0)
            fprintf(stderr, "drain: %lld needed\n", (long long)needed);
    }
    double cpu = thread_cpu_of_reader(getpid());
    ss_stop(s);
    ss_stats st;
    ss_get_stats(s, &st);
    ss_close(s);
    free(buf);
    uint64_t cut = st.cut_stack_copy + st.cut_no_unwind_info + st.cut_corrupt + st.truncated;
    printf("stack_bytes %d unwind %d: %llu samples, %.1f %% reached the root; cut: copy %llu, "
           "no-info %llu, corrupt %llu, depth %llu; frames cfi %llu fp %llu; tables %llu "
           "(%llu without cfi, %llu KiB); lost %llu; reader %.1f us/sample\n",
           st.stack_bytes, st.unwind, (unsigned long long)st.samples,
           st.samples ? 100.0 * (double)(st.samples - cut) / (double)st.samples : 0.0,
           (unsigned long long)st.cut_stack_copy, (unsigned long long)st.cut_no_unwind_info,
           (unsigned long long)st.cut_corrupt, (unsigned long long)st.truncated,
           (unsigned long long)st.cfi_frames, (unsigned long long)st.fp_frames,
           (unsigned long long)st.unwind_modules, (unsigned long long)st.unwind_no_cfi,
           (unsigned long long)(st.unwind_table_bytes >> 10), (unsigned long long)st.lost,
           st.samples ? cpu * 1e6 / (double)st.samples : 0.0);
    return 0;
}
