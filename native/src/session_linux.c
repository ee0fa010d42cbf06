/*
 * session_linux.c - the session lifecycle (ss_open/ss_stop/ss_close), draining and statistics.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "session.h"

#define SCRATCH_BYTES 65536
#define MAX_CPUS 4096

SS_EXPORT int32_t ss_api_version(void)
{
    return SS_API_VERSION;
}

SS_EXPORT void ss_options_init(ss_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof(*o));
    o->target_kind = SS_TARGET_PID;
    o->pid = 0;
    o->event = SS_EVENT_CPU_CLOCK;
    o->frequency_hz = 999;
    o->period = 1;
    o->kernel_mode = SS_KERNEL_AUTO;
    o->per_thread = 1;
    o->follow_children = 1;
    o->max_depth = 127;
    o->ring_pages = 64;
    o->rescan_ms = 100;
    o->table_bytes = 64ll << 20;
    o->unwind = SS_UNWIND_AUTO;
    o->stack_bytes = 0;
}

static int check_options(ss_options *o, char *err, size_t len)
{
    if (o->unwind < SS_UNWIND_AUTO || o->unwind > SS_UNWIND_CFI)
        return ss_fail(err, len, -EINVAL, "unwind %d is not AUTO (0), FP (1) or CFI (2)", o->unwind);
    if (o->stack_bytes != 0 && (o->stack_bytes < 64 || o->stack_bytes > 65528 || (o->stack_bytes & 7)))
        return ss_fail(err, len, -EINVAL, "stack_bytes %d is not a multiple of 8 in 64..65528",
                       o->stack_bytes);
    if (o->ring_pages == 0)
        o->ring_pages = o->unwind == SS_UNWIND_FP ? 64 : 128;
    if (o->rescan_ms <= 0)
        o->rescan_ms = 100;
    if (o->table_bytes == 0)
        o->table_bytes = 64ll << 20;
    if (o->period <= 0)
        o->period = 1;
    if (o->target_kind != SS_TARGET_PID && o->target_kind != SS_TARGET_CGROUP)
        return ss_fail(err, len, -EINVAL, "target_kind %d is neither PID (0) nor CGROUP (1)",
                       o->target_kind);
    if (o->target_kind == SS_TARGET_PID && o->pid < 0)
        return ss_fail(err, len, -EINVAL, "pid %d is negative", o->pid);
    if (o->target_kind == SS_TARGET_CGROUP && (!o->cgroup_path || !o->cgroup_path[0]))
        return ss_fail(err, len, -EINVAL, "cgroup target without a cgroup_path");
    if (o->event < SS_EVENT_CPU_CLOCK || o->event > SS_EVENT_ALLOC)
        return ss_fail(err, len, -EINVAL, "unknown event %d", o->event);
    if (o->event == SS_EVENT_ALLOC && o->target_kind != SS_TARGET_PID)
        return ss_fail(err, len, -EOPNOTSUPP, "alloc profiles need a process target: the "
                       "uprobes are placed in the libc of the process");
    if (o->event == SS_EVENT_ALLOC && o->kernel_mode == SS_KERNEL_YES)
        return ss_fail(err, len, -EINVAL, "alloc profiles have user frames only (malloc is "
                       "called from user space): use kernel mode AUTO or NO");
    if ((o->event == SS_EVENT_OFF_CPU || o->event == SS_EVENT_WALL) &&
        o->target_kind != SS_TARGET_PID)
        return ss_fail(err, len, -EOPNOTSUPP, "%s profiles need a process target: a thread's "
                       "switch-out and switch-in are paired in its own ring, and a cgroup target "
                       "samples per CPU", o->event == SS_EVENT_WALL ? "wall" : "off-CPU");
    if ((o->event == SS_EVENT_CPU_CLOCK || o->event == SS_EVENT_WALL) &&
        (o->frequency_hz <= 0 || o->frequency_hz > 100000))
        return ss_fail(err, len, -EINVAL, "frequency_hz %d outside 1..100000", o->frequency_hz);
    if (o->kernel_mode < SS_KERNEL_AUTO || o->kernel_mode > SS_KERNEL_YES)
        return ss_fail(err, len, -EINVAL, "kernel_mode %d is not AUTO (-1), NO (0) or YES (1)",
                       o->kernel_mode);
    if (o->max_depth < 1 || o->max_depth > SS_MAX_DEPTH_LIMIT)
        return ss_fail(err, len, -EINVAL, "max_depth %d outside 1..%d", o->max_depth,
                       SS_MAX_DEPTH_LIMIT);
    if (o->ring_pages < 1 || (o->ring_pages & (o->ring_pages - 1)) || o->ring_pages > 65536)
        return ss_fail(err, len, -EINVAL, "ring_pages %d is not a power of two in 1..65536",
                       o->ring_pages);
    if (o->unwind_cache_bytes < 0)
        return ss_fail(err, len, -EINVAL, "unwind_cache_bytes %lld is negative",
                       (long long)o->unwind_cache_bytes);
    if (o->table_bytes < 0)
        return ss_fail(err, len, -EINVAL, "table_bytes %lld is negative",
                       (long long)o->table_bytes);
    return 0;
}

static int open_cgroup_events(ss_session *s, char *err, size_t len)
{
    int *cpus = malloc(MAX_CPUS * sizeof(int));
    if (!cpus)
        return ss_fail(err, len, -ENOMEM, "out of memory");
    int n = proc_online_cpus(cpus, MAX_CPUS);
    int rc = n <= 0 ? ss_fail(err, len, -EIO, "cannot read /sys/devices/system/cpu/online") : 0;
    for (int i = 0; i < n && rc == 0; i++) {
        ss_pev *e = NULL;
        rc = pe_open(s, s->cgroup_fd, cpus[i], 0, 0, &e, err, len);
        if (rc == 0 && tg_add_event(s, e) < 0) {
            pe_close(s, e);
            rc = ss_fail(err, len, -ENOMEM, "out of memory");
        }
    }
    free(cpus);
    return rc;
}

static int start_reader(ss_session *s, char *err, size_t len)
{
    /* The reader takes no signals: in a JVM they belong to the JVM's own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&s->reader, NULL, rr_thread, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return ss_fail(err, len, -rc, "cannot start the reader thread: %s", strerror(rc));
    pthread_setname_np(s->reader, "ss-reader");   /* tells its CPU apart in top and /proc */
    s->reader_started = 1;
    return 0;
}

