/*
 * perf_events_linux.c - the perf_event_attr we sample with, opening and mapping one event, and
 * the error messages that say what to change when the kernel refuses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "session.h"

#if defined(__x86_64__)
#include <asm/perf_regs.h>
#define USER_REGS_MASK ((1ull << PERF_REG_X86_BP) | (1ull << PERF_REG_X86_SP) | \
                        (1ull << PERF_REG_X86_IP))
/* ALLOC: the argument registers too (malloc's size; calloc's count and size; realloc's size).
 * Lower bits than BP: they come first in the sample (ring_reader_linux.c, ARG_REGS). */
#define ARG_REGS_MASK ((1ull << PERF_REG_X86_DI) | (1ull << PERF_REG_X86_SI))
#elif defined(__aarch64__)
#include <asm/perf_regs.h>
#define USER_REGS_MASK ((1ull << PERF_REG_ARM64_X29) | (1ull << PERF_REG_ARM64_LR) | \
                        (1ull << PERF_REG_ARM64_SP) | (1ull << PERF_REG_ARM64_PC))
#define ARG_REGS_MASK ((1ull << PERF_REG_ARM64_X0) | (1ull << PERF_REG_ARM64_X1))
#else
#error "stackstream samples user registers on x86-64 and arm64 only"
#endif

static long perf_event_open(struct perf_event_attr *a, int pid, int cpu, int group, unsigned long fl)
{
    return syscall(SYS_perf_event_open, a, pid, cpu, group, fl);
}

static const char *event_name(int event)
{
    switch (event) {
    case SS_EVENT_PAGE_FAULTS: return "page-faults";
    case SS_EVENT_CONTEXT_SWITCHES: return "context-switches";
    case SS_EVENT_OFF_CPU: return "context-switches (off-CPU)";
    case SS_EVENT_WALL: return "cpu-clock + context-switches (wall)";
    case SS_EVENT_ALLOC: return "uprobes on malloc/calloc/realloc (alloc)";
    default: return "cpu-clock";
    }
}

void pe_init_attr(ss_session *s)
{
    struct perf_event_attr *a = &s->attr;
    memset(a, 0, sizeof(*a));
    a->size = sizeof(*a);
    a->type = PERF_TYPE_SOFTWARE;
    a->sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN |
                     PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
    switch (s->o.event) {
    case SS_EVENT_PAGE_FAULTS:
        a->config = PERF_COUNT_SW_PAGE_FAULTS;
        a->sample_period = (uint64_t)s->o.period;
        break;
    case SS_EVENT_CONTEXT_SWITCHES:
        a->config = PERF_COUNT_SW_CONTEXT_SWITCHES;
        a->sample_period = (uint64_t)s->o.period;
        break;
    case SS_EVENT_OFF_CPU:
        a->config = PERF_COUNT_SW_CONTEXT_SWITCHES;
        a->sample_period = 1;          /* every switch-out: the weight is its interval */
        break;
    case SS_EVENT_ALLOC:
        ap_init_attr(s, a, AP_MALLOC);
        break;
    default:
        /* Frequency mode: the kernel adapts the period, so each sample carries it (the weight).
         * Fixed-period events must leave PERIOD out: with it they sample every occurrence. */
        a->config = PERF_COUNT_SW_CPU_CLOCK;
        a->freq = 1;
        a->sample_freq = (uint64_t)s->o.frequency_hz;
        a->sample_type |= PERF_SAMPLE_PERIOD;
        break;
    }
    if (s->insn) {
        a->sample_type |= PERF_SAMPLE_READ;
        a->read_format = PERF_FORMAT_GROUP;
    }
    a->sample_regs_user = USER_REGS_MASK | (s->o.event == SS_EVENT_ALLOC ? ARG_REGS_MASK : 0);
    a->sample_stack_user = (uint32_t)s->stack_bytes;
    a->sample_max_stack = s->max_stack;
    a->disabled = 1;
    a->exclude_hv = 1;
    a->exclude_kernel = !s->kernel_frames;
    a->exclude_callchain_kernel = !s->kernel_frames;
    a->task = 1;
    a->comm = 1;
    a->comm_exec = 1;
    a->mmap = 1;
    a->mmap2 = 1;
    a->build_id = !s->no_build_id;   /* MMAP2 carries the build-id when the kernel can read it */
    a->watermark = 1;
    a->wakeup_watermark = (uint32_t)((size_t)s->o.ring_pages * (size_t)sysconf(_SC_PAGESIZE) / 2);
    if (oc_is_switch_sampling(s)) {
        /* Off-CPU intervals: switch records (with times: sample_id_all) on the same clock as
         * ss_now_ns, so a drain can cut an interval that is still open. */
        a->sample_id_all = 1;
        a->use_clockid = 1;
        a->clockid = CLOCK_MONOTONIC;
        a->context_switch = s->o.event == SS_EVENT_OFF_CPU;
        if (s->o.event == SS_EVENT_OFF_CPU)
            a->exclude_kernel = 0;     /* the event fires in the scheduler; frames stay user-only */
    }
    if (s->o.event == SS_EVENT_WALL) {
        /* Two events share the ring: PERF_SAMPLE_ID says whose sample it is, and both carry
         * PERIOD so their samples have one layout (the switch event's is always 1). */
        a->sample_type |= PERF_SAMPLE_ID;
        struct perf_event_attr *w = &s->sw_attr;
        *w = *a;
        w->config = PERF_COUNT_SW_CONTEXT_SWITCHES;
        w->freq = 0;
        w->sample_period = 1;
        w->context_switch = 1;
        w->task = w->comm = w->comm_exec = w->mmap = w->mmap2 = w->build_id = 0;
        w->watermark = 0;
        w->wakeup_watermark = 0;
        w->exclude_kernel = 0;
    }
}

