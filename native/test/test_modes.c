/*
 * test_modes.c - errors that need another identity or limit (run in a forked child that drops
 * root), the cgroup target, other events, and following children.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "records.h"
#include "stackstream.h"

/* Runs fn in a child (so setuid and rlimits stay there); the child's exit code is fn's. */
static int in_child(int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

/* Runs check in a child that drops root (its exit code: 0 passed, else which step failed);
 * skipped unless root and `ok`, with `also` telling what else the check needs. */
#define CHECK_AS_NOBODY(check, ok, also)                                                    \
    do {                                                                                    \
        if (getuid() != 0 || !(ok)) {                                                       \
            printf("    skipped: needs root to drop privileges%s\n", also);                \
            return;                                                                         \
        }                                                                                   \
        int rc_ = in_child(check);                                                          \
        CHECKF(rc_ == 0, "child check %d failed", rc_);                                     \
    } while (0)

static long paranoid(void)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    long v = 99;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 99;
        fclose(f);
    }
    return v;
}

static int drop_root(void)
{
    return setgid(65534) == 0 && setuid(65534) == 0 ? 0 : -1;
}

/* Opens o expecting a refusal for want of privilege, its message naming each of words (NULL
 * ends them): 0 as expected, 11 it opened, 12 another code or message. */
static int refused_naming(const ss_options *o, const char *const words[])
{
    char err[1024];
    int32_t code = 0;
    ss_session *s = ss_open(o, &code, err, sizeof(err));
    if (s) {
        ss_close(s);
        return 11;
    }
    int ok = code == -EACCES || code == -EPERM;
    for (int i = 0; ok && words[i]; i++)
        ok = strstr(err, words[i]) != NULL;
    if (!ok) {
        fprintf(stderr, "    code %d message: %s\n", code, err);
        return 12;
    }
    return 0;
}

static int kernel_yes_unprivileged(void)
{
    if (drop_root() < 0)
        return 10;
    ss_options o;
    ss_options_init(&o);
    o.kernel_mode = SS_KERNEL_YES;
    char want[64];
    snprintf(want, sizeof(want), "perf_event_paranoid is %ld", paranoid());
    int rc = refused_naming(&o, (const char *const[]){ "CAP_PERFMON", want, NULL });
    if (rc)
        return rc;
    /* AUTO falls back to user frames and says so. */
    o.kernel_mode = SS_KERNEL_AUTO;
    char err[1024];
    int32_t code = 0;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "    AUTO: %d %s\n", code, err);
        return 13;
    }
    ss_stats st;
    ss_get_stats(s, &st);
    ss_close(s);
    return st.kernel_frames == 0 ? 0 : 14;
}

TEST(errors_kernel_frames_need_privilege)
{
    CHECK_AS_NOBODY(kernel_yes_unprivileged, paranoid() >= 2, " and perf_event_paranoid >= 2");
}

/* Off-CPU and wall sampling fire inside the scheduler: without kernel access they are refused
 * (in AUTO mode too) with a message naming the capability and the sysctl. */
static int switch_events_unprivileged(void)
{
    if (drop_root() < 0)
        return 10;
    int events[] = { SS_EVENT_OFF_CPU, SS_EVENT_WALL };
    for (int i = 0; i < 2; i++) {
        ss_options o;
        ss_options_init(&o);
        o.event = events[i];
        int rc = refused_naming(&o, (const char *const[]){ "CAP_PERFMON", "kernel.perf_event_paranoid=1",
                                                          "needs kernel access", NULL });
        if (rc)
            return rc;
    }
    return 0;
}

TEST(errors_off_cpu_and_wall_need_kernel_access)
{
    CHECK_AS_NOBODY(switch_events_unprivileged, paranoid() >= 2, " and perf_event_paranoid >= 2");
}

/* Alloc sampling loads a BPF program: an unprivileged process is refused with a message naming
 * the capabilities and the sysctl, before any uprobe is placed. */
static int alloc_unprivileged(void)
{
    if (drop_root() < 0)
        return 10;
    ss_options o;
    ss_options_init(&o);
    o.event = SS_EVENT_ALLOC;
    o.period = 524288;
    return refused_naming(&o, (const char *const[]){ "CAP_BPF", "CAP_PERFMON",
                                                      "kernel.unprivileged_bpf_disabled", NULL });
}

