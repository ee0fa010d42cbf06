/*
 * test_types.c - the profile types beside cpu against fixtures with known answers: wall time of
 * sleepspin splits 50/50 between spin() and doze(), its off-CPU time lies in doze() and adds up
 * to the time slept, and pagetouch's page faults split 70/30 between touch_big and touch_small.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "records.h"
#include "stackstream.h"

#define DRAIN_CAP (8 << 20)
#define NFN 2

typedef struct split {
    const char *exe;
    int is_pie, have_bias;
    uint32_t pid;
    uint64_t bias;
    uint64_t lo[NFN], hi[NFN];
    uint64_t weight[NFN], count[NFN];   /* by the first of the functions found in the user stack */
    uint64_t objects[NFN];              /* ALLOC: estimated allocations (the instructions slot) */
    uint64_t total_weight, total_count;
} split;

static void on_stack(const t_stack *st, void *arg)
{
    split *r = arg;
    r->total_weight += st->weight;
    r->total_count += st->count;
    if (!r->have_bias || st->pid != r->pid)
        return;
    for (int i = st->kernel_depth; i < st->depth; i++) {
        uint64_t a = st->ips[i] - r->bias;
        for (int f = 0; f < NFN; f++) {
            if (a >= r->lo[f] && a < r->hi[f]) {
                r->weight[f] += st->weight;
                r->count[f] += st->count;
                r->objects[f] += st->instructions;
                return;
            }
        }
    }
}

static void on_mmap(uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff, const uint8_t *id,
                    int id_len, const char *path, size_t path_len, void *arg)
{
    split *r = arg;
    (void)len;
    (void)id;
    (void)id_len;
    const char *base = strrchr(r->exe, '/');
    size_t bl = strlen(base);
    if (pid == r->pid && path_len >= bl && memcmp(path + path_len - bl, base, bl) == 0 &&
        !r->have_bias) {
        r->bias = r->is_pie ? start - pgoff : 0;
        r->have_bias = 1;
    }
}