static int permission_error(ss_session *s, int code, const char *what, char *err, size_t len)
{
    long paranoid = ss_read_sysctl("/proc/sys/kernel/perf_event_paranoid", 99);
    const char *fix;
    if (s->o.event == SS_EVENT_ALLOC)
        fix = "uprobe events need CAP_PERFMON (or CAP_SYS_ADMIN) whatever "
              "kernel.perf_event_paranoid says";
    else if (s->o.target_kind == SS_TARGET_CGROUP)
        fix = "cgroup sampling opens per-CPU events: grant CAP_PERFMON (or CAP_SYS_ADMIN), or "
              "run `sysctl -w kernel.perf_event_paranoid=0`";
    else if (!s->attr.exclude_kernel)
        fix = "kernel frames need CAP_PERFMON (or CAP_SYS_ADMIN) or "
              "`sysctl -w kernel.perf_event_paranoid=1`; or sample user frames only (kernel mode "
              "AUTO or NO)";
    else
        fix = "grant CAP_PERFMON (or CAP_SYS_ADMIN), or run `sysctl -w "
              "kernel.perf_event_paranoid=2` (or lower) and profile a process of your own user "
              "(ptrace access is checked too: same uid or CAP_SYS_PTRACE, kernel.yama.ptrace_scope)";
    return ss_fail(err, len, code, "perf_event_open %s: permission denied (%s); "
                   "kernel.perf_event_paranoid is %ld here; %s", what,
                   code == -EACCES ? "EACCES" : "EPERM", paranoid, fix);
}

static int open_error(ss_session *s, int e, const char *what, char *err, size_t len)
{
    switch (e) {
    case EACCES:
    case EPERM:
        return permission_error(s, -e, what, err, len);
    case ESRCH:
        return ss_fail(err, len, -ESRCH, "no such process: %s", what);
    case EMFILE: {
        struct rlimit rl = { 0, 0 };
        getrlimit(RLIMIT_NOFILE, &rl);
        return ss_fail(err, len, -EMFILE, "too many open files opening %s: the session holds %zu "
                       "perf fds (one per sampled thread or CPU%s) and RLIMIT_NOFILE is %llu; "
                       "raise it with `ulimit -n` (e.g. to %zu or more)", what, s->nev,
                       s->insn ? ", two with instructions" : "", (unsigned long long)rl.rlim_cur,
                       (s->nev + 64) * 2);
    }
    case ENFILE:
        return ss_fail(err, len, -ENFILE, "system file table full opening %s: raise fs.file-max",
                       what);
    case ENOENT:
    case EOPNOTSUPP:
    case ENODEV:
        return ss_fail(err, len, -ENOENT, "event %s not supported on this machine (%s) opening %s",
                       event_name(s->o.event), strerror(e), what);
    case EOVERFLOW:
        return ss_fail(err, len, -EINVAL, "max_depth %d exceeds kernel.perf_event_max_stack (%ld): "
                       "raise the sysctl or lower max_depth", s->o.max_depth,
                       ss_read_sysctl("/proc/sys/kernel/perf_event_max_stack", -1));
    case ENOSYS:
        return ss_fail(err, len, -ENOSYS, "perf_event_open is not available: kernel built without "
                       "CONFIG_PERF_EVENTS, or blocked by a seccomp profile (containers: allow "
                       "perf_event_open)");
    default:
        return ss_fail(err, len, -e, "perf_event_open %s failed: %s", what, strerror(e));
    }
}

