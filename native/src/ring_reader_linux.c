/*
 * ring_reader_linux.c - the reader thread: waits on the perf fds, drains every ring buffer,
 * decodes the records and counts samples into the stack table.
 *
 * Ring protocol (perf_event_open(2)): the kernel publishes data_head, which we load with acquire
 * ordering before reading records; we publish data_tail with release ordering after we are done
 * with them, which hands the space back. A record may wrap around the end of the data area; it is
 * then copied out into a scratch buffer first.
 *
 * Wake-ups: each event wakes poll() when its ring is half full (watermark), and the thread sweeps
 * every ring every sweep_ms regardless (10 ms at >= 500 Hz, 50 ms below: a wake-up costs tens of
 * microseconds of reader CPU on a busy VM), so new threads (FORK records) are attached promptly
 * without a wake-up per sample. Below 500 Hz the period grows to quiet_sweep_ms (200 ms) once no
 * thread has been attached for SWEEP_BUSY_NS: a process that starts threads tends to start more
 * soon after (start-up, a pool growing), while a steady one would pay 20 sweeps a second for
 * none; the first thread after a quiet spell waits at most 200 ms (or the rescan). ss_drain asks
 * for an extra sweep through the eventfd so a window contains everything sampled up to the drain.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "session.h"

#if defined(__x86_64__)
#define ARCH SS_ARCH_X86_64
#define NREGS 3          /* BP, SP, IP */
#define IP_AT 2
#define ARG0_AT 1        /* ALLOC: SI, DI come before them (lower register numbers) */
#define ARG1_AT 0
#elif defined(__aarch64__)
#define ARCH SS_ARCH_ARM64
#define NREGS 4          /* X29, LR, SP, PC */
#define IP_AT 3
#define ARG0_AT 0        /* ALLOC: X0, X1 come before them */
#define ARG1_AT 1
#endif
#define ARG_REGS 2

uint64_t ss_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define SWEEP_BUSY_NS 2000000000ull

void rr_mark_busy(ss_session *s)
{
    s->busy_until_ns = ss_now_ns() + SWEEP_BUSY_NS;
}

struct fix_ctx {
    ss_session *s;
    ss_process *p;
};

static int in_exec(void *arg, uint64_t addr)
{
    struct fix_ctx *c = arg;
    return ms_contains(&c->p->maps, addr);
}

/* Reads the bytes before a candidate return address and checks for a call instruction.
 * Verdicts are cached per (pid, address): return addresses repeat, syscalls should not. */
static int verify_call(void *arg, uint64_t addr)
{
    struct fix_ctx *c = arg;
    ss_session *s = c->s;
    if (!s->can_read_mem)
        return 1;                      /* no ptrace access: the mapping test alone decides */
    uint64_t h = (addr ^ ((uint64_t)c->p->pid << 40)) * 0x9E3779B97F4A7C15ull;
    unsigned slot = (unsigned)(h >> 52) & (VERIFY_CACHE - 1);
    if (s->vcache[slot].addr == addr && s->vcache[slot].pid == (uint32_t)c->p->pid)
        return s->vcache[slot].ok;
    uint8_t code[8];
    struct iovec local = { code, sizeof(code) };
    struct iovec remote = { (void *)(uintptr_t)(addr - sizeof(code)), sizeof(code) };
    ssize_t n = process_vm_readv(c->p->pid, &local, 1, &remote, 1, 0);
    int ok;
    if (n == (ssize_t)sizeof(code)) {
        ok = cc_is_call_before(ARCH, code, sizeof(code));
    } else if (n < 0 && (errno == EPERM || errno == EACCES || errno == ENOSYS)) {
        s->can_read_mem = 0;
        return 1;
    } else if (n < 0 && errno == ESRCH) {
        return 1;
    } else {
        ok = 0;                        /* unreadable bytes before it: not a return address */
    }
    s->vcache[slot].pid = (uint32_t)c->p->pid;
    s->vcache[slot].addr = addr;
    s->vcache[slot].ok = (int8_t)ok;
    return ok;
}

