/*
 * test_e2e.c - the library against real processes: the calltree fixtures, a pid that does not
 * exist, a target that exits, self-profiling, and open/close cycles that must not leak fds.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "records.h"
#include "stackstream.h"

#define DRAIN_CAP (8 << 20)

typedef struct fn_range { uint64_t lo, hi; } fn_range;

typedef struct tree_result {
    const char *exe;             /* fixture path (symbols) */
    int exe_is_pie;
    uint64_t bias;               /* load bias of the fixture's text mapping, per pid (one here) */
    int have_bias;
    fn_range main_, a, b, c;     /* file addresses */
    uint64_t leaf_b, leaf_c, leaf_b_full, total, worker_samples, comm_workers, exits, thread_exits;
    uint32_t pid;
    uint32_t worker_tids[8];
    int nworkers;
    /* stacks are kept raw until the bias is known (the MMAP record comes first in each drain) */
} tree_result;

static int in_fn(const tree_result *r, const fn_range *f, uint64_t ip)
{
    uint64_t a = ip - r->bias;
    return a >= f->lo && a < f->hi;
}

static void on_stack(const t_stack *s, void *arg)
{
    tree_result *r = arg;
    if (!r->have_bias || s->depth == 0 || s->kernel_depth >= s->depth)
        return;
    const uint64_t *u = s->ips + s->kernel_depth;   /* user part, leaf first */
    int n = s->depth - s->kernel_depth;
    r->total += s->count;
    if (s->tid != s->pid)
        r->worker_samples += s->count;
    if (in_fn(r, &r->b, u[0])) {
        r->leaf_b += s->count;
        if (n >= 3 && in_fn(r, &r->a, u[1]) && in_fn(r, &r->main_, u[2]))
            r->leaf_b_full += s->count;
        else if (n >= 3 && in_fn(r, &r->a, u[1]))
            r->leaf_b_full += s->count;   /* calltree_mt: a's caller is burn/worker, not main */
    } else if (in_fn(r, &r->c, u[0])) {
        r->leaf_c += s->count;
    }
}

static void on_mmap(uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff, const uint8_t *id,
                    int id_len, const char *path, size_t path_len, void *arg)
{
    tree_result *r = arg;
    (void)len;
    (void)id;
    (void)id_len;
    size_t el = strlen(r->exe);
    const char *base = strrchr(r->exe, '/');
    size_t bl = base ? strlen(base) : el;
    if (pid == r->pid && path_len >= bl && memcmp(path + path_len - bl, base ? base : r->exe, bl) == 0) {
        /* PIE text segments have p_offset == p_vaddr (GNU ld), so start - pgoff is the bias. */
        r->bias = r->exe_is_pie ? start - pgoff : 0;
        r->have_bias = 1;
    }
}

static void on_comm(uint32_t pid, uint32_t tid, const char *name, int exec, void *arg)
{
    tree_result *r = arg;
    (void)exec;
    if (pid == r->pid && strncmp(name, "worker-", 7) == 0 && tid != pid)
        r->comm_workers++;
}

static void on_exit_rec(uint32_t pid, uint32_t tid, void *arg)
{
    tree_result *r = arg;
    if (pid == r->pid && tid == pid)
        r->exits++;
    else if (pid == r->pid)
        r->thread_exits++;
}

static int load_symbols(tree_result *r, const char *exe)
{
    memset(r, 0, sizeof(*r));
    r->exe = exe;
    FILE *f = fopen(exe, "rb");
    unsigned char hdr[18];
    if (!f || fread(hdr, 1, sizeof(hdr), f) != sizeof(hdr)) {
        if (f)
            fclose(f);
        return 0;
    }
    fclose(f);
    r->exe_is_pie = hdr[16] == 3;   /* ET_DYN */
    return t_symbol(exe, "main", &r->main_.lo, &r->main_.hi) &&
           t_symbol(exe, "a", &r->a.lo, &r->a.hi) && t_symbol(exe, "b", &r->b.lo, &r->b.hi) &&
           t_symbol(exe, "c", &r->c.lo, &r->c.hi);
}

static int drain_into(ss_session *s, uint8_t *buf, tree_result *r)
{
    int64_t needed = 0;
    int64_t n = ss_drain(s, buf, DRAIN_CAP, &needed);
    if (n < 0)
        return (int)n;
    t_visitor v = { on_stack, on_comm, on_mmap, on_exit_rec, r };
    return t_walk(buf, (size_t)n, &v) < 0 ? -EINVAL : 0;
}