static int map_error(ss_session *s, int e, size_t bytes, char *err, size_t len)
{
    struct rlimit rl = { 0, 0 };
    getrlimit(RLIMIT_MEMLOCK, &rl);
    if (e == EPERM || e == ENOMEM)
        return ss_fail(err, len, -EPERM, "mmap of a perf ring buffer (%zu KiB, one per sampled "
                       "thread or CPU, %zu mapped so far) refused: locked-memory limit reached; "
                       "raise kernel.perf_event_mlock_kb (now %ld) or RLIMIT_MEMLOCK (`ulimit -l`, "
                       "now %llu KiB), grant CAP_IPC_LOCK, or use fewer ring_pages",
                       bytes / 1024, s->nev, ss_read_sysctl("/proc/sys/kernel/perf_event_mlock_kb",
                       -1), (unsigned long long)(rl.rlim_cur / 1024));
    return ss_fail(err, len, -e, "mmap of a perf ring buffer failed: %s", strerror(e));
}

int pe_probe_instructions(ss_session *s, int tid)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = PERF_TYPE_HARDWARE;
    a.config = PERF_COUNT_HW_INSTRUCTIONS;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    long fd = s->o.target_kind == SS_TARGET_CGROUP
                  ? perf_event_open(&a, s->cgroup_fd, s->probe_cpu, -1,
                                    PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC)
                  : perf_event_open(&a, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0)
        return 0;    /* ENOENT/EOPNOTSUPP: no PMU (as in most VMs); anything else: not usable */
    close((int)fd);
    return 1;
}

/* Opens the sampling event (and its instructions counter) for a thread (target = tid, cpu -1)
 * or a cgroup (target = cgroup fd, cpu), maps its ring and enables it. */
int pe_open(ss_session *s, int target, int cpu, int tid, int pid, ss_pev **out, char *err,
            size_t err_len)
{
    char what[96];
    unsigned long flags = PERF_FLAG_FD_CLOEXEC;
    if (s->o.target_kind == SS_TARGET_CGROUP) {
        flags |= PERF_FLAG_PID_CGROUP;
        snprintf(what, sizeof(what), "for cgroup %s on CPU %d", s->o.cgroup_path, cpu);
    } else if (tid == pid) {
        snprintf(what, sizeof(what), "%d", pid);
    } else {
        snprintf(what, sizeof(what), "%d (thread %d)", pid, tid);
    }
    long fd = perf_event_open(&s->attr, target, cpu, -1, flags);
    if (fd < 0 && errno == EINVAL && s->attr.build_id) {
        s->attr.build_id = 0;    /* kernels before 5.12: MMAP2 without build-ids */
        s->no_build_id = 1;
        fd = perf_event_open(&s->attr, target, cpu, -1, flags);
    }
    if (fd < 0)
        return open_error(s, errno, what, err, err_len);
    ss_pev *e = calloc(1, sizeof(*e));
    if (!e) {
        close((int)fd);
        return ss_fail(err, err_len, -ENOMEM, "out of memory");
    }
    e->fd = (int)fd;
    e->insn_fd = -1;
    e->tid = tid;
    e->pid = pid;
    e->cpu = cpu;
    if (s->insn) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof(a));
        a.size = sizeof(a);
        a.type = PERF_TYPE_HARDWARE;
        a.config = PERF_COUNT_HW_INSTRUCTIONS;
        a.exclude_kernel = s->attr.exclude_kernel;
        a.exclude_hv = 1;
        a.read_format = PERF_FORMAT_GROUP;
        long ifd = perf_event_open(&a, target, cpu, e->fd, flags);
        e->insn_fd = ifd < 0 ? -1 : (int)ifd;
    }
    e->sw_fd = -1;
    for (int k = 0; k < AP_FUNCS; k++)
        e->ap_fd[k] = e->ap_link[k] = -1;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    e->data_size = (uint64_t)s->o.ring_pages * page;
    e->ring_len = page + (size_t)e->data_size;
    e->ring = mmap(NULL, e->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, 0);
    if (e->ring == MAP_FAILED) {
        int me = errno;
        e->ring = NULL;
        pe_close(s, e);
        return map_error(s, me, (size_t)s->o.ring_pages * page + page, err, err_len);
    }
    if (s->o.event == SS_EVENT_WALL) {
        s->sw_attr.build_id = 0;
        long sfd = perf_event_open(&s->sw_attr, target, cpu, -1, flags);
        if (sfd < 0) {
            int se = errno;
            pe_close(s, e);
            return open_error(s, se, what, err, err_len);
        }
        e->sw_fd = (int)sfd;
        if (ioctl(e->sw_fd, PERF_EVENT_IOC_SET_OUTPUT, e->fd) < 0 ||
            ioctl(e->sw_fd, PERF_EVENT_IOC_ID, &e->sw_id) < 0 ||
            ioctl(e->sw_fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
            int se = errno;
            pe_close(s, e);
            return ss_fail(err, err_len, -se, "cannot route the context-switch event of %s into "
                           "its cpu-clock ring (PERF_EVENT_IOC_SET_OUTPUT): %s", what,
                           strerror(se));
        }
    }
    if (s->o.event == SS_EVENT_ALLOC) {
        int oe = 0, rc = ap_attach(s, e, target, cpu, flags, &oe, err, err_len);
        if (rc < 0) {
            pe_close(s, e);
            return oe ? open_error(s, oe, what, err, err_len) : rc;
        }
    }
    if (ioctl(e->fd, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP) < 0) {
        int ee = errno;
        pe_close(s, e);
        return open_error(s, ee, what, err, err_len);
    }
    *out = e;
    return 0;
}

