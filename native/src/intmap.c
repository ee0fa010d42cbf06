/* intmap.c - see intmap.h. Linear probing with tombstones; rebuilt when tombstones pile up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "intmap.h"

static size_t slot_of(int32_t key, size_t mask)
{
    uint32_t h = (uint32_t)key * 2654435761u;
    return (h ^ (h >> 16)) & mask;
}

void im_free(intmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

void *im_get(const intmap *m, int32_t key)
{
    if (!m->keys || key <= 0)
        return NULL;
    for (size_t i = slot_of(key, m->mask);; i = (i + 1) & m->mask) {
        if (m->keys[i] == key)
            return m->vals[i];
        if (m->keys[i] == 0)
            return NULL;
    }
}

static int rehash(intmap *m, size_t n)
{
    intmap nm = { calloc(n, sizeof(int32_t)), calloc(n, sizeof(void *)), n - 1, 0, 0 };
    if (!nm.keys || !nm.vals) {
        im_free(&nm);
        return -ENOMEM;
    }
    for (size_t i = 0; m->keys && i <= m->mask; i++) {
        if (m->keys[i] <= 0)
            continue;
        size_t j = slot_of(m->keys[i], nm.mask);
        while (nm.keys[j])
            j = (j + 1) & nm.mask;
        nm.keys[j] = m->keys[i];
        nm.vals[j] = m->vals[i];
        nm.used++;
        nm.live++;
    }
    im_free(m);
    *m = nm;
    return 0;
}

int im_put(intmap *m, int32_t key, void *val)
{
    if (key <= 0)
        return -EINVAL;
    if (!m->keys || (m->used + 1) * 4 > (m->mask + 1) * 3) {
        size_t n = m->keys ? m->mask + 1 : 64;
        while ((m->live + 1) * 2 > n)
            n *= 2;
        if (rehash(m, n) < 0)
            return -ENOMEM;
    }
    size_t i = slot_of(key, m->mask), tomb = (size_t)-1;
    for (;; i = (i + 1) & m->mask) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return 0;
        }
        if (m->keys[i] == -1 && tomb == (size_t)-1)
            tomb = i;
        if (m->keys[i] == 0)
            break;
    }
    if (tomb != (size_t)-1)
        i = tomb;
    else
        m->used++;
    m->keys[i] = key;
    m->vals[i] = val;
    m->live++;
    return 0;
}

void *im_del(intmap *m, int32_t key)
{
    if (!m->keys || key <= 0)
        return NULL;
    for (size_t i = slot_of(key, m->mask);; i = (i + 1) & m->mask) {
        if (m->keys[i] == key) {
            void *v = m->vals[i];
            m->keys[i] = -1;
            m->vals[i] = NULL;
            m->live--;
            return v;
        }
        if (m->keys[i] == 0)
            return NULL;
    }
}