static void session_free(ss_session *s)
{
    tg_free(s);
    ap_close(s);
    cap_free(s);
    ut_free(s);
    st_free(&s->table);
    sb_free(&s->pre);
    sb_free(&s->post);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    if (s->cgroup_fd >= 0)
        close(s->cgroup_fd);
    free(s->scratch);
    free((char *)s->o.cgroup_path);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->flushed);
    free(s);
}

SS_EXPORT ss_session *ss_open(const ss_options *opts, int32_t *err_code, char *err,
                              size_t err_len)
{
    int32_t dummy;
    if (!err_code)
        err_code = &dummy;
    if (err && err_len)
        err[0] = '\0';
    if (!opts) {
        *err_code = ss_fail(err, err_len, -EINVAL, "options are NULL");
        return NULL;
    }
    ss_session *s = calloc(1, sizeof(*s));
    if (!s) {
        *err_code = ss_fail(err, err_len, -ENOMEM, "out of memory");
        return NULL;
    }
    s->o = *opts;
    s->o.cgroup_path = opts->cgroup_path ? strdup(opts->cgroup_path) : NULL;
    s->wake_fd = s->cgroup_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->flushed, NULL);
    s->self_pid = getpid();
    s->reader_tid = -1;
    s->can_read_mem = 1;
    int rc = check_options(&s->o, err, err_len);
    if (rc < 0)
        goto fail;
    /* FP mode needs only the word at [SP] (leaf-caller fix-up); unwinding needs the stack */
    s->stack_bytes = s->o.unwind == SS_UNWIND_FP ? 64
                     : s->o.stack_bytes ? s->o.stack_bytes : SS_DEFAULT_STACK_BYTES;
    if (s->o.target_kind == SS_TARGET_PID) {
        s->root_pid = s->o.pid ? s->o.pid : s->self_pid;
        if (kill(s->root_pid, 0) < 0 && errno == ESRCH) {
            rc = ss_fail(err, err_len, -ESRCH, "no such process: %d", s->root_pid);
            goto fail;
        }
    } else {
        s->cgroup_fd = open(s->o.cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->cgroup_fd < 0) {
            rc = ss_fail(err, err_len, -errno, "cannot open cgroup %s: %s (give the cgroup v2 "
                         "directory, e.g. /sys/fs/cgroup/<path from /proc/PID/cgroup>)",
                         s->o.cgroup_path, strerror(errno));
            goto fail;
        }
        int cpus[1];
        s->probe_cpu = proc_online_cpus(cpus, 1) == 1 ? cpus[0] : 0;
    }
    long sys_max = ss_read_sysctl("/proc/sys/kernel/perf_event_max_stack", 127);
    long want = s->o.max_depth + 1;
    s->max_stack = (uint16_t)(want < sys_max ? want : sys_max);
    s->kernel_frames = s->o.kernel_mode != SS_KERNEL_NO && s->o.event != SS_EVENT_ALLOC;
    if (s->o.event == SS_EVENT_ALLOC && (rc = ap_open(s, err, err_len)) < 0)
        goto fail;
    if ((rc = pe_choose_mode(s, err, err_len)) < 0)
        goto fail;
    /* Off-CPU samples have no instruction count, WALL's two events share one sample layout, and
     * ALLOC samples carry their allocation count in the instructions slot. */
    s->insn = oc_is_switch_sampling(s) || s->alloc ? 0 : pe_probe_instructions(s, s->root_pid);
    pe_init_attr(s);
    s->scratch = malloc(SCRATCH_BYTES);
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!s->scratch || s->wake_fd < 0 || st_init(&s->table, (size_t)s->o.table_bytes) < 0) {
        rc = ss_fail(err, err_len, -ENOMEM, "out of memory (or no eventfd)");
        goto fail;
    }
    s->alive = 1;
    if (s->o.target_kind == SS_TARGET_PID)
        rc = tg_attach_process(s, s->root_pid, 1, err, err_len);
    else
        rc = open_cgroup_events(s, err, err_len);
    if (rc < 0)
        goto fail;
    /* Sweep often enough to attach new threads while they are young, rarely enough to stay cheap
     * when idle: 10 ms at >= 500 Hz and for allocations (a malloc-heavy target is sampled ~10,000
     * times a second at a 64 KiB interval), 50 ms for slower sampling, never slower than the rescan.
     * Slower sampling sweeps at 200 ms once no thread has appeared for a while (rr_thread): a
     * wake-up costs the reader 25-50 us on a VM, about half of its CPU at 99 Hz (1.4-1.6 ms/s with
     * 50 ms sweeps, 0.5-0.7 with these), and the half-full watermark still wakes it for a busy ring. */
    s->sweep_ms = ((s->o.event == SS_EVENT_CPU_CLOCK || s->o.event == SS_EVENT_WALL) &&
                   s->o.frequency_hz >= 500) || s->o.event == SS_EVENT_ALLOC ? 10 : 50;
    s->quiet_sweep_ms = s->sweep_ms == 50 ? 200 : s->sweep_ms;
    if (s->sweep_ms > s->o.rescan_ms)
        s->sweep_ms = s->o.rescan_ms;
    if (s->quiet_sweep_ms > s->o.rescan_ms)
        s->quiet_sweep_ms = s->o.rescan_ms;
    rr_mark_busy(s);
    s->next_rescan_ns = ss_now_ns() + (uint64_t)s->o.rescan_ms * 1000000ull;
    if ((rc = start_reader(s, err, err_len)) < 0)
        goto fail;
    *err_code = 0;
    return s;
