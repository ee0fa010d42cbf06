/*
 * alloc_cost - what alloc profiling costs on a malloc-heavy workload (fixtures/allocsplit: ~200,000
 * malloc/calloc/realloc calls of 16 B-32 KiB per GiB, each block written and freed), RUNS times
 * each mode, interleaved:
 *   none   the workload alone;
 *   ours   an SS_EVENT_ALLOC session at INTERVAL bytes (8 KiB stack copy, CFI unwinding, 4 MiB
 *          ring, as `--profile alloc` records), drained every second;
 *   perf   `perf record -e <uprobes on the same three functions> -c 1 -g`: perf has no byte
 *          sampling, so it samples every call (frame-pointer chains, no stack copy).
 * The workload's CPU time: what reaping it adds to RUSAGE_CHILDREN (none, ours; wall from resume
 * to exit), or what /usr/bin/time reports around it inside perf's run (perf).
 * Reported: slowdown (wall and CPU relative to none), the profiler's CPU per sample (our reader
 * thread's CPU over ss_stats.samples; perf's rusage less the workload's over the samples perf
 * wrote) and per allocation call. Medians. Needs root (uprobes, BPF) and perf.
 * Usage: alloc_cost OUT_DIR [MIB] [RUNS] [INTERVAL]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "session.h"

enum { MODES = 3, MAX_RUNS = BENCH_MAX_RUNS };
static const char *mode_name[MODES] = { "none", "ours", "perf" };
#define median_of bench_median

static double children_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* /usr/bin/time -f "%U %S %e": the workload's user, system and wall seconds. */
static int timed(const char *path, double *cpu, double *wall)
{
    double u, s;
    FILE *f = fopen(path, "r");
    int ok = f && fscanf(f, "%lf %lf %lf", &u, &s, wall) == 3;
    if (f)
        fclose(f);
    *cpu = ok ? u + s : 0;
    return ok;
}

/* Allocation calls the fixture made (its report: per function, calls first). */
static double calls_made(const char *path)
{
    double hot = 0, cold = 0;
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "hot_alloc %lf %*f %*f %*f cold_alloc %lf", &hot, &cold) != 2)
        hot = cold = 0;
    if (f)
        fclose(f);
    return hot + cold;
}

typedef struct result {
    double wall, cpu, prof_cpu, samples, calls;
} result;