TEST(errors_alloc_needs_bpf_privileges)
{
    CHECK_AS_NOBODY(alloc_unprivileged, 1, "");
}

static int other_users_process(void)
{
    int parent = getppid();
    if (drop_root() < 0)
        return 10;
    ss_options o;
    ss_options_init(&o);
    o.pid = parent;            /* root's process */
    return refused_naming(&o, (const char *const[]){ "CAP_PERFMON", "perf_event_paranoid", NULL });
}

TEST(errors_other_users_process_is_refused_with_fix)
{
    CHECK_AS_NOBODY(other_users_process, 1, "");
}

static int memlock_exhausted(void)
{
    if (drop_root() < 0)
        return 10;
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_MEMLOCK, &rl);
    ss_options o;
    ss_options_init(&o);
    o.kernel_mode = SS_KERNEL_NO;
    o.ring_pages = 1024;       /* 4 MiB: over perf_event_mlock_kb with no RLIMIT_MEMLOCK */
    char err[1024];
    int32_t code = 0;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    if (s)
        return 11;
    if (code != -EPERM || !strstr(err, "perf_event_mlock_kb") || !strstr(err, "RLIMIT_MEMLOCK")) {
        fprintf(stderr, "    code %d message: %s\n", code, err);
        return 12;
    }
    return 0;
}

TEST(errors_ring_over_locked_memory_limit)
{
    CHECK_AS_NOBODY(memlock_exhausted, paranoid() <= 2, " and perf_event_paranoid <= 2");
}

static int fd_limit(void)
{
    const char *argv[] = { t_fixture("calltree_mt"), "3", "8", NULL };
    char err[1024];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    if (pid <= 0)
        return 10;
    ss_resume(pid);
    usleep(600 * 1000);        /* the 8 workers are running */
    struct rlimit rl = { (rlim_t)t_count_fds() + 3, (rlim_t)t_count_fds() + 3 };
    setrlimit(RLIMIT_NOFILE, &rl);
    ss_options o;
    ss_options_init(&o);
    o.pid = pid;
    int32_t code = 0;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    kill(pid, SIGKILL);
    ss_wait(pid, -1);
    if (s)
        return 11;
    if (code != -EMFILE || !strstr(err, "ulimit -n")) {
        fprintf(stderr, "    code %d message: %s\n", code, err);
        return 12;
    }
    return 0;
}

TEST(errors_fd_limit_names_ulimit)
{
    int rc = in_child(fd_limit);
    CHECKF(rc == 0, "child check %d failed", rc);
}

struct leaf_count { uint64_t b, c, other_pid, total; uint32_t pid; uint64_t blo, bhi, clo, chi, bias; int biased; const char *base; uint32_t kernel; };

static void lc_mmap(uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff, const uint8_t *id,
                    int id_len, const char *path, size_t path_len, void *arg)
{
    struct leaf_count *c = arg;
    (void)pid; (void)len; (void)id; (void)id_len;
    size_t bl = strlen(c->base);
    if (path_len >= bl && memcmp(path + path_len - bl, c->base, bl) == 0 && !c->biased) {
        c->bias = start - pgoff;
        c->biased = 1;
    }
}

static void lc_stack(const t_stack *s, void *arg)
{
    struct leaf_count *c = arg;
    c->total += s->count;
    if (s->kernel_depth)
        c->kernel += (uint32_t)s->count;
    if (!c->biased || s->depth <= s->kernel_depth)
        return;
    uint64_t leaf = s->ips[s->kernel_depth] - c->bias;
    if (leaf >= c->blo && leaf < c->bhi)
        c->b += s->count;
    else if (leaf >= c->clo && leaf < c->chi)
        c->c += s->count;
    else
        return;
    if (s->pid != c->pid)
        c->other_pid += s->count;
}