fail:
    *err_code = rc;
    session_free(s);
    return NULL;
}

SS_EXPORT int32_t ss_stop(ss_session *s)
{
    if (!s)
        return -EINVAL;
    if (s->stopped)
        return 0;
    /* Once the reader runs, the event list is its own (it attaches and reaps): it disables the
     * events itself when it sees the stop flag. */
    if (!s->reader_started) {
        for (size_t i = 0; i < s->nev; i++)
            ioctl(s->ev[i]->fd, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
    } else {
        uint64_t one = 1;
        __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
        if (write(s->wake_fd, &one, sizeof(one)) < 0)
            one = 0;
        pthread_join(s->reader, NULL);
        s->reader_started = 0;
    }
    cap_snapshot(s);   /* captured samples keep their processes' mappings for replays */
    tg_free(s);        /* every perf fd and ring goes now; the counts stay for ss_drain */
    ap_flush_closes(s);
    s->stopped = 1;
    return 0;
}

SS_EXPORT void ss_close(ss_session *s)
{
    if (!s)
        return;
    ss_stop(s);
    session_free(s);
}

SS_EXPORT int32_t ss_target_alive(const ss_session *s)
{
    if (!s)
        return 0;
    if (s->stopped && s->o.target_kind == SS_TARGET_PID)
        return __atomic_load_n(&s->alive, __ATOMIC_RELAXED) && proc_alive(s->root_pid);
    return __atomic_load_n(&s->alive, __ATOMIC_RELAXED);
}

/* Asks the reader for one more sweep of the rings and waits (bounded) until it is done. */
static void flush_rings(ss_session *s)
{
    if (!s->reader_started)
        return;
    uint64_t req = __atomic_add_fetch(&s->flush_req, 1, __ATOMIC_ACQ_REL), one = 1;
    if (write(s->wake_fd, &one, sizeof(one)) < 0)
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 500 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (s->flush_done < req &&
           pthread_cond_timedwait(&s->flushed, &s->mu, &until) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&s->mu);
}

SS_EXPORT int64_t ss_drain(ss_session *s, uint8_t *buf, int64_t cap, int64_t *needed)
{
    if (!s || cap < 0)
        return -EINVAL;
    flush_rings(s);
    pthread_mutex_lock(&s->mu);
    size_t size = drain_size(&s->pre, &s->table, &s->post);
    if (needed)
        *needed = (int64_t)size;
    if (size == 0 || !buf || (uint64_t)cap < size) {
        pthread_mutex_unlock(&s->mu);
        return size == 0 ? 0 : -ENOSPC;
    }
    size_t written = drain_write(buf, &s->pre, &s->table, &s->post);
    st_reset(&s->table);
    s->pre.n = s->post.n = 0;
    __atomic_store_n(&s->st.table_bytes, s->table.bytes, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&s->mu);
    return (int64_t)written;
}

SS_EXPORT void ss_get_stats(const ss_session *s, ss_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
#define LOAD(f) out->f = __atomic_load_n(&s->st.f, __ATOMIC_RELAXED)
    LOAD(samples);
    LOAD(lost);
    LOAD(throttled);
    LOAD(table_overflow);
    LOAD(truncated);
    LOAD(leaf_fixups);
    LOAD(threads_attached);
    LOAD(threads_exited);
    LOAD(attach_failures);
    LOAD(table_bytes);
    LOAD(open_fds);
    LOAD(unwound);
    LOAD(cut_stack_copy);
    LOAD(cut_no_unwind_info);
    LOAD(cut_corrupt);
    LOAD(cfi_frames);
    LOAD(fp_frames);
    LOAD(unwind_modules);
    LOAD(unwind_no_cfi);
    LOAD(unwind_table_bytes);
    LOAD(offcpu_intervals);
    LOAD(offcpu_unmatched);
    LOAD(unwind_tables);
    LOAD(unwind_evictions);
    LOAD(unwind_debug_frame_tables);
    LOAD(alloc_unprobed);
    LOAD(exec_loading);
#undef LOAD
    out->unwind = s->o.unwind;
    out->stack_bytes = s->stack_bytes;
    out->unwind_cache_bytes = s->o.unwind_cache_bytes ? (uint64_t)s->o.unwind_cache_bytes
                                                      : SS_DEFAULT_UNWIND_CACHE_BYTES;
    out->kernel_frames = s->kernel_frames;
    out->instructions_available = s->insn;
}