static int unwind_lookup(void *arg, uint64_t pc, const cfi_row **row)
{
    struct fix_ctx *c = arg;
    const ss_mapping *m = ms_find(&c->p->maps, pc);
    if (!m)
        return UW_NOT_CODE;
    *row = ut_find(c->s, m, pc);
    return *row ? UW_CFI : UW_NO_CFI;
}

/*
 * The user part of the stack, unwound from the sampled registers and stack copy (the kernel part
 * is taken from the kernel's chain, already in fp_ips[0 .. kernel_depth)). When the copy ends
 * before the root in AUTO mode and the frame reached is also in the kernel's frame-pointer chain,
 * that chain continues the stack (a JVM with -XX:+PreserveFramePointer: deep Java stacks stay
 * whole). Returns the cut reason; res describes s->ips.
 */
static uint8_t unwind_user(ss_session *s, ss_process *p, const uint64_t *regs, const uint8_t *data,
                           uint64_t len, cc_result *res, int *leaf_fp)
{
    _Static_assert(NREGS <= CAP_REGS, "a captured sample keeps every register used");
    uint16_t kd = res->kernel_depth, fp_depth = res->depth;
    uint16_t max = (uint16_t)s->o.max_depth;
    memcpy(s->ips, s->fp_ips, (size_t)kd * sizeof(uint64_t));
    uw_regs r;
#if defined(__x86_64__)
    r = (uw_regs){ regs[2], regs[1], regs[0], 0 };
#else
    r = (uw_regs){ regs[3], regs[2], regs[0], regs[1] };
#endif
    struct fix_ctx c = { s, p };
    uw_result u;
    uint16_t room = max > kd ? (uint16_t)(max - kd) : 0;
    uw_unwind(&r, data, len, s->o.unwind == SS_UNWIND_AUTO, unwind_lookup, &c, s->ips + kd, room,
              &u);
    uint16_t depth = (uint16_t)(kd + u.depth);
    uint8_t cut = u.cut;
    if (cut == SS_CUT_STACK_COPY && s->o.unwind == SS_UNWIND_AUTO && u.depth > 1) {
        uint64_t last = s->ips[depth - 1];
        for (uint16_t i = kd + 1; i < fp_depth; i++) {
            if (s->fp_ips[i] != last)
                continue;
            uint16_t n = (uint16_t)(fp_depth - i - 1);
            if (n > max - depth)
                n = (uint16_t)(max - depth);
            memcpy(s->ips + depth, s->fp_ips + i + 1, (size_t)n * sizeof(uint64_t));
            depth = (uint16_t)(depth + n);
            cut = (res->flags & SS_STACK_TRUNCATED) || depth >= max ? SS_CUT_DEPTH : SS_CUT_NONE;
            break;
        }
    }
    res->depth = depth;
    res->flags = cut ? SS_STACK_TRUNCATED : 0;
    *leaf_fp = u.leaf_fp;
    STAT_ADD(s, unwound, 1);
    STAT_ADD(s, cfi_frames, u.cfi_frames);
    STAT_ADD(s, fp_frames, u.fp_frames);
    return cut;
}

uint8_t rr_unwind_user(ss_session *s, ss_process *p, const uint64_t *regs, const uint8_t *data,
                       uint64_t len, cc_result *res)
{
    int leaf_fp;
    return unwind_user(s, p, regs, data, len, res, &leaf_fp);
}

/*
 * A sample of a process in an exec (ss_exec_state): -1 to drop it (a spawned command before its
 * exec), 1 to keep only its kernel frames (the kernel loading the new image: the user registers
 * are the old image's, its memory is gone, and the new image has no user frames yet), else 0 (the
 * new image runs: its user IP is in the new mappings, or the sample is in user mode).
 */