void pe_close(ss_session *s, ss_pev *e)
{
    if (!e)
        return;
    oc_forget(s, e);
    if (s->o.event == SS_EVENT_ALLOC)
        ap_detach(s, e);       /* its fds (e->fd too) are closed on the closer thread */
    if (e->sw_fd >= 0)
        close(e->sw_fd);
    if (e->ring)
        munmap(e->ring, e->ring_len);
    if (e->insn_fd >= 0)
        close(e->insn_fd);
    if (e->fd >= 0)
        close(e->fd);
    free(e);
}

/* Opens (and closes) one sampling event on the target to learn what is permitted: kernel frames
 * in AUTO mode fall back to user-only on EACCES/EPERM. Returns 0 or -errno with err filled. */
int pe_choose_mode(ss_session *s, char *err, size_t err_len)
{
    int cgroup = s->o.target_kind == SS_TARGET_CGROUP;
    int target = cgroup ? s->cgroup_fd : s->root_pid;
    int cpu = cgroup ? s->probe_cpu : -1;
    unsigned long flags = PERF_FLAG_FD_CLOEXEC | (cgroup ? PERF_FLAG_PID_CGROUP : 0);
    char what[96];
    if (cgroup)
        snprintf(what, sizeof(what), "for cgroup %s", s->o.cgroup_path);
    else
        snprintf(what, sizeof(what), "%d", s->root_pid);
    for (;;) {
        pe_init_attr(s);
        long fd = perf_event_open(&s->attr, target, cpu, -1, flags);
        if (fd < 0 && errno == EINVAL && s->attr.build_id) {
            s->attr.build_id = 0;
            fd = perf_event_open(&s->attr, target, cpu, -1, flags);
            s->no_build_id = fd >= 0;
        }
        if (fd >= 0) {
            close((int)fd);
            return 0;
        }
        int e = errno;
        if ((e == EACCES || e == EPERM) && s->kernel_frames && s->o.kernel_mode == SS_KERNEL_AUTO) {
            if (s->o.event == SS_EVENT_CONTEXT_SWITCHES || oc_is_switch_sampling(s))
                return ss_fail(err, err_len, -e, "%s sampling needs kernel access (the event "
                               "fires inside the scheduler): grant CAP_PERFMON (or "
                               "CAP_SYS_ADMIN) or `sysctl -w kernel.perf_event_paranoid=1` "
                               "(it is %ld here)", event_name(s->o.event),
                               ss_read_sysctl("/proc/sys/kernel/perf_event_paranoid", 99));
            s->kernel_frames = 0;      /* user frames only; the stats say so */
            continue;
        }
        return open_error(s, e, what, err, err_len);
    }
}
