/*
 * overhead - what sampling costs, measured in one run (see bench/README.md):
 *   1. the reader's cost per sample in isolation: marker stripping + leaf fix-up + table insert
 *      (with the mutex) over realistic stacks, no kernel involved;
 *   2. the reader thread's CPU time per sample while profiling calltree_mt (2 threads, 999 Hz),
 *      with and without reading target memory to verify call sites;
 *   3. the target's slowdown (CPU time of a fixed amount of work) at 99 and 999 Hz, next to
 *      `perf record -g` at the same rates, and the collector's CPU (our reader thread vs the perf
 *      process) per sample.
 * Prints medians of RUNS runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "session.h"

#define RUNS 7

static double now_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    return v[n / 2];
}

static int always(void *ctx, uint64_t addr)
{
    (void)ctx;
    return (addr & 0xfff) < 0xf00;
}

static double bench_table(void)
{
    enum { STACKS = 2000, SAMPLES = 2000000 };
    static uint64_t raw[STACKS][34];
    for (int s = 0; s < STACKS; s++) {
        raw[s][0] = (uint64_t)-512;
        for (int k = 1; k < 34; k++)
            raw[s][k] = 0x400000 + (uint64_t)s * 0x40 + (uint64_t)k * 0x1000;
    }
    stack_table t;
    st_init(&t, 64 << 20);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    uint64_t ips[130];
    double t0 = now_s(CLOCK_THREAD_CPUTIME_ID);   /* CPU time: the box is shared */
    unsigned seed = 1;
    for (int i = 0; i < SAMPLES; i++) {
        seed = seed * 1103515245u + 12345u;
        int s = (int)((seed >> 8) % STACKS);
        uint64_t nr = 1 + 8 + (uint64_t)(s % 25);    /* depths 8..32 */
        cc_result r;
        cc_strip(raw[s], nr, ips, 127, &r);
        cc_fixup_leaf(ips, &r, 127, raw[s][2] + 5, always, NULL, NULL);
        pthread_mutex_lock(&mu);
        st_add(&t, 1, 0, ips, r.depth, r.kernel_depth, r.flags, 0, 1001001, 0);
        pthread_mutex_unlock(&mu);
    }
    double ns = (now_s(CLOCK_THREAD_CPUTIME_ID) - t0) * 1e9 / SAMPLES;
    st_free(&t);
    return ns;
}

/* One 8-byte process_vm_readv from a child, the call-site check's cost on a cache miss. */
static double bench_vm_readv(void)
{
    static volatile uint8_t code[4096];
    code[100] = 0xe8;
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    enum { N = 200000 };
    uint8_t buf[8];
    double t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < N; i++) {
        struct iovec l = { buf, 8 }, r = { (void *)(code + 96 + (i & 7)), 8 };
        process_vm_readv(child, &l, 1, &r, 1, 0);
    }
    double ns = (now_s(CLOCK_THREAD_CPUTIME_ID) - t0) * 1e9 / N;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return ns;
}

static const char *dir;

static char *path_of(const char *name)
{
    static char buf[4][4096];
    static int i;
    char *p = buf[i++ % 4];
    snprintf(p, 4096, "%s/%s", dir, name);
    return p;
}

/* Reader CPU ns per sample while profiling calltree_mt. */
static double bench_reader(int verify, double *samples_out)
{
    const char *argv[] = { path_of("fixtures/calltree_mt"), "1", "2", NULL };
    char err[512];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    ss_options o;
    ss_options_init(&o);
    o.pid = pid;
    int32_t code;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "ss_open: %s\n", err);
        exit(1);
    }
    s->can_read_mem = verify;
    clockid_t cid;
    pthread_getcpuclockid(s->reader, &cid);
    ss_resume(pid);
    static uint8_t buf[4 << 20];
    while (ss_wait(pid, 1000) == -EAGAIN)
        ss_drain(s, buf, sizeof(buf), NULL);
    double cpu = now_s(cid);
    ss_stop(s);
    ss_stats st;
    ss_get_stats(s, &st);
    ss_close(s);
    *samples_out = (double)st.samples;
    return cpu * 1e9 / (double)st.samples;
}

struct run { double target_cpu, collector_cpu, samples; };

