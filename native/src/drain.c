/*
 * drain.c - the byte format of ss_drain (documented in stackstream.h).
 *
 * COMM/MMAP/EXIT records are serialised when they happen into small growable buffers (they are
 * rare), STACK records are written from the table at drain time. A drain writes the "pre" buffer
 * (names and mappings), then the stacks, then the "post" buffer (exits), so a reader learns about
 * a mapping before the first stack that needs it and about an exit after the process's last stack.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct rec_header {
    uint16_t type, flags;
    uint32_t size;
};

struct rec_stack {
    struct rec_header h;
    uint32_t pid, tid;
    uint64_t count, weight, instructions;
    uint16_t depth, kernel_depth;
    uint8_t cut;
    uint8_t reserved[3];
    /* uint64_t ip[depth] */
};

struct rec_comm {
    struct rec_header h;
    uint32_t pid, tid;
    char name[16];
};

struct rec_mmap {
    struct rec_header h;
    uint32_t pid, reserved;
    uint64_t start, len, pgoff;
    uint8_t build_id_len;
    uint8_t build_id[20];
    uint8_t reserved2[3];
    uint32_t path_len;
    /* char path[path_len], padding to 8 */
};

struct rec_exit {
    struct rec_header h;
    uint32_t pid, tid;
};

_Static_assert(sizeof(struct rec_stack) == 48, "STACK record layout");
_Static_assert(sizeof(struct rec_comm) == 32, "COMM record layout");
/* The path follows path_len directly, at byte 68 (the struct itself pads to 72). */
#define MMAP_FIXED (offsetof(struct rec_mmap, path_len) + sizeof(uint32_t))
_Static_assert(MMAP_FIXED == 68, "MMAP record layout");
_Static_assert(sizeof(struct rec_exit) == 16, "EXIT record layout");
_Static_assert(sizeof(st_entry) == sizeof(struct rec_stack), "entry and record sizes agree");

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

void sb_free(ss_bytes *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static uint8_t *sb_reserve(ss_bytes *b, size_t n)
{
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return NULL;
        b->p = p;
        b->cap = cap;
    }
    uint8_t *at = b->p + b->n;
    memset(at, 0, n);
    b->n += n;
    return at;
}

int sb_append_comm(ss_bytes *b, uint32_t pid, uint32_t tid, const char *name, int exec)
{
    struct rec_comm r = { { SS_REC_COMM, exec ? SS_COMM_EXEC : 0, sizeof(r) }, pid, tid, { 0 } };
    strncpy(r.name, name, sizeof(r.name) - 1);
    uint8_t *at = sb_reserve(b, sizeof(r));
    if (!at)
        return -ENOMEM;
    memcpy(at, &r, sizeof(r));
    return 0;
}

int sb_append_mmap(ss_bytes *b, uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
                   const uint8_t *build_id, uint8_t build_id_len, const char *path,
                   size_t path_len)
{
    if (path_len > 4096)
        path_len = 4096;
    if (build_id_len > 20)
        build_id_len = 20;
    size_t size = ALIGN8(MMAP_FIXED + path_len);
    struct rec_mmap r;
    memset(&r, 0, sizeof(r));
    r.h = (struct rec_header){ SS_REC_MMAP, 0, (uint32_t)size };
    r.pid = pid;
    r.start = start;
    r.len = len;
    r.pgoff = pgoff;
    r.build_id_len = build_id_len;
    if (build_id_len)
        memcpy(r.build_id, build_id, build_id_len);
    r.path_len = (uint32_t)path_len;
    uint8_t *at = sb_reserve(b, size);
    if (!at)
        return -ENOMEM;
    memcpy(at, &r, MMAP_FIXED);
    memcpy(at + MMAP_FIXED, path, path_len);
    return 0;
}

int sb_append_exit(ss_bytes *b, uint32_t pid, uint32_t tid)
{
    struct rec_exit r = { { SS_REC_EXIT, 0, sizeof(r) }, pid, tid };
    uint8_t *at = sb_reserve(b, sizeof(r));
    if (!at)
        return -ENOMEM;
    memcpy(at, &r, sizeof(r));
    return 0;
}

size_t drain_size(const ss_bytes *pre, const stack_table *t, const ss_bytes *post)
{
    return pre->n + t->serialized + post->n;
}

static void write_entry(const st_entry *e, void *arg)
{
    uint8_t **at = arg;
    size_t size = st_record_size(e->depth);
    struct rec_stack r = {
        { SS_REC_STACK, e->flags, (uint32_t)size }, e->pid, e->tid, e->count, e->weight,
        e->instructions, e->depth, e->kernel_depth, (uint8_t)e->cut, { 0, 0, 0 }
    };
    memcpy(*at, &r, sizeof(r));
    memcpy(*at + sizeof(r), e->ips, (size_t)e->depth * sizeof(uint64_t));
    *at += size;
}

size_t drain_write(uint8_t *buf, const ss_bytes *pre, const stack_table *t, const ss_bytes *post)
{
    uint8_t *at = buf;
    if (pre->n)
        memcpy(at, pre->p, pre->n);
    at += pre->n;
    st_foreach(t, write_entry, &at);
    if (post->n)
        memcpy(at, post->p, post->n);
    at += post->n;
    return (size_t)(at - buf);
}
