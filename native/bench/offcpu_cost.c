/*
 * offcpu_cost - what off-CPU profiling costs on a context-switch-heavy workload (bench/pingpong:
 * two threads handing a byte over pipes), in one run, RUNS times each, interleaved:
 *   none      the workload alone;
 *   ours      an SS_EVENT_OFF_CPU session (16 KiB stack copy, CFI unwinding), drained every second;
 *   perf-fp   `perf record -e context-switches -c 1 -g` (frame-pointer chains, no stack copy);
 *   perf-dw   `perf record -e context-switches -c 1 --call-graph dwarf,16384` (the same copy as ours).
 * Reported: the workload's wall and CPU time relative to none (slowdown), and the profiler's CPU
 * per event: our reader thread's CPU over the intervals it measured; perf's process CPU (its
 * rusage minus the workload's own) over the samples perf wrote. Medians.
 * Usage: offcpu_cost OUT_DIR [ROUNDS] [RUNS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "session.h"

enum { MODES = 4, MAX_RUNS = BENCH_MAX_RUNS };
static const char *mode_name[MODES] = { "none", "ours", "perf-fp", "perf-dw" };
#define median bench_median

static int read_report(const char *path, double *cpu, double *wall)
{
    FILE *f = fopen(path, "r");
    int ok = f && fscanf(f, "cpu %lf wall %lf", cpu, wall) == 2;
    if (f)
        fclose(f);
    return ok;
}

/* One run; returns 0 and fills wall, cpu (the workload's), prof_cpu and events. */
static int run(int mode, const char *dir, const char *rounds, double *wall, double *cpu,
               double *prof_cpu, double *events)
{
    char exe[512], report[512], cmd[2048];
    snprintf(exe, sizeof(exe), "%s/bench/pingpong", dir);
    snprintf(report, sizeof(report), "%s/bench/pingpong.report", dir);
    *prof_cpu = *events = 0;
    if (mode == 0 || mode == 1) {
        const char *argv[] = { exe, rounds, report, NULL };
        char err[512];
        int32_t pid = ss_spawn(argv, err, sizeof(err));
        if (pid < 0)
            return -1;
        ss_session *s = NULL;
        if (mode == 1 && !(s = bench_open(pid, SS_EVENT_OFF_CPU, NULL)))
            return -1;
        static uint8_t buf[8 << 20];
        ss_resume(pid);
        int status;
        while ((status = ss_wait(pid, 1000)) == -EAGAIN)
            if (s)
                ss_drain(s, buf, sizeof(buf), NULL);
        if (s) {
            *prof_cpu = bench_thread_cpu(s->reader);
            ss_stop(s);
            ss_drain(s, buf, sizeof(buf), NULL);
            ss_stats st;
            ss_get_stats(s, &st);
            *events = (double)st.offcpu_intervals;
            ss_close(s);
        }
        if (status != 0)
            return -1;
        return read_report(report, cpu, wall) ? 0 : -1;
    }
    char data[512];
    snprintf(data, sizeof(data), "%s/bench/offcpu.perf.data", dir);
    snprintf(cmd, sizeof(cmd), "perf record -q -e context-switches -c 1 %s -o %s -- %s %s %s "
             ">/dev/null 2>&1", mode == 2 ? "-g" : "--call-graph dwarf,16384", data, exe, rounds,
             report);
    struct rusage before, after;
    getrusage(RUSAGE_CHILDREN, &before);
    if (system(cmd) != 0)
        return -1;
    getrusage(RUSAGE_CHILDREN, &after);
    double children = (double)(after.ru_utime.tv_sec - before.ru_utime.tv_sec) +
                      (double)(after.ru_stime.tv_sec - before.ru_stime.tv_sec) +
                      (double)(after.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6 +
                      (double)(after.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    if (!read_report(report, cpu, wall))
        return -1;
    *prof_cpu = children - *cpu;
    snprintf(cmd, sizeof(cmd), "perf script -i %s -F tid 2>/dev/null | wc -l", data);
    FILE *p = popen(cmd, "r");
    if (!p || fscanf(p, "%lf", events) != 1)
        *events = 0;
    if (p)
        pclose(p);
    unlink(data);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: offcpu_cost OUT_DIR [ROUNDS] [RUNS]\n");
        return 2;
    }
    const char *rounds = argc > 2 ? argv[2] : "100000";
    int runs = argc > 3 ? atoi(argv[3]) : 3;
    if (runs < 1 || runs > MAX_RUNS)
        runs = 3;
    double wall[MODES][MAX_RUNS], cpu[MODES][MAX_RUNS], pcpu[MODES][MAX_RUNS], ev[MODES][MAX_RUNS];
    for (int r = 0; r < runs; r++)
        for (int m = 0; m < MODES; m++)
            if (run(m, argv[1], rounds, &wall[m][r], &cpu[m][r], &pcpu[m][r], &ev[m][r]) < 0) {
                fprintf(stderr, "run %d of %s failed\n", r, mode_name[m]);
                return 1;
            }
    printf("pingpong %s rounds, medians of %d runs\n", rounds, runs);
    printf("%-8s %9s %9s %9s %9s %12s %12s\n", "mode", "wall s", "slowdown", "cpu s", "cpu x",
           "events", "us/event");
    double w0 = median(wall[0], runs), c0 = median(cpu[0], runs);
    for (int m = 0; m < MODES; m++) {
        double per[MAX_RUNS];
        for (int r = 0; r < runs; r++)
            per[r] = ev[m][r] > 0 ? pcpu[m][r] / ev[m][r] * 1e6 : 0;
        double w = median(wall[m], runs), c = median(cpu[m], runs);
        printf("%-8s %9.3f %8.2fx %9.3f %8.2fx %12.0f %12.2f\n", mode_name[m], w, w / w0, c, c / c0,
               median(ev[m], runs), median(per, runs));
    }
    return 0;
}
