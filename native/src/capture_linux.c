/*
 * capture_linux.c - copies of sampled user stacks kept for replay (ss_capture,
 * ss_unwind_captured): a benchmark unwinds the registers and stack bytes of a real run again and
 * again, through the same code the reader thread runs, without the target or perf in the loop.
 *
 * The reader thread appends samples until the number asked for is reached (one relaxed load per
 * sample while no capture is asked for); ss_stop snapshots the executable mappings of every
 * captured process before the process table goes, and replays use those snapshots with the
 * session's unwind tables. Replays run on the caller's thread once the reader is joined.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

struct cap_rec {
    uint32_t pid, nr;
    uint64_t regs[CAP_REGS];
    uint64_t stack_len;
    uint64_t *raw;      /* the kernel's chain, PERF_CONTEXT markers included (nr words) */
    uint8_t *stack;     /* the user stack copy (stack_len bytes) */
};

SS_EXPORT int32_t ss_capture(ss_session *s, int32_t max_samples)
{
    if (!s || max_samples < 0)
        return -EINVAL;
    if (s->o.unwind == SS_UNWIND_FP)
        return -EINVAL;          /* FP mode copies no stack: nothing to replay */
    __atomic_store_n(&s->cap.want, max_samples, __ATOMIC_RELEASE);
    return 0;
}

SS_EXPORT int32_t ss_captured(const ss_session *s)
{
    return s ? __atomic_load_n(&s->cap.n, __ATOMIC_ACQUIRE) : 0;
}

void cap_keep(ss_session *s, uint32_t pid, const uint64_t *regs, size_t nregs, const uint64_t *raw,
              uint64_t nr, const uint8_t *stack, uint64_t stack_len)
{
    int32_t n = s->cap.n;
    if (n >= __atomic_load_n(&s->cap.want, __ATOMIC_ACQUIRE))
        return;
    if ((size_t)n == s->cap.cap) {
        size_t cap = s->cap.cap ? 2 * s->cap.cap : 256;
        struct cap_rec **v = realloc(s->cap.recs, cap * sizeof(*v));
        if (!v)
            return;
        s->cap.recs = v;
        s->cap.cap = cap;
    }
    struct cap_rec *r = calloc(1, sizeof(*r));
    if (!r)
        return;
    r->raw = malloc(nr * sizeof(uint64_t) + 1);
    r->stack = malloc(stack_len + 1);
    if (!r->raw || !r->stack) {
        free(r->raw);
        free(r->stack);
        free(r);
        return;
    }
    r->pid = pid;
    r->nr = (uint32_t)nr;
    memcpy(r->regs, regs, nregs * sizeof(uint64_t));
    memcpy(r->raw, raw, nr * sizeof(uint64_t));
    memcpy(r->stack, stack, stack_len);
    r->stack_len = stack_len;
    s->cap.recs[n] = r;
    __atomic_store_n(&s->cap.n, n + 1, __ATOMIC_RELEASE);
}

static ss_process *snapshot_of(ss_session *s, uint32_t pid)
{
    for (size_t i = 0; i < s->cap.nprocs; i++) {
        if (s->cap.procs[i].pid == (int)pid)
            return &s->cap.procs[i];
    }
    return NULL;
}

void cap_snapshot(ss_session *s)
{
    for (int32_t i = 0; i < s->cap.n; i++) {
        uint32_t pid = s->cap.recs[i]->pid;
        if (snapshot_of(s, pid))
            continue;
        ss_process *live = tg_process(s, (int)pid, 0);
        if (!live)
            continue;
        ss_process *v = realloc(s->cap.procs, (s->cap.nprocs + 1) * sizeof(*v));
        if (!v)
            return;
        s->cap.procs = v;
        ss_process *p = &v[s->cap.nprocs];
        memset(p, 0, sizeof(*p));
        p->pid = (int)pid;
        p->maps.v = malloc((live->maps.n + 1) * sizeof(ss_mapping));
        if (!p->maps.v)
            return;
        memcpy(p->maps.v, live->maps.v, live->maps.n * sizeof(ss_mapping));
        p->maps.n = p->maps.cap = live->maps.n;
        s->cap.nprocs++;
    }
}

void cap_free(ss_session *s)
{
    for (int32_t i = 0; i < s->cap.n; i++) {
        free(s->cap.recs[i]->raw);
        free(s->cap.recs[i]->stack);
        free(s->cap.recs[i]);
    }
    free(s->cap.recs);
    for (size_t i = 0; i < s->cap.nprocs; i++)
        ms_free(&s->cap.procs[i].maps);
    free(s->cap.procs);
    memset(&s->cap, 0, sizeof(s->cap));
}

SS_EXPORT int32_t ss_unwind_captured(ss_session *s, int32_t i, uint64_t *out, int32_t max, int32_t *cut)
{
    if (!s || !out || !cut || max < 1)
        return -EINVAL;
    if (!s->stopped)
        return -EBUSY;            /* the reader thread owns the tables while it runs */
    if (i < 0 || i >= s->cap.n)
        return -ERANGE;
    struct cap_rec *r = s->cap.recs[i];
    ss_process *p = snapshot_of(s, r->pid);
    if (!p)
        return -ESRCH;
    cc_result res;
    cc_strip(r->raw, r->nr, s->fp_ips, (uint16_t)s->o.max_depth, &res);
    *cut = rr_unwind_user(s, p, r->regs, r->stack, r->stack_len, &res);
    int32_t n = res.depth < max ? res.depth : max;
    memcpy(out, s->ips, (size_t)n * sizeof(uint64_t));
    return n;
}
