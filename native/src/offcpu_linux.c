/*
 * offcpu_linux.c - off-CPU time: the stack a thread had when it left the CPU, weighted by the
 * nanoseconds until it ran again.
 *
 * The context-switches software event fires in the scheduler while the outgoing thread is still
 * current, so its sample carries that thread's kernel and user stack (the user part is where it
 * blocked: nanosleep, a futex, read). The event also has context_switch = 1, so the kernel writes
 * PERF_RECORD_SWITCH into the same per-thread ring when the thread is switched in again. Both
 * carry CLOCK_MONOTONIC times (use_clockid), and one thread's records arrive in order in its own
 * ring, so the interval is simply switch-in time minus switch-out time; no cross-ring ordering
 * is needed (that is why cgroup targets, with per-CPU rings, are refused for these events).
 *
 * A thread still off CPU when a window is drained has its interval cut there (oc_split_all): the
 * part so far is counted in this window and the rest starts again, so a thread asleep for a minute
 * shows up in each window it slept in, not as one lump when it wakes.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "session.h"

struct oc_pending {
    uint64_t since_ns;   /* switch-out time, or the last split */
    uint32_t pid, tid;
    uint16_t depth, kernel_depth, flags;
    uint8_t cut, live;   /* live: a switch-out waits for its switch-in */
    uint64_t ips[SS_MAX_DEPTH_LIMIT + 2];
};

int oc_is_switch_sampling(const ss_session *s)
{
    return s->o.event == SS_EVENT_OFF_CPU || s->o.event == SS_EVENT_WALL;
}

static void count(ss_session *s, struct oc_pending *p, uint64_t weight)
{
    pthread_mutex_lock(&s->mu);
    int counted = st_add(&s->table, p->pid, s->o.per_thread ? p->tid : 0, p->ips, p->depth,
                         p->kernel_depth, p->flags, p->cut, weight, 0);
    __atomic_store_n(&s->st.table_bytes, s->table.bytes, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&s->mu);
    STAT_ADD(s, samples, (uint64_t)counted);
    STAT_ADD(s, table_overflow, (uint64_t)!counted);
    STAT_ADD(s, offcpu_intervals, 1);
}

void oc_switch_out(ss_session *s, ss_pev *e, uint32_t pid, uint32_t tid, uint64_t time_ns,
                   const uint64_t *ips, uint16_t depth, uint16_t kernel_depth, uint16_t flags,
                   uint8_t cut)
{
    if (!e->pending) {
        e->pending = malloc(sizeof(*e->pending));
        if (!e->pending) {
            STAT_ADD(s, offcpu_unmatched, 1);
            return;
        }
    } else if (e->pending->live) {
        STAT_ADD(s, offcpu_unmatched, 1);   /* its switch-in record was lost */
    }
    struct oc_pending *p = e->pending;
    p->since_ns = time_ns;
    p->pid = pid;
    p->tid = tid;
    p->depth = depth;
    p->kernel_depth = kernel_depth;
    p->flags = flags;
    p->cut = cut;
    p->live = 1;
    memcpy(p->ips, ips, (size_t)depth * sizeof(uint64_t));
}

void oc_switch_in(ss_session *s, ss_pev *e, uint64_t time_ns)
{
    struct oc_pending *p = e->pending;
    if (!p || !p->live)
        return;                        /* switched out before the event was on, or already split */
    p->live = 0;
    /* A split may have moved since_ns past a switch-in read late: then nothing is left to count. */
    if (time_ns > p->since_ns)
        count(s, p, time_ns - p->since_ns);
}

void oc_split_all(ss_session *s, uint64_t now_ns)
{
    if (!oc_is_switch_sampling(s))
        return;
    for (size_t i = 0; i < s->nev; i++) {
        struct oc_pending *p = s->ev[i]->pending;
        if (!p || !p->live || now_ns <= p->since_ns)
            continue;
        count(s, p, now_ns - p->since_ns);
        p->since_ns = now_ns;
    }
}

void oc_forget(ss_session *s, ss_pev *e)
{
    if (e->pending && e->pending->live)
        STAT_ADD(s, offcpu_unmatched, 1);
    free(e->pending);
    e->pending = NULL;
}