static int exec_sample(ss_session *s, int pid, uint64_t user_ip, const uint64_t *raw, uint64_t nr)
{
    ss_process *p = tg_process(s, pid, 0);
    if (!p || p->exec_state == SS_EXEC_NONE)
        return 0;
    if (p->exec_state == SS_EXEC_HELD)
        return -1;
    int in_kernel = nr > 0 && raw[0] == PERF_CONTEXT_KERNEL;
    if (in_kernel && !ms_find(&p->maps, user_ip))
        return 1;
    tg_set_exec_state(s, p, SS_EXEC_NONE);
    return 0;
}

#define TAKE(dst, n)                      \
    do {                                  \
        if ((size_t)(end - p) < (n))      \
            return;                       \
        memcpy((dst), p, (n));            \
        p += (n);                         \
    } while (0)

static void on_sample(ss_session *s, ss_pev *e, const uint8_t *p, const uint8_t *end)
{
    uint64_t ip, time_ns, weight = s->attr.sample_period, instructions = 0, nr, abi = 0;
    uint32_t ids[2];
    TAKE(&ip, 8);
    TAKE(ids, 8);
    TAKE(&time_ns, 8);
    (void)ip;
    uint64_t id = 0;
    if (s->attr.sample_type & PERF_SAMPLE_ID)
        TAKE(&id, 8);
    int switch_out = s->o.event == SS_EVENT_OFF_CPU ||
                     (s->o.event == SS_EVENT_WALL && e->sw_fd >= 0 && id == e->sw_id);
    if (s->attr.sample_type & PERF_SAMPLE_PERIOD)
        TAKE(&weight, 8);
    if (s->attr.sample_type & PERF_SAMPLE_READ) {
        uint64_t n, v[2] = { 0, 0 };
        TAKE(&n, 8);
        if (n > 16)
            return;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t x;
            TAKE(&x, 8);
            if (i < 2)
                v[i] = x;
        }
        if (n >= 2 && e->insn_fd >= 0) {
            instructions = v[1] - e->last_insn;
            e->last_insn = v[1];
        }
    }
    TAKE(&nr, 8);
    if (nr > (size_t)(end - p) / 8)
        return;
    const uint64_t *raw = (const uint64_t *)(const void *)p;
    p += nr * 8;
    uint64_t all_regs[ARG_REGS + NREGS] = { 0 };
    size_t arg_regs = s->alloc ? ARG_REGS : 0;
    TAKE(&abi, 8);
    if (abi)
        TAKE(all_regs, (arg_regs + NREGS) * 8);
    const uint64_t *regs = all_regs + arg_regs;
    uint64_t stack_size = 0, dyn_size = 0, top = 0;
    const uint8_t *data = NULL;
    TAKE(&stack_size, 8);
    if (stack_size) {
        if (stack_size > (size_t)(end - p))
            return;
        data = p;
        p += stack_size;
        TAKE(&dyn_size, 8);
        if (dyn_size > stack_size)
            dyn_size = stack_size;
        if (dyn_size >= 8)
            memcpy(&top, data, 8);
    }
    uint32_t pid = ids[0], tid = ids[1];
    if (pid == (uint32_t)s->self_pid && tid == (uint32_t)s->reader_tid)
        return;                        /* cgroup mode with the collector inside: not our own reads */
    int kernel_only = s->awaiting_exec && exec_sample(s, (int)pid, abi ? regs[IP_AT] : 0, raw, nr);
    if (kernel_only < 0)
        return;
    if (kernel_only)
        STAT_ADD(s, exec_loading, 1);
    if (s->alloc) {
        /* Weighted by what the sample stands for: bytes, and allocations in the `instructions`
         * slot (no counter is grouped with uprobes). */
        uint64_t size;
        if (!abi || ap_size(e, id, all_regs[ARG0_AT], all_regs[ARG1_AT], &size) < 0)
            return;
        ap_weights(size, s->alloc->mean, &s->alloc->rng, &weight, &instructions);
        if (weight == 0)
            return;
    }

    cc_result res;
    uint16_t max_depth = (uint16_t)s->o.max_depth;
    uint8_t cut = 0;
    int unwound = s->o.unwind != SS_UNWIND_FP && abi == PERF_SAMPLE_REGS_ABI_64 && data &&
                  !kernel_only;
    ss_process *proc = NULL;
    if (unwound) {
        proc = tg_process(s, (int)pid, s->o.target_kind == SS_TARGET_CGROUP);
        unwound = proc != NULL;
    }
    int leaf_fp = 0;
    if (unwound) {
        if (__atomic_load_n(&s->cap.want, __ATOMIC_RELAXED) > s->cap.n)
            cap_keep(s, pid, regs, NREGS, raw, nr, data, dyn_size);
        cc_strip(raw, nr, s->fp_ips, max_depth, &res);
        cut = unwind_user(s, proc, regs, data, dyn_size, &res, &leaf_fp);
    } else {
        cc_strip(raw, nr, s->ips, max_depth, &res);
        uint64_t frames = 0;
        for (uint64_t i = 0; i < nr; i++)
            frames += raw[i] < (uint64_t)-4095;
        if (frames >= s->max_stack)    /* the kernel stopped at sample_max_stack */
            res.flags |= SS_STACK_TRUNCATED;
        if (kernel_only) {
            res.depth = res.kernel_depth;
            res.flags = 0;
        }
        if (res.flags & SS_STACK_TRUNCATED)
            cut = SS_CUT_DEPTH;
    }