static int drain_all(ss_session *s, struct leaf_count *c)
{
    int64_t needed = 0;
    if (ss_drain(s, NULL, 0, &needed) == 0)
        return 0;
    uint8_t *buf = malloc((size_t)needed + 4096);
    int64_t n = ss_drain(s, buf, needed + 4096, NULL);
    t_visitor v = { lc_stack, NULL, lc_mmap, NULL, c };
    int rc = n >= 0 && t_walk(buf, (size_t)n, &v) >= 0 ? 0 : -1;
    free(buf);
    return rc;
}

static int init_leaf_count(struct leaf_count *c)
{
    memset(c, 0, sizeof(*c));
    c->base = "/calltree";
    return t_symbol(t_fixture("calltree"), "b", &c->blo, &c->bhi) &&
           t_symbol(t_fixture("calltree"), "c", &c->clo, &c->chi);
}

TEST(mode_follow_children_samples_forked_command)
{
    struct leaf_count c;
    CHECK(init_leaf_count(&c));
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "%s 0.8; true", t_fixture("calltree"));   /* sh forks, then execs */
    const char *argv[] = { "sh", "-c", cmd, NULL };
    char err[1024];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    CHECK(pid > 0);
    c.pid = (uint32_t)pid;
    ss_options o;
    ss_options_init(&o);
    o.pid = pid;
    int32_t code;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECKF(s != NULL, "%s", err);
    ss_resume(pid);
    int status;
    while ((status = ss_wait(pid, 300)) == -EAGAIN)
        CHECK(drain_all(s, &c) == 0);
    ss_stop(s);
    CHECK(drain_all(s, &c) == 0);
    ss_close(s);
    CHECK(status == 0);
    printf("    child process samples in b/c: %llu of %llu\n", (unsigned long long)c.other_pid,
           (unsigned long long)c.total);
    CHECKF(c.other_pid >= 400, "only %llu samples of the forked child in b or c",
           (unsigned long long)c.other_pid);
}

TEST(mode_cgroup_target)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "/sys/fs/cgroup/unified/stackstream-test-%d", getpid());
    if (mkdir(dir, 0755) < 0) {
        snprintf(dir, sizeof(dir), "/sys/fs/cgroup/stackstream-test-%d", getpid());
        if (mkdir(dir, 0755) < 0) {
            printf("    skipped: cannot create a cgroup v2 directory (%s)\n", strerror(errno));
            return;
        }
    }
    struct leaf_count c;
    CHECK(init_leaf_count(&c));
    const char *argv[] = { t_fixture("calltree"), "1", NULL };
    char err[1024], path[256], num[32];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    CHECK(pid > 0);
    c.pid = (uint32_t)pid;
    snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    int fd = open(path, O_WRONLY);
    int n = snprintf(num, sizeof(num), "%d", pid);
    int moved = fd >= 0 && write(fd, num, (size_t)n) == n;
    if (fd >= 0)
        close(fd);
    ss_options o;
    ss_options_init(&o);
    o.target_kind = SS_TARGET_CGROUP;
    o.cgroup_path = dir;
    int32_t code = 0;
    ss_session *s = moved ? ss_open(&o, &code, err, sizeof(err)) : NULL;
    ss_resume(pid);
    int status = -1;
    if (s) {
        while ((status = ss_wait(pid, 300)) == -EAGAIN)
            drain_all(s, &c);
        ss_stats st;
        ss_get_stats(s, &st);
        CHECKF(st.open_fds == (uint32_t)sysconf(_SC_NPROCESSORS_ONLN), "fds %u", st.open_fds);
        for (int i = 0; i < 50 && ss_target_alive(s); i++)
            usleep(20000);
        CHECK(ss_target_alive(s) == 0);     /* the cgroup is empty now */
        ss_stop(s);
        drain_all(s, &c);
        ss_close(s);
    } else {
        ss_wait(pid, -1);
    }
    rmdir(dir);
    if (!s && (code == -EACCES || code == -EPERM)) {
        printf("    skipped: cgroup (per-CPU) events not permitted here (%s)\n", err);
        return;
    }
    CHECKF(moved, "could not move %d into %s", pid, dir);
    CHECKF(s != NULL, "ss_open cgroup: %d %s", code, err);
    CHECK(status == 0);
    double share = (double)c.b / (double)(c.b + c.c);
    printf("    cgroup: %llu samples of the fixture in b/c, b share %.1f %%\n",
           (unsigned long long)(c.b + c.c), share * 100);
    CHECKF(c.b + c.c >= 600, "only %llu samples", (unsigned long long)(c.b + c.c));
    CHECK(share > 0.6 && share < 0.8);
}