/* How profile_fixture_with samples a fixture; zeros are the defaults. */
typedef struct {
    int per_thread, unwind;
    int64_t unwind_cache_bytes;   /* cap of the unwind tables (default SS_DEFAULT_UNWIND_CACHE_BYTES) */
    int hz;                       /* sampling rate (default 999) */
    int drain_ms;                 /* drain period (default 500) */
    int rescan_ms;                /* thread rescan period (default that of ss_options_init) */
} fixture_run;

/* Spawns a fixture and samples it until it exits, draining every drain_ms. */
static int profile_fixture_with(const char *const *argv, tree_result *r, fixture_run run, ss_stats *st);

static int profile_fixture(const char *const *argv, tree_result *r, int per_thread, int unwind,
                           ss_stats *st)
{
    return profile_fixture_with(argv, r, (fixture_run){ .per_thread = per_thread, .unwind = unwind }, st);
}

static int profile_fixture_with(const char *const *argv, tree_result *r, fixture_run run, ss_stats *st)
{
    ss_options o;
    ss_options_init(&o);
    if (run.hz > 0)
        o.frequency_hz = run.hz;
    o.per_thread = run.per_thread;
    o.unwind = run.unwind;
    o.unwind_cache_bytes = run.unwind_cache_bytes;
    if (run.rescan_ms > 0)
        o.rescan_ms = run.rescan_ms;
    int32_t pid;
    ss_session *s = t_spawn_session(argv, &o, &pid);
    if (!s)
        return -1;
    r->pid = (uint32_t)pid;
    uint8_t *buf = malloc(DRAIN_CAP);
    ss_resume(pid);
    int status, rc = 0;
    while ((status = ss_wait(pid, run.drain_ms > 0 ? run.drain_ms : 500)) == -EAGAIN)
        rc |= drain_into(s, buf, r);
    ss_stop(s);
    rc |= drain_into(s, buf, r);
    ss_get_stats(s, st);
    ss_close(s);
    free(buf);
    return rc < 0 ? rc : status;
}

/* A calltree fixture in one unwinding mode: the 70/30 split and the full main;a;b chain. With
 * frame pointers FP needs the leaf-caller fix-up for that chain; AUTO unwinds by CFI, which is the
 * only way through calltree_nofp (-O2 -fomit-frame-pointer). */
static void calltree_split(const char *fixture, int unwind, const char *name)
{
    tree_result r;
    const char *exe = t_fixture(fixture);
    CHECKF(load_symbols(&r, exe), "symbols of %s (nm from binutils needed)", exe);
    const char *argv[] = { exe, "5", NULL };
    ss_stats st;
    int status = profile_fixture(argv, &r, 0, unwind, &st);
    CHECKF(status == 0, "fixture exit status %d", status);
    CHECKF(r.have_bias, "no MMAP record for the fixture binary");
    double share = (double)r.leaf_b / (double)(r.leaf_b + r.leaf_c);
    double full = (double)r.leaf_b_full / (double)r.leaf_b;
    printf("    %s (%s): %llu samples, b %llu c %llu -> b share %.2f %%, main;a;b %.2f %% of b, "
           "fixups %llu, cfi frames %llu, lost %llu\n", fixture, name, (unsigned long long)r.total,
           (unsigned long long)r.leaf_b, (unsigned long long)r.leaf_c, share * 100, full * 100,
           (unsigned long long)st.leaf_fixups, (unsigned long long)st.cfi_frames,
           (unsigned long long)st.lost);
    CHECKF(r.leaf_b + r.leaf_c >= 4000, "only %llu samples in b or c",
           (unsigned long long)(r.leaf_b + r.leaf_c));
    CHECKF(share > 0.68 && share < 0.72, "b share %.4f outside 0.70 +- 0.02", share);
    CHECKF(full > 0.95, "main;a;b in only %.2f %% of b samples", full * 100);
    if (unwind == SS_UNWIND_FP)
        CHECK(st.leaf_fixups > 0 && st.unwound == 0);
    else
        CHECK(st.cfi_frames > st.samples && st.unwound + st.exec_loading == st.samples);
    /* the default cap holds every table of a small program: compiled once each, never evicted */
    CHECK(st.unwind_evictions == 0 &&
          st.unwind_tables == st.unwind_modules + st.unwind_debug_frame_tables);
    CHECK(st.unwind_cache_bytes == (uint64_t)SS_DEFAULT_UNWIND_CACHE_BYTES);
    CHECK(st.instructions_available == 0 || st.instructions_available == 1);
    if (strstr(fixture, "dbgframe"))
        CHECKF(st.unwind_debug_frame_tables >= 1, "no .debug_frame table compiled");
}