#if defined(__x86_64__)
    uint64_t candidate = abi == PERF_SAMPLE_REGS_ABI_64 ? top : 0;
#else
    uint64_t candidate = abi ? regs[1] : 0;
    (void)top;
#endif
    /* The leaf-caller fix-up, where the leaf was unwound by its frame pointer. */
    if (candidate && (!unwound || leaf_fp) && !kernel_only) {
        if (!proc)
            proc = tg_process(s, (int)pid, s->o.target_kind == SS_TARGET_CGROUP);
        struct fix_ctx fc = { s, proc };
        if (proc && cc_fixup_leaf(s->ips, &res, max_depth, candidate, in_exec, verify_call, &fc))
            STAT_ADD(s, leaf_fixups, 1);
    }
    if (cut)
        res.flags |= SS_STACK_TRUNCATED;
    switch (cut) {
    case SS_CUT_NONE: break;
    case SS_CUT_DEPTH: STAT_ADD(s, truncated, 1); break;
    case SS_CUT_STACK_COPY: STAT_ADD(s, cut_stack_copy, 1); break;
    case SS_CUT_NO_UNWIND_INFO: STAT_ADD(s, cut_no_unwind_info, 1); break;
    default: STAT_ADD(s, cut_corrupt, 1); break;
    }
    if (switch_out) {                  /* counted when the thread runs again (offcpu_linux.c) */
        oc_switch_out(s, e, pid, tid, time_ns, s->ips, res.depth, res.kernel_depth, res.flags, cut);
        return;
    }
    pthread_mutex_lock(&s->mu);
    int counted = st_add(&s->table, pid, s->o.per_thread ? tid : 0, s->ips, res.depth,
                         res.kernel_depth, res.flags, cut, weight, instructions);
    __atomic_store_n(&s->st.table_bytes, s->table.bytes, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&s->mu);
    STAT_ADD(s, samples, (uint64_t)counted);
    STAT_ADD(s, table_overflow, (uint64_t)!counted);
}

struct task_rec { uint32_t pid, ppid, tid, ptid; };