static volatile int sink;

static int sleeper(void)
{
    for (int i = 0; i < 200; i++) {
        usleep(1000);
        sink++;
    }
    return 0;
}

TEST(mode_context_switches_with_kernel_frames)
{
    char err[1024];
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t child = fork();
    if (child == 0) {
        /* sleeps only once the session is open (a fixed delay lost the first sleeps under load) */
        char byte;
        close(go[1]);
        _exit(read(go[0], &byte, 1) == 1 ? sleeper() : 1);
    }
    close(go[0]);
    ss_options o;
    ss_options_init(&o);
    o.pid = child;
    o.event = SS_EVENT_CONTEXT_SWITCHES;
    o.period = 1;
    int32_t code = 0;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECK(write(go[1], "g", 1) == 1);
    close(go[1]);
    struct leaf_count c;
    memset(&c, 0, sizeof(c));
    c.base = "/calltree";
    int status;
    waitpid(child, &status, 0);
    if (!s && (code == -EACCES || code == -EPERM)) {
        printf("    skipped: context-switch sampling not permitted here (%s)\n", err);
        return;
    }
    CHECKF(s != NULL, "%d %s", code, err);
    ss_stop(s);
    drain_all(s, &c);
    ss_stats st;
    ss_get_stats(s, &st);
    ss_close(s);
    printf("    context switches: %llu samples, %u with kernel frames (kernel_frames %d)\n",
           (unsigned long long)c.total, c.kernel, st.kernel_frames);
    /* each sample carries a 16 KiB stack copy (CFI unwinding): under load the reader may fall
     * behind and the kernel drops samples from the full ring, which it counts */
    CHECKF(c.total + st.lost >= 150, "%llu context-switch samples (+%llu lost) for 200 sleeps",
           (unsigned long long)c.total, (unsigned long long)st.lost);
    CHECK(st.kernel_frames == 0 || c.kernel > 0);
}

TEST(mode_tiny_ring_wrapped_records_decode)
{
    /* Two data pages: records wrap around the end of the ring every few dozen samples. Every
     * record must still decode (samples land in b or c in the right proportion); whatever the
     * kernel dropped when a sweep came late is counted in lost, so samples + lost add up. */
    struct leaf_count c;
    CHECK(init_leaf_count(&c));
    const char *argv[] = { t_fixture("calltree"), "1.5", NULL };
    char err[1024];
    int32_t pid = ss_spawn(argv, err, sizeof(err));
    CHECK(pid > 0);
    c.pid = (uint32_t)pid;
    ss_options o;
    ss_options_init(&o);
    o.pid = pid;
    o.ring_pages = 2;
    o.stack_bytes = 512;    /* a sample must fit the 8 KiB ring several times */
    int32_t code;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECKF(s != NULL, "%s", err);
    ss_resume(pid);
    int status;
    while ((status = ss_wait(pid, 300)) == -EAGAIN)
        CHECK(drain_all(s, &c) == 0);
    ss_stop(s);
    CHECK(drain_all(s, &c) == 0);
    ss_stats st;
    ss_get_stats(s, &st);
    ss_close(s);
    CHECK(status == 0);
    double share = (double)c.b / (double)(c.b + c.c);
    printf("    2-page ring: %llu samples (%llu in b/c, b share %.1f %%), %llu lost\n",
           (unsigned long long)st.samples, (unsigned long long)(c.b + c.c), share * 100,
           (unsigned long long)st.lost);
    CHECKF(st.samples + st.lost >= 1200, "samples %llu + lost %llu", (unsigned long long)st.samples,
           (unsigned long long)st.lost);
    CHECKF((double)(c.b + c.c) >= 0.95 * (double)c.total, "%llu of %llu samples decode to b or c",
           (unsigned long long)(c.b + c.c), (unsigned long long)c.total);
    CHECK(share > 0.65 && share < 0.75);
}