TEST(e2e_calltree_split_and_full_chain)
{
    calltree_split("calltree", SS_UNWIND_FP, "fp");
}

TEST(e2e_calltree_split_and_full_chain_cfi)
{
    calltree_split("calltree", SS_UNWIND_AUTO, "auto");
}

TEST(e2e_calltree_nofp_split_and_full_chain_cfi)
{
    calltree_split("calltree_nofp", SS_UNWIND_AUTO, "auto");
}

TEST(e2e_calltree_nofp_split_and_full_chain_cfi_only)
{
    calltree_split("calltree_nofp", SS_UNWIND_CFI, "cfi");
}

/* No .eh_frame for main, a, b, c: their CFI is only in the debug file that .gnu_debuglink names. */
TEST(e2e_calltree_debug_frame_from_debuglink)
{
    calltree_split("calltree_dbgframe", SS_UNWIND_CFI, "cfi, .debug_frame");
}

TEST(e2e_calltree_mt_late_threads_sampled)
{
    tree_result r;
    const char *exe = t_fixture("calltree_mt");
    CHECK(load_symbols(&r, exe));
    const char *argv[] = { exe, "1.5", "2", NULL };
    ss_stats st;
    int status = profile_fixture(argv, &r, 1, SS_UNWIND_AUTO, &st);
    CHECKF(status == 0, "fixture exit status %d", status);
    double share = (double)r.leaf_b / (double)(r.leaf_b + r.leaf_c);
    printf("    calltree_mt: %llu samples, %llu in worker threads, b share %.2f %%, "
           "threads attached %llu exited %llu\n", (unsigned long long)r.total,
           (unsigned long long)r.worker_samples, share * 100,
           (unsigned long long)st.threads_attached, (unsigned long long)st.threads_exited);
    CHECKF(r.worker_samples > 2000, "late threads gave only %llu samples",
           (unsigned long long)r.worker_samples);
    CHECKF(st.threads_attached >= 3, "attached %llu threads", (unsigned long long)st.threads_attached);
    CHECKF(r.comm_workers >= 2, "COMM worker-N records: %llu", (unsigned long long)r.comm_workers);
    CHECKF(r.exits == 1, "process EXIT records: %llu", (unsigned long long)r.exits);
    CHECKF(r.thread_exits == 2, "thread EXIT records: %llu", (unsigned long long)r.thread_exits);
    CHECK(st.threads_exited >= 2);
}

/* At 99 Hz the reader sweeps every 200 ms once no thread has appeared for 2 s: threads started
 * after 3 s of quiet (main ran first, so the exec is settled) are still attached by their FORK
 * records within that sweep, losing at most a fifth of a second each. 3 workers x 2 s at 99 Hz is
 * ~594 samples (a CPU-bound thread's cpu-clock samples vary by one or two); each may lose <= 20
 * (attach); a reader that waited for the 1 s rescan would lose ~150, a 900 ms sweep ~135. */
TEST(e2e_threads_after_a_quiet_spell_attached_at_low_rate)
{
    tree_result r;
    const char *exe = t_fixture("calltree_mt");
    CHECK(load_symbols(&r, exe));
    const char *argv[] = { exe, "2", "3", "3000", NULL };
    ss_stats st;
    /* as the sidecar runs (a rescan a second); drains (each wakes the reader) rarer than the quiet
     * sweep, so the sweep is what is tested */
    fixture_run run = { .per_thread = 1, .unwind = SS_UNWIND_AUTO, .hz = 99, .drain_ms = 2000,
                        .rescan_ms = 1000 };
    int status = profile_fixture_with(argv, &r, run, &st);
    CHECKF(status == 0, "fixture exit status %d", status);
    printf("    calltree_mt after 3 s idle at 99 Hz: %llu worker samples of ~594, threads attached %llu, "
           "lost %llu\n", (unsigned long long)r.worker_samples, (unsigned long long)st.threads_attached,
           (unsigned long long)st.lost);
    CHECKF(st.threads_attached >= 4, "attached %llu threads", (unsigned long long)st.threads_attached);
    CHECKF(r.worker_samples >= 594 - 3 * 20 - 10 && r.worker_samples <= 594 + 10,
           "workers gave %llu samples, ~594 expected", (unsigned long long)r.worker_samples);
}