static void on_record(ss_session *s, ss_pev *e, const struct perf_event_header *h)
{
    const uint8_t *p = (const uint8_t *)(h + 1), *end = (const uint8_t *)h + h->size;
    switch (h->type) {
    case PERF_RECORD_SAMPLE:
        on_sample(s, e, p, end);
        break;
    case PERF_RECORD_LOST: {
        uint64_t v[2];
        TAKE(v, 16);
        STAT_ADD(s, lost, v[1]);
        break;
    }
    case PERF_RECORD_LOST_SAMPLES: {
        uint64_t lost;
        TAKE(&lost, 8);
        STAT_ADD(s, lost, lost);
        break;
    }
    case PERF_RECORD_THROTTLE:
        STAT_ADD(s, throttled, 1);
        break;
    case PERF_RECORD_SWITCH: {
        uint32_t ids[2];
        uint64_t time_ns;
        TAKE(ids, 8);                  /* sample_id_all: pid, tid, time */
        TAKE(&time_ns, 8);
        if (!(h->misc & PERF_RECORD_MISC_SWITCH_OUT))
            oc_switch_in(s, e, time_ns);
        break;
    }
    case PERF_RECORD_FORK: {
        struct task_rec t;
        TAKE(&t, sizeof(t));
        tg_on_fork(s, (int)t.pid, (int)t.ppid, (int)t.tid, (int)t.ptid);
        break;
    }
    case PERF_RECORD_EXIT: {
        struct task_rec t;
        TAKE(&t, sizeof(t));
        tg_on_exit(s, e, (int)t.pid, (int)t.tid);
        break;
    }
    case PERF_RECORD_COMM: {
        uint32_t ids[2];
        char name[17] = { 0 };
        TAKE(ids, 8);
        size_t n = (size_t)(end - p) < 16 ? (size_t)(end - p) : 16;
        memcpy(name, p, n);
        tg_on_comm(s, (int)ids[0], (int)ids[1], name, !!(h->misc & PERF_RECORD_MISC_COMM_EXEC));
        break;
    }
    case PERF_RECORD_MMAP2: {
        struct {
            uint32_t pid, tid;
            uint64_t addr, len, pgoff;
            union {
                struct { uint32_t maj, min; uint64_t ino, ino_generation; } f;
                struct { uint8_t size, r1; uint16_t r2; uint8_t id[20]; } b;
            } u;
            uint32_t prot, flags;
        } m;
        TAKE(&m, sizeof(m));
        char path[4097];
        size_t n = (size_t)(end - p) < 4096 ? (size_t)(end - p) : 4096;
        memcpy(path, p, n);
        path[n] = '\0';
        if (!(m.prot & 0x4))           /* PROT_EXEC */
            break;
        if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)
            tg_on_mmap(s, (int)m.pid, m.addr, m.len, m.pgoff, m.u.b.id,
                       m.u.b.size > 20 ? 20 : m.u.b.size, 0, 0, 0, path);
        else
            tg_on_mmap(s, (int)m.pid, m.addr, m.len, m.pgoff, NULL, 0, m.u.f.maj, m.u.f.min,
                       m.u.f.ino, path);
        break;
    }
    default:
        break;
    }
}

/* Consumes everything the kernel has published in one ring. */
static void drain_ring(ss_session *s, ss_pev *e)
{
    struct perf_event_mmap_page *meta = e->ring;
    uint8_t *data = (uint8_t *)e->ring + meta->data_offset;
    uint64_t size = meta->data_size ? meta->data_size : e->data_size;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    while (tail < head) {
        uint64_t off = tail % size;
        struct perf_event_header hdr;
        if (off + sizeof(hdr) <= size) {
            memcpy(&hdr, data + off, sizeof(hdr));
        } else {
            size_t first = (size_t)(size - off);
            memcpy(&hdr, data + off, first);
            memcpy((uint8_t *)&hdr + first, data, sizeof(hdr) - first);
        }
        if (hdr.size < sizeof(hdr) || hdr.size > head - tail)
            break;                     /* not a record boundary: give the ring back */
        const struct perf_event_header *rec;
        if (off + hdr.size <= size) {
            rec = (const struct perf_event_header *)(const void *)(data + off);
        } else {
            size_t first = (size_t)(size - off);
            memcpy(s->scratch, data + off, first);
            memcpy(s->scratch + first, data, hdr.size - first);
            rec = (const struct perf_event_header *)(const void *)s->scratch;
        }
        on_record(s, e, rec);
        tail += hdr.size;
    }
    __atomic_store_n(&meta->data_tail, head, __ATOMIC_RELEASE);
}

