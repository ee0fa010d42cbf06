/*
 * mappings.c - the executable mappings of one process, as a sorted interval set.
 *
 * Used by the leaf-caller fix-up ("is this stack word a code address of the target?") and by the
 * unwinder (which module's table covers this address?).
 * Filled from /proc/PID/maps at attach and kept current from PERF_RECORD_MMAP2.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void ms_free(ss_mapset *m)
{
    free(m->v);
    memset(m, 0, sizeof(*m));
}

void ms_clear(ss_mapset *m)
{
    m->n = 0;
}

/* Index of the first mapping whose end is above addr. */
static size_t lower(const ss_mapset *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->v[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ms_contains(const ss_mapset *m, uint64_t addr)
{
    return ms_find(m, addr) != NULL;
}

const ss_mapping *ms_find(const ss_mapset *m, uint64_t addr)
{
    size_t i = lower(m, addr);
    return i < m->n && m->v[i].start <= addr ? &m->v[i] : NULL;
}

int ms_add(ss_mapset *m, uint64_t start, uint64_t end, uint64_t pgoff, struct cfi_module *mod)
{
    if (end <= start)
        return -EINVAL;
    /* Drop or trim what the new mapping covers: an mmap over an old range replaces it. */
    size_t i = lower(m, start);
    while (i < m->n && m->v[i].start < end) {
        ss_mapping *o = &m->v[i];
        if (o->start < start && o->end > end) {          /* split around the new range */
            ss_mapping tail = { end, o->end, o->pgoff + (end - o->start), o->mod };
            o->end = start;
            if (ms_add(m, tail.start, tail.end, tail.pgoff, tail.mod) < 0)
                return -ENOMEM;
            break;
        } else if (o->start < start) {
            o->end = start;
            i++;
        } else if (o->end > end) {
            o->pgoff += end - o->start;
            o->start = end;
            break;
        } else {
            memmove(o, o + 1, (m->n - i - 1) * sizeof(*o));
            m->n--;
        }
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        ss_mapping *v = realloc(m->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        m->v = v;
        m->cap = cap;
    }
    i = lower(m, start);
    memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof(*m->v));
    m->v[i] = (ss_mapping){ start, end, pgoff, mod };
    m->n++;
    return 0;
}