/* Threads without frame pointers: every worker's b samples unwound through a (and burn, worker,
 * start_thread) by CFI, and the split as in one thread. */
TEST(e2e_calltree_mt_nofp_threads_unwound)
{
    tree_result r;
    const char *exe = t_fixture("calltree_mt_nofp");
    CHECK(load_symbols(&r, exe));
    const char *argv[] = { exe, "2.5", "2", NULL };
    ss_stats st;
    int status = profile_fixture(argv, &r, 1, SS_UNWIND_AUTO, &st);
    CHECKF(status == 0, "fixture exit status %d", status);
    double share = (double)r.leaf_b / (double)(r.leaf_b + r.leaf_c);
    double full = (double)r.leaf_b_full / (double)r.leaf_b;
    printf("    calltree_mt_nofp: %llu samples, %llu in workers, b share %.2f %%, a;b %.2f %% of b, "
           "cut copy/no-cfi/corrupt %llu/%llu/%llu\n", (unsigned long long)r.total,
           (unsigned long long)r.worker_samples, share * 100, full * 100,
           (unsigned long long)st.cut_stack_copy, (unsigned long long)st.cut_no_unwind_info,
           (unsigned long long)st.cut_corrupt);
    CHECKF(r.worker_samples > 3000, "workers gave only %llu samples",
           (unsigned long long)r.worker_samples);
    /* ~4,500 samples in b or c: binomial SE of the share ~0.7 pp, so +-2.5 pp is > 3 sigma */
    CHECKF(share > 0.675 && share < 0.725, "b share %.4f outside 0.70 +- 0.025", share);
    CHECKF(full > 0.95, "a;b in only %.2f %% of b samples", full * 100);
    CHECK(st.unwind_modules >= 2 && st.cfi_frames > 2 * st.samples);
}

/* The unwind tables' cap: with room for about one table, the C++ fixture's three modules (its
 * binary, libstdc++, libc) take turns: tables are evicted and compiled again, memory stays under
 * the cap, and the tables held never exceed the modules seen. */
TEST(e2e_unwind_cache_cap_evicts_least_recently_used)
{
    tree_result r;
    const char *argv[] = { t_fixture("calltree_cxx"), "0.3", "1", NULL };
    memset(&r, 0, sizeof(r));
    r.exe = argv[0];
    ss_stats st;
    int64_t cap = 256 << 10;
    int status = profile_fixture_with(argv, &r, (fixture_run){ .unwind = SS_UNWIND_AUTO, .unwind_cache_bytes = cap }, &st);
    CHECKF(status == 0, "fixture exit status %d", status);
    printf("    cap %lld: %llu tables compiled, %llu held, %llu evictions, %llu bytes held, "
           "%llu samples\n", (long long)cap, (unsigned long long)st.unwind_modules,
           (unsigned long long)st.unwind_tables, (unsigned long long)st.unwind_evictions,
           (unsigned long long)st.unwind_table_bytes, (unsigned long long)st.samples);
    CHECK(st.unwind_cache_bytes == (uint64_t)cap);
    CHECK(st.unwind_table_bytes <= (uint64_t)cap);
    CHECK(st.unwind_evictions > 0 &&
          st.unwind_modules + st.unwind_debug_frame_tables > st.unwind_tables);
    CHECK(st.unwind_tables >= 1 && st.unwind_tables <= 3);

    ss_options o;
    ss_options_init(&o);
    CHECK(o.unwind_cache_bytes == 0);
    o.unwind_cache_bytes = -1;
    char err[256];
    int32_t code = 0;
    CHECK(ss_open(&o, &code, err, sizeof(err)) == NULL && code == -EINVAL);
    CHECKF(strstr(err, "unwind_cache_bytes") != NULL, "message: %s", err);
}