static double read_ns(const char *file)
{
    FILE *f = fopen(file, "r");
    long long v = -1;
    if (f) {
        if (fscanf(f, "%lld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return (double)v;
}

static struct run run_plain(const char *iters)
{
    const char *argv[] = { path_of("bench/fixedwork"), iters, "/tmp/ss-bench-cpu", NULL };
    char err[256];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    ss_resume(pid);
    ss_wait(pid, -1);
    return (struct run){ read_ns("/tmp/ss-bench-cpu"), 0, 0 };
}

static struct run run_ours(const char *iters, int hz)
{
    const char *argv[] = { path_of("bench/fixedwork"), iters, "/tmp/ss-bench-cpu", NULL };
    char err[512];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    ss_options o;
    ss_options_init(&o);
    o.pid = pid;
    o.frequency_hz = hz;
    int32_t code;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    clockid_t cid;
    pthread_getcpuclockid(s->reader, &cid);
    ss_resume(pid);
    static uint8_t buf[4 << 20];
    while (ss_wait(pid, 1000) == -EAGAIN)
        ss_drain(s, buf, sizeof(buf), NULL);
    double reader = now_s(cid);
    ss_stop(s);
    ss_stats st;
    ss_get_stats(s, &st);
    ss_close(s);
    return (struct run){ read_ns("/tmp/ss-bench-cpu"), reader * 1e9, (double)st.samples };
}

static struct run run_perf(const char *iters, int hz)
{
    char freq[16];
    snprintf(freq, sizeof(freq), "%d", hz);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", 1);
        dup2(null, 1);
        dup2(null, 2);
        execlp("perf", "perf", "record", "-g", "-F", freq, "-o", "/tmp/ss-bench-perf.data", "--",
               path_of("bench/fixedwork"), iters, "/tmp/ss-bench-cpu", (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    double total = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
                   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
    double target = read_ns("/tmp/ss-bench-cpu");
    double samples = 0;
    FILE *p = popen("perf script -F tid -i /tmp/ss-bench-perf.data 2>/dev/null | wc -l", "r");
    if (p) {
        char line[64];
        if (fgets(line, sizeof(line), p))
            samples = atof(line);
        pclose(p);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return (struct run){ -1, -1, 0 };
    return (struct run){ target, total - target, samples };
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    dir = argc > 1 ? argv[1] : "target/native";
    const char *iters = argc > 2 && strcmp(argv[2], "micro") != 0 ? argv[2] : "40000";
    printf("reader, in isolation (strip + fix-up + hash insert, 2000 stacks, depth 8-32): %.0f ns/sample\n",
           bench_table());
    printf("process_vm_readv of 8 bytes (call-site check on a verdict-cache miss): %.0f ns\n",
           bench_vm_readv());
    if (argc > 2 && strcmp(argv[2], "micro") == 0)
        return 0;
    double v1[RUNS], v0[RUNS], n;
    for (int i = 0; i < RUNS; i++) {
        v1[i] = bench_reader(1, &n);
        v0[i] = bench_reader(0, &n);
    }
    printf("reader thread CPU per sample, calltree_mt 2 threads 999 Hz (%.0f samples/run): "
           "%.0f ns verifying call sites with process_vm_readv, %.0f ns trusting the mapping test\n",
           n, median(v1, RUNS), median(v0, RUNS));
    struct run r[5][RUNS];
    for (int i = 0; i < RUNS; i++) {
        r[0][i] = run_plain(iters);
        r[1][i] = run_ours(iters, 99);
        r[2][i] = run_ours(iters, 999);
        r[3][i] = run_perf(iters, 99);
        r[4][i] = run_perf(iters, 999);
    }
    const char *names[5] = { "no profiler", "stackstream 99 Hz", "stackstream 999 Hz",
                             "perf record -g -F 99", "perf record -g -F 999" };
    double base = 0;
    printf("\n%-24s %14s %10s %16s %14s\n", "fixedwork " , "target CPU ms", "slowdown", "collector CPU ms", "collector/sample");
    for (int k = 0; k < 5; k++) {
        double t[RUNS], c[RUNS], per[RUNS];
        int ok = 1;
        for (int i = 0; i < RUNS; i++) {
            t[i] = r[k][i].target_cpu / 1e6;
            c[i] = r[k][i].collector_cpu / 1e6;
            per[i] = r[k][i].samples > 0 ? r[k][i].collector_cpu / r[k][i].samples : 0;
            ok &= r[k][i].target_cpu > 0;
        }
        if (!ok) {
            printf("%-24s (failed: is perf installed?)\n", names[k]);
            continue;
        }
        double tm = median(t, RUNS);
        if (k == 0)
            base = tm;
        printf("%-24s %14.1f %9.2f%% %16.1f %11.0f ns\n", names[k], tm, (tm / base - 1) * 100,
               median(c, RUNS), median(per, RUNS));
    }
    return 0;
}