static int run(int mode, const char *dir, const char *mib, const char *interval, const char *group,
               result *r)
{
    char exe[512], report[512], times[512], cmd[4096];
    snprintf(exe, sizeof(exe), "%s/fixtures/allocsplit", dir);
    snprintf(report, sizeof(report), "%s/bench/allocsplit.report", dir);
    snprintf(times, sizeof(times), "%s/bench/allocsplit.time", dir);
    memset(r, 0, sizeof(*r));
    if (mode < 2) {
        /* Spawned directly (a wrapper's fork would run the workload before its FORK record is
         * read); its CPU time is what reaping it adds to RUSAGE_CHILDREN. */
        const char *argv[] = { exe, mib, interval, report, NULL };
        char err[512];
        int32_t pid = ss_spawn(argv, err, sizeof(err));
        if (pid < 0)
            return -1;
        ss_session *s = NULL;
        if (mode == 1) {
            ss_options o;
            ss_options_init(&o);
            o.period = atoll(interval);
            o.stack_bytes = 8192;
            o.ring_pages = 1024;
            if (!(s = bench_open(pid, SS_EVENT_ALLOC, &o)))
                return -1;
        }
        static uint8_t buf[8 << 20];
        double cpu0 = children_cpu();
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ss_resume(pid);
        int status;
        while ((status = ss_wait(pid, 1000)) == -EAGAIN)
            if (s)
                ss_drain(s, buf, sizeof(buf), NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        r->wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        r->cpu = children_cpu() - cpu0;
        if (s) {
            r->prof_cpu = bench_thread_cpu(s->reader);
            ss_stop(s);
            ss_drain(s, buf, sizeof(buf), NULL);
            ss_stats st;
            ss_get_stats(s, &st);
            r->samples = (double)st.samples;
            ss_close(s);
        }
        r->calls = calls_made(report);
        return status == 0 ? 0 : -1;
    }
    char data[512];
    snprintf(data, sizeof(data), "%s/bench/alloc.perf.data", dir);
    snprintf(cmd, sizeof(cmd), "perf record -q -e '%s:*' -c 1 -g -o %s -- /usr/bin/time -f '%%U %%S "
             "%%e' -o %s %s %s %s %s >/dev/null 2>&1", group, data, times, exe, mib, interval, report);
    double before = children_cpu();
    if (system(cmd) != 0 || !timed(times, &r->cpu, &r->wall))
        return -1;
    r->prof_cpu = children_cpu() - before - r->cpu;
    r->calls = calls_made(report);
    snprintf(cmd, sizeof(cmd), "perf script -i %s -F tid 2>/dev/null | wc -l", data);
    FILE *p = popen(cmd, "r");
    if (!p || fscanf(p, "%lf", &r->samples) != 1)
        r->samples = 0;
    if (p)
        pclose(p);
    unlink(data);
    return 0;
}

/* Adds uprobes GROUP:m, :c, :r at libc's malloc, calloc and realloc for perf (deleted at exit). */
static int add_probes(const char *group)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "L=$(ldd /bin/true | awk '/libc.so/{print $3}'); "
             "for f in malloc:m calloc:c realloc:r; do a=$(nm -D --defined-only \"$L\" | "
             "awk -v n=${f%%:*} '{sub(/@.*/, \"\", $3)} $3 == n {print $1; exit}'); "
             "perf probe -q -x \"$L\" -a \"%s:${f#*:}=0x$a\" || exit 1; done", group);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: alloc_cost OUT_DIR [MIB] [RUNS] [INTERVAL]\n");
        return 2;
    }
    const char *mib = argc > 2 ? argv[2] : "512";
    int runs = argc > 3 ? atoi(argv[3]) : 3;
    const char *interval = argc > 4 ? argv[4] : "524288";
    if (runs < 1 || runs > MAX_RUNS)
        runs = 3;
    char group[64], cmd[128];
    snprintf(group, sizeof(group), "ssbench%d", (int)getpid());
    if (add_probes(group) < 0) {
        fprintf(stderr, "perf probe failed (root and perf needed)\n");
        return 1;
    }
    result res[MODES][MAX_RUNS];
    int rc = 0;
    for (int i = 0; i < runs && rc == 0; i++)
        for (int m = 0; m < MODES && rc == 0; m++)
            if (run(m, argv[1], mib, interval, group, &res[m][i]) < 0) {
                fprintf(stderr, "run %d of %s failed\n", i, mode_name[m]);
                rc = 1;
            }
    snprintf(cmd, sizeof(cmd), "perf probe -q -d '%s:*'", group);
    if (system(cmd) != 0)
        fprintf(stderr, "could not delete the uprobes %s:*\n", group);
    if (rc)
        return rc;
    printf("allocsplit %s MiB, interval %s bytes, medians of %d runs\n", mib, interval, runs);
    printf("%-5s %8s %9s %8s %9s %10s %10s %10s %10s\n", "mode", "wall s", "slowdown", "cpu s",
           "cpu x", "calls", "samples", "us/sample", "ns/call");
    double w0, c0;
    for (int m = 0; m < MODES; m++) {
        double w[MAX_RUNS], c[MAX_RUNS], per[MAX_RUNS], per_call[MAX_RUNS], n[MAX_RUNS], k[MAX_RUNS];
        for (int i = 0; i < runs; i++) {
            result *x = &res[m][i];
            w[i] = x->wall;
            c[i] = x->cpu;
            n[i] = x->samples;
            k[i] = x->calls;
            per[i] = x->samples > 0 ? x->prof_cpu / x->samples * 1e6 : 0;
            per_call[i] = x->calls > 0 ? x->prof_cpu / x->calls * 1e9 : 0;
        }
        double mw = median_of(w, runs), mc = median_of(c, runs);
        if (m == 0) {
            w0 = mw;
            c0 = mc;
        }
        printf("%-5s %8.3f %8.2fx %8.3f %8.2fx %10.0f %10.0f %10.2f %10.1f\n", mode_name[m], mw,
               mw / w0, mc, mc / c0, median_of(k, runs), median_of(n, runs), median_of(per, runs),
               median_of(per_call, runs));
    }
    return 0;
}