TEST(e2e_no_such_process)
{
    ss_options o;
    ss_options_init(&o);
    o.pid = 0x3ffffff0;   /* above pid_max on every configuration */
    char err[512] = "";
    int32_t code = 0;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECK(s == NULL);
    CHECKF(code == -ESRCH, "code %d", code);
    CHECKF(strstr(err, "no such process") != NULL, "message: %s", err);
    CHECK(strstr(err, "1073741808") != NULL);
}

TEST(e2e_bad_options)
{
    ss_options o;
    ss_options_init(&o);
    o.ring_pages = 3;
    char err[512] = "";
    int32_t code = 0;
    CHECK(ss_open(&o, &code, err, sizeof(err)) == NULL);
    CHECK(code == -EINVAL && strstr(err, "ring_pages") != NULL);
    ss_options_init(&o);
    o.max_depth = 0;
    CHECK(ss_open(&o, &code, err, sizeof(err)) == NULL && code == -EINVAL);
    CHECK(ss_open(NULL, &code, err, sizeof(err)) == NULL && code == -EINVAL);
    ss_options_init(&o);
    o.target_kind = SS_TARGET_CGROUP;
    o.cgroup_path = "/nonexistent/cgroup";
    CHECK(ss_open(&o, &code, err, sizeof(err)) == NULL && code == -ENOENT);
    CHECKF(strstr(err, "/nonexistent/cgroup") != NULL, "message: %s", err);
}

TEST(e2e_target_exits_keeps_samples)
{
    const char *argv[] = { t_fixture("calltree"), "0.4", NULL };
    char err[512];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    CHECK(pid > 0);
    ss_options o;
    ss_options_init(&o);
    o.pid = pid;
    int32_t code;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECKF(s != NULL, "%s", err);
    CHECK(ss_target_alive(s) == 1);
    ss_resume(pid);
    CHECK(ss_wait(pid, 20000) == 0);
    for (int i = 0; i < 100 && ss_target_alive(s); i++)
        usleep(10000);
    CHECK(ss_target_alive(s) == 0);
    ss_stats st;
    ss_get_stats(s, &st);
    CHECK(st.open_fds == 0);
    int64_t needed = 0;
    CHECK(ss_drain(s, NULL, 0, &needed) == -ENOSPC && needed > 0);
    uint8_t *buf = malloc((size_t)needed);
    int64_t n = ss_drain(s, buf, needed, NULL);
    CHECKF(n == needed, "drained %lld of %lld", (long long)n, (long long)needed);
    tree_result r;
    memset(&r, 0, sizeof(r));
    r.pid = (uint32_t)pid;
    t_visitor v = { NULL, NULL, NULL, on_exit_rec, &r };
    CHECK(t_walk(buf, (size_t)n, &v) > 0);
    CHECK(r.exits == 1);
    ss_get_stats(s, &st);
    CHECKF(st.samples >= 300, "samples %llu", (unsigned long long)st.samples);
    CHECK(ss_stop(s) == 0);
    ss_close(s);
    free(buf);
}

static volatile uint64_t self_sink;

static __attribute__((noinline)) void self_burn(double seconds)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 100000; i++)
            self_sink = self_sink * 31 + (uint64_t)i;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
}

struct self_count { uint32_t pid, tid; uint64_t mine, other; };

static void count_self(const t_stack *s, void *arg)
{
    struct self_count *c = arg;
    if (s->pid == c->pid && s->tid == c->tid)
        c->mine += s->count;
    else
        c->other += s->count;
}