void rr_drain_all(ss_session *s)
{
    /* Index loop: attaching a thread while handling a FORK appends to s->ev. */
    for (size_t i = 0; i < s->nev; i++)
        drain_ring(s, s->ev[i]);
}

static void publish_flush(ss_session *s, uint64_t seen)
{
    pthread_mutex_lock(&s->mu);
    if (seen > s->flush_done)
        s->flush_done = seen;
    pthread_cond_broadcast(&s->flushed);
    pthread_mutex_unlock(&s->mu);
}

void *rr_thread(void *arg)
{
    ss_session *s = arg;
    /* Set before any record is handled (only this thread handles them): the FORK record of this
     * very thread, and every rescan, must not attach it when a process profiles itself. */
    s->reader_tid = (int)gettid();
    struct pollfd *pfd = NULL;
    size_t pcap = 0;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        size_t n = s->nev + 1;
        if (n > pcap) {
            struct pollfd *np = realloc(pfd, n * 2 * sizeof(*np));
            if (!np)
                break;
            pfd = np;
            pcap = n * 2;
        }
        pfd[0] = (struct pollfd){ s->wake_fd, POLLIN, 0 };
        for (size_t i = 0; i < s->nev; i++)
            pfd[i + 1] = (struct pollfd){ s->ev[i]->fd, POLLIN, 0 };
        size_t polled = s->nev;
        int busy = s->awaiting_exec > 0 || ss_now_ns() < s->busy_until_ns;
        poll(pfd, n, busy ? s->sweep_ms : s->quiet_sweep_ms);
        if (pfd[0].revents & POLLIN) {
            uint64_t v;
            if (read(s->wake_fd, &v, sizeof(v)) < 0)
                v = 0;
        }
        uint64_t seen = __atomic_load_n(&s->flush_req, __ATOMIC_ACQUIRE);
        rr_drain_all(s);
        /* A drain is waiting: threads still off CPU have their time so far counted in it. */
        if (seen > s->flush_done)
            oc_split_all(s, ss_now_ns());
        for (size_t i = 0; i < polled; i++) {
            /* POLLHUP: the thread exited (its EXIT record may have been lost). */
            if ((pfd[i + 1].revents & (POLLHUP | POLLERR)) && s->ev[i]->fd == pfd[i + 1].fd &&
                s->ev[i]->tid > 0)
                tg_on_exit(s, s->ev[i], s->ev[i]->pid, s->ev[i]->tid);
        }
        tg_reap_dead(s);
        uint64_t now = ss_now_ns();
        if (now >= s->next_rescan_ns) {
            tg_rescan(s);
            s->next_rescan_ns = now + (uint64_t)s->o.rescan_ms * 1000000ull;
        }
        publish_flush(s, seen);
    }
    /* Stopped: no new samples from here on, then one last sweep of what the rings hold. */
    for (size_t i = 0; i < s->nev; i++)
        ioctl(s->ev[i]->fd, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
    uint64_t seen = __atomic_load_n(&s->flush_req, __ATOMIC_ACQUIRE);
    rr_drain_all(s);
    oc_split_all(s, ss_now_ns());      /* threads off CPU at the stop: their time up to now */
    tg_reap_dead(s);
    publish_flush(s, seen);
    free(pfd);
    return NULL;
}