static int load(split *r, const char *exe, const char *f0, const char *f1)
{
    memset(r, 0, sizeof(*r));
    r->exe = exe;
    FILE *f = fopen(exe, "rb");
    unsigned char hdr[18];
    int ok = f && fread(hdr, 1, sizeof(hdr), f) == sizeof(hdr);
    if (f)
        fclose(f);
    if (!ok)
        return 0;
    r->is_pie = hdr[16] == 3;
    return t_symbol(exe, f0, &r->lo[0], &r->hi[0]) && t_symbol(exe, f1, &r->lo[1], &r->hi[1]);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Spawns argv, samples it with event until it exits (draining every 300 ms); returns the exit
 * status or a negative code, with the wall time the command ran in *elapsed. */
static int run(const char *const *argv, int event, int64_t period, int ring_pages,
               int stack_bytes, split *r, ss_stats *st, double *elapsed)
{
    ss_options o;
    ss_options_init(&o);
    o.event = event;
    o.period = period;
    o.per_thread = 0;
    o.ring_pages = ring_pages;
    o.stack_bytes = stack_bytes;
    int32_t pid;
    ss_session *s = t_spawn_session(argv, &o, &pid);
    if (!s)
        return -1;
    r->pid = (uint32_t)pid;
    uint8_t *buf = malloc(DRAIN_CAP);
    t_visitor v = { on_stack, NULL, on_mmap, NULL, r };
    double t0 = mono_s();
    ss_resume(pid);
    int status, rc = 0;
    for (;;) {
        status = ss_wait(pid, 300);
        int64_t n = ss_drain(s, buf, DRAIN_CAP, NULL);
        rc |= n < 0 || t_walk(buf, (size_t)n, &v) < 0;
        if (status != -EAGAIN)
            break;
    }
    *elapsed = mono_s() - t0;
    ss_stop(s);
    int64_t n = ss_drain(s, buf, DRAIN_CAP, NULL);
    rc |= n < 0 || t_walk(buf, (size_t)n, &v) < 0;
    ss_get_stats(s, st);
    ss_close(s);
    free(buf);
    return rc ? -EINVAL : status;
}

/* The wall seconds sleepspin measured around its spin() and doze() calls (its report file). */
static int measured(const char *path, double *spin, double *doze)
{
    FILE *f = fopen(path, "r");
    int ok = f && fscanf(f, "spin %lf doze %lf", spin, doze) == 2;
    if (f)
        fclose(f);
    unlink(path);
    return ok;
}

/* spin 100 ms / nanosleep 100 ms, 10 rounds: wall time is about half spin, half doze; exactly,
 * it is what the fixture measured around the calls (a loaded machine makes each doze longer by
 * the wait for a CPU after the wake-up). On-CPU samples are a 1 ms clock (at most a period of
 * error per run of spin: 10 ms of 2 s) and off-CPU intervals are exact to the switch: the profile
 * must give the measured split within 1.5 points, and the measured split is 50/50 within 5.
 * Nothing may be lost: a lost switch-out takes a whole interval (up to 100 ms) out of doze. With
 * the defaults (16 KiB of stack per sample, a 512 KiB ring: ~30 samples) a reader that waited for
 * a CPU for 30 ms on a loaded machine lost 12-54 samples; the fixture's stacks are shallow, so
 * 4 KiB of stack and a 16 MiB ring (~3,700 samples) hold the whole run: ~2,000 on-CPU samples
 * plus a switch-out per sleep and per preemption. */
TEST(types_wall_sleep_spin_half_and_half)
{
    split r;
    const char *exe = t_fixture("sleepspin");
    CHECKF(load(&r, exe, "spin", "doze"), "symbols of %s", exe);
    char report[64];
    snprintf(report, sizeof(report), "/tmp/ss-sleepspin-%d", (int)getpid());
    const char *argv[] = { exe, "10", "100", report, NULL };
    ss_stats st;
    double elapsed = 0, m_spin = 0, m_doze = 0;
    int status = run(argv, SS_EVENT_WALL, 1, 4096, 4096, &r, &st, &elapsed);
    CHECKF(status == 0, "sleepspin exit status %d", status);
    CHECKF(measured(report, &m_spin, &m_doze), "no report from sleepspin in %s", report);
    double spin = (double)r.weight[0] / 1e9, doze = (double)r.weight[1] / 1e9;
    double share = spin / (spin + doze), truth = m_spin / (m_spin + m_doze);
    printf("    wall: spin %.3f s, doze %.3f s (spin share %.2f %%; measured %.3f / %.3f s = "
           "%.2f %%), all %.3f s of %.3f s elapsed, %llu off-CPU intervals, %llu unmatched, "
           "lost %llu\n", spin, doze, share * 100, m_spin, m_doze, truth * 100,
           (double)r.total_weight / 1e9, elapsed, (unsigned long long)st.offcpu_intervals,
           (unsigned long long)st.offcpu_unmatched, (unsigned long long)st.lost);
    CHECKF(st.lost == 0, "%llu samples lost", (unsigned long long)st.lost);
    CHECKF(share > truth - 0.015 && share < truth + 0.015, "spin share %.4f, measured %.4f",
           share, truth);
    CHECKF(truth > 0.45 && truth < 0.55, "the fixture itself measured spin %.4f", truth);
    /* Every nanosecond of the run is on or off CPU: the sum is the elapsed time (minus exec and
     * the last drain's latency). */
    CHECKF(spin + doze > 1.9 && (double)r.total_weight / 1e9 < elapsed * 1.02,
           "wall total %.3f s for %.3f s elapsed", (double)r.total_weight / 1e9, elapsed);
}

/* Off-CPU on the same fixture: doze's switch-outs hold the time slept, 10 x 100 ms, plus each
 * nanosleep's overshoot and the wait for a CPU after it. */
TEST(types_offcpu_lies_in_the_blocking_function)
{
    split r;
    const char *exe = t_fixture("sleepspin");
    CHECKF(load(&r, exe, "spin", "doze"), "symbols of %s", exe);
    const char *argv[] = { exe, "10", "100", NULL };
    ss_stats st;
    double elapsed = 0;
    int status = run(argv, SS_EVENT_OFF_CPU, 1, 0, 0, &r, &st, &elapsed);
    CHECKF(status == 0, "sleepspin exit status %d", status);
    double doze = (double)r.weight[1] / 1e9;
    printf("    off-CPU: doze %.3f s in %llu intervals, spin (preempted) %.3f s, all %.3f s\n", doze,
           (unsigned long long)r.count[1], (double)r.weight[0] / 1e9, (double)r.total_weight / 1e9);
    /* At least the time slept; at most what spin's 1 s of wall time leaves of the run (the rest
     * is waiting for a CPU after each wake-up, off CPU too: seconds on a loaded machine). */
    CHECKF(doze >= 1.0 && doze <= elapsed - 1.0, "doze off CPU %.3f s, expected 1.0 .. %.3f",
           doze, elapsed - 1.0);
    CHECKF(r.count[1] >= 10, "only %llu off-CPU intervals in doze", (unsigned long long)r.count[1]);
    CHECK(st.offcpu_intervals >= 10);
}

/* Every page fault of pagetouch (period 1): 70 % in touch_big, 30 % in touch_small, apart from a
 * few hundred faults of exec and libc start-up outside both. Counting every fault leaves no
 * sampling noise: one point of margin. Faults come every few µs, so with the default 16 KiB of
 * stack per sample and a 512 KiB ring most would be lost (sample every Nth fault instead); the
 * fixture's stacks are shallow, so 1 KiB of stack per sample (~1.4 KiB a record), and a 32 MiB
 * ring holds all ~16,500 faults of the run: none may be lost however late the reader gets a CPU
 * (an 8 MiB ring, ~6,000 records, lost 231-2,211 faults on a loaded machine). */
TEST(types_page_faults_split_70_30)
{
    split r;
    const char *exe = t_fixture("pagetouch");
    CHECKF(load(&r, exe, "touch_big", "touch_small"), "symbols of %s", exe);
    const char *argv[] = { exe, "64", NULL };
    ss_stats st;
    double elapsed = 0;
    int status = run(argv, SS_EVENT_PAGE_FAULTS, 1, 8192, 1024, &r, &st, &elapsed);
    CHECKF(status == 0, "pagetouch exit status %d", status);
    double share = (double)r.count[0] / (double)(r.count[0] + r.count[1]);
    printf("    page faults: touch_big %llu, touch_small %llu (%.2f %%), all %llu, lost %llu\n",
           (unsigned long long)r.count[0], (unsigned long long)r.count[1], share * 100,
           (unsigned long long)r.total_count, (unsigned long long)st.lost);
    CHECKF(st.lost == 0, "%llu faults lost", (unsigned long long)st.lost);
    CHECKF(r.count[0] + r.count[1] >= 15800, "only %llu faults in the touch functions",
           (unsigned long long)(r.count[0] + r.count[1]));
    CHECKF(share > 0.69 && share < 0.71, "touch_big share %.4f outside 0.70 +- 0.01", share);
}

/* What allocsplit reports for one function: calls, bytes and the standard deviations of their
 * estimates at the sampling interval it was given. */
typedef struct alloc_truth {
    double calls, bytes, sd_calls, sd_bytes;
} alloc_truth;

static int alloc_report(const char *path, alloc_truth t[NFN])
{
    FILE *f = fopen(path, "r");
    int ok = f && fscanf(f, "hot_alloc %lf %lf %lf %lf cold_alloc %lf %lf %lf %lf", &t[0].calls,
                         &t[0].bytes, &t[0].sd_calls, &t[0].sd_bytes, &t[1].calls, &t[1].bytes,
                         &t[1].sd_calls, &t[1].sd_bytes) == 8;
    if (f)
        fclose(f);
    unlink(path);
    return ok;
}

/* allocsplit: 256 MiB, 70 % of the bytes from hot_alloc (malloc), 30 % from cold_alloc (calloc,
 * realloc), sampled every 64 KiB on average: ~4,100 samples. The estimates of each function's
 * bytes and calls must lie within 4 standard deviations of what the fixture asked for, the
 * deviations computed by the fixture from its own allocation sizes (Horvitz-Thompson variance;
 * 4 sd: a false failure once in ~16,000 runs per check). At 64 KiB the bytes of hot_alloc have an
 * sd of ~1.8 %, its calls ~3.3 %; the 70/30 split itself is checked to +-2 points (~3.5 sd of
 * the share). */
static void alloc_split(const char *threads)
{
    split r;
    const char *exe = t_fixture("allocsplit");
    CHECKF(load(&r, exe, "hot_alloc", "cold_alloc"), "symbols of %s", exe);
    char report[64];
    snprintf(report, sizeof(report), "/tmp/ss-allocsplit-%d", (int)getpid());
    const char *argv[] = { exe, "256", "65536", report, threads, NULL };
    ss_stats st;
    double elapsed = 0;
    int status = run(argv, SS_EVENT_ALLOC, 65536, 4096, 4096, &r, &st, &elapsed);
    alloc_truth t[NFN];
    CHECKF(status == 0, "allocsplit exit status %d", status);
    CHECKF(alloc_report(report, t), "no report from allocsplit");
    double share = (double)r.weight[0] / (double)(r.weight[0] + r.weight[1]);
    printf("    alloc: %llu samples in %.2f s; hot_alloc %.1f MiB (asked %.1f, sd %.2f) %llu calls "
           "(asked %.0f, sd %.0f); cold_alloc %.1f MiB (asked %.1f, sd %.2f) %llu calls (asked "
           "%.0f, sd %.0f); share %.2f %%, lost %llu\n",
           (unsigned long long)st.samples, elapsed, r.weight[0] / 1048576.0,
           t[0].bytes / 1048576.0, t[0].sd_bytes / 1048576.0, (unsigned long long)r.objects[0],
           t[0].calls, t[0].sd_calls, r.weight[1] / 1048576.0, t[1].bytes / 1048576.0,
           t[1].sd_bytes / 1048576.0, (unsigned long long)r.objects[1], t[1].calls,
           t[1].sd_calls, share * 100, (unsigned long long)st.lost);
    CHECKF(st.lost == 0, "%llu samples lost", (unsigned long long)st.lost);
    for (int f = 0; f < NFN; f++) {
        CHECKF(fabs((double)r.weight[f] - t[f].bytes) <= 4 * t[f].sd_bytes,
               "function %d: %llu bytes estimated, %.0f asked, sd %.0f", f,
               (unsigned long long)r.weight[f], t[f].bytes, t[f].sd_bytes);
        CHECKF(fabs((double)r.objects[f] - t[f].calls) <= 4 * t[f].sd_calls,
               "function %d: %llu calls estimated, %.0f made, sd %.0f", f,
               (unsigned long long)r.objects[f], t[f].calls, t[f].sd_calls);
    }
    CHECKF(share > 0.68 && share < 0.72, "hot_alloc share %.4f outside 0.70 +- 0.02", share);
}

TEST(types_alloc_split_70_30_by_bytes)
{
    alloc_split("1");
}

/* The same work on 4 threads: each thread's events see every thread's calls (uprobes are per
 * process), and the sampler must count each call once, for its own thread only. */
TEST(types_alloc_split_on_four_threads)
{
    alloc_split("4");
}

/* A target whose C library has no such function cannot be probed: the message says which. */
TEST(types_alloc_refuses_a_static_binary)
{
    const char *exe = t_fixture("allocsplit_static");
    const char *argv[] = { exe, "1000000", NULL };   /* runs until killed */
    ss_options o;
    ss_options_init(&o);
    o.event = SS_EVENT_ALLOC;
    o.period = 65536;
    int32_t pid = ss_spawn(argv, NULL, 0);
    CHECK(pid > 0);
    ss_resume(pid);
    /* Held before exec the child is a copy of this process (with libc): wait for the exec. */
    char exe_link[64], target[4096];
    snprintf(exe_link, sizeof(exe_link), "/proc/%d/exe", (int)pid);
    for (int i = 0; i < 2000; i++) {
        ssize_t n = readlink(exe_link, target, sizeof(target) - 1);
        if (n > 0 && (target[n] = '\0', strstr(target, "allocsplit_static")))
            break;
        usleep(1000);
    }
    o.pid = pid;
    char err[512];
    int32_t code = 0;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    kill(pid, SIGKILL);
    ss_wait(pid, -1);
    CHECK(s == NULL);
    CHECKF(code == -ENOENT && strstr(err, "no shared C library"), "%d %s", code, err);
}

/* A process that is gone by the time the probes would be attached: no such process. */
TEST(types_alloc_target_gone)
{
    const char *argv[] = { "true", NULL };
    int32_t pid = ss_spawn(argv, NULL, 0);
    CHECK(pid > 0);
    ss_resume(pid);
    CHECK(ss_wait(pid, -1) == 0);
    ss_options o;
    ss_options_init(&o);
    o.event = SS_EVENT_ALLOC;
    o.period = 65536;
    o.pid = pid;
    char err[512];
    int32_t code = 0;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECK(s == NULL);
    CHECKF(code == -ESRCH && strstr(err, "no such process"), "%d %s", code, err);
}

/* Every uprobe fd, link and BPF object is gone after ss_close, though exited threads' fds are
 * closed on the closer thread. */
TEST(types_alloc_open_close_no_fd_leak)
{
    const char *exe = t_fixture("allocsplit");
    const char *argv[] = { exe, "1000000", "65536", "/dev/null", NULL };
    int before = t_count_fds();
    for (int i = 0; i < 3; i++) {
        ss_options o;
        ss_options_init(&o);
        o.event = SS_EVENT_ALLOC;
        o.period = 65536;
        int32_t pid;
        ss_session *s = t_spawn_session(argv, &o, &pid);
        CHECK(s != NULL);
        ss_resume(pid);
        usleep(50000);
        kill(pid, SIGKILL);
        ss_wait(pid, -1);
        ss_close(s);
    }
    CHECKF(t_count_fds() == before, "%d fds before, %d after", before, t_count_fds());
}

TEST(types_alloc_bad_options)
{
    ss_options o;
    ss_options_init(&o);
    o.event = SS_EVENT_ALLOC;
    o.kernel_mode = SS_KERNEL_YES;
    char err[512];
    int32_t code = 0;
    CHECK(ss_open(&o, &code, err, sizeof(err)) == NULL);
    CHECKF(code == -EINVAL && strstr(err, "user frames only"), "%d %s", code, err);
    o.kernel_mode = SS_KERNEL_AUTO;
    o.target_kind = SS_TARGET_CGROUP;
    o.cgroup_path = "/sys/fs/cgroup";
    CHECK(ss_open(&o, &code, err, sizeof(err)) == NULL);
    CHECKF(code == -EOPNOTSUPP && strstr(err, "process target"), "%d %s", code, err);
}

TEST(types_offcpu_refuses_a_cgroup_target)
{
    ss_options o;
    ss_options_init(&o);
    o.target_kind = SS_TARGET_CGROUP;
    o.cgroup_path = "/sys/fs/cgroup";
    o.event = SS_EVENT_WALL;
    char err[512];
    int32_t code = 0;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECK(s == NULL);
    CHECKF(code == -EOPNOTSUPP && strstr(err, "process target"), "%d %s", code, err);
}