static int count_tasks(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

TEST(e2e_self_profiling)
{
    int tasks = count_tasks();
    ss_options o;
    ss_options_init(&o);   /* pid 0: this process */
    char err[512];
    int32_t code;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECKF(s != NULL, "%s", err);
    self_burn(0.3);
    CHECK(count_tasks() == tasks + 1);    /* the reader thread exists ... */
    ss_stop(s);
    ss_stats st;
    ss_get_stats(s, &st);
    CHECKF(st.threads_attached == (uint64_t)tasks, "attached %llu of %d threads (the reader must "
           "not sample itself)", (unsigned long long)st.threads_attached, tasks);
    int64_t needed = 0;
    ss_drain(s, NULL, 0, &needed);
    uint8_t *buf = malloc((size_t)needed + 1);
    int64_t n = ss_drain(s, buf, needed, NULL);
    struct self_count c = { (uint32_t)getpid(), (uint32_t)gettid(), 0, 0 };
    t_visitor v = { count_self, NULL, NULL, NULL, &c };
    int recs = t_walk(buf, (size_t)n, &v);
    free(buf);
    ss_close(s);
    CHECK(recs > 0);
    CHECKF(c.mine >= 150, "own thread samples %llu (other %llu)", (unsigned long long)c.mine,
           (unsigned long long)c.other);
}

TEST(e2e_open_close_cycles_no_fd_leak)
{
    const char *argv[] = { "sleep", "60", NULL };
    char err[512];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    CHECK(pid > 0);
    ss_resume(pid);
    int before = t_count_fds();
    int cycles = getenv("SS_SANITIZE") ? 100 : 200;
    uint8_t buf[4096];
    for (int i = 0; i < cycles; i++) {
        ss_options o;
        ss_options_init(&o);
        o.pid = (i % 4 == 3) ? 0 : pid;   /* every fourth cycle profiles this process */
        int32_t code;
        ss_session *s = ss_open(&o, &code, err, sizeof(err));
        CHECKF(s != NULL, "cycle %d: %s", i, err);
        int64_t needed;
        ss_drain(s, buf, sizeof(buf), &needed);
        ss_close(s);
    }
    int after = t_count_fds();
    kill(pid, SIGKILL);
    CHECK(ss_wait(pid, -1) == 128 + SIGKILL);
    CHECKF(after == before, "fds before %d after %d", before, after);
}

TEST(e2e_spawn_command_not_found)
{
    const char *argv[] = { "stackstream-no-such-command-xyz", NULL };
    char err[512];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    CHECK(pid > 0);
    CHECK(ss_wait(pid, 0) == -EAGAIN);     /* held before exec */
    CHECK(ss_resume(pid) == 0);
    CHECK(ss_wait(pid, -1) == 127);
    CHECK(ss_resume(pid) == -ECHILD);
    const char *sh[] = { "sh", "-c", "exit 7", NULL };
    pid = ss_spawn(sh, err, sizeof(err));
    CHECK(pid > 0 && ss_resume(pid) == 0);
    CHECK(ss_wait(pid, 10000) == 7);
    const char *none[] = { NULL };
    CHECK(ss_spawn(none, err, sizeof(err)) == -EINVAL);
}

TEST(e2e_spawned_command_inherits_no_extra_fds)
{
    int fd = open("/dev/null", O_RDONLY);     /* no O_CLOEXEC, as a JVM's files often are */
    CHECK(fd >= 0 && dup2(fd, 57) == 57);
    const char *argv[] = { "sh", "-c", "[ ! -e /proc/$$/fd/57 ]", NULL };
    char err[512];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    CHECK(pid > 0 && ss_resume(pid) == 0);
    int status = ss_wait(pid, 10000);
    close(57);
    close(fd);
    CHECKF(status == 0, "the command saw fd 57 (status %d)", status);
}

struct lib_seen { uint32_t pid; int found, build_id_len; };

static void lib_mmap(uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff, const uint8_t *id,
                     int id_len, const char *path, size_t path_len, void *arg)
{
    struct lib_seen *l = arg;
    (void)start; (void)len; (void)pgoff; (void)id;
    if (pid == l->pid && memmem(path, path_len, "libm.so", 7)) {
        l->found++;
        l->build_id_len = id_len;
    }
}

TEST(e2e_library_loaded_after_attach_is_reported)
{
    if (dlopen("libm.so.6", RTLD_NOLOAD | RTLD_NOW)) {
        printf("    skipped: libm is already loaded\n");
        return;
    }
    ss_options o;
    ss_options_init(&o);
    char err[512];
    int32_t code;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECKF(s != NULL, "%s", err);
    void *h = dlopen("libm.so.6", RTLD_NOW);   /* a new executable mapping: PERF_RECORD_MMAP2 */
    CHECK(h != NULL);
    uint8_t *buf = malloc(1 << 20);
    int64_t n = ss_drain(s, buf, 1 << 20, NULL);
    struct lib_seen l = { (uint32_t)getpid(), 0, 0 };
    t_visitor v = { NULL, NULL, lib_mmap, NULL, &l };
    CHECK(n > 0 && t_walk(buf, (size_t)n, &v) > 0);
    free(buf);
    ss_close(s);
    dlclose(h);
    CHECKF(l.found >= 1, "no MMAP record for libm loaded after attach");
    CHECKF(l.build_id_len == 20, "libm build-id length %d", l.build_id_len);
}
