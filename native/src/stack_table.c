/*
 * stack_table.c - the deduplicating stack counter.
 *
 * Open addressing with linear probing over pointers into a bump arena. The arena makes a reset
 * (once per drained window) O(slots) with no per-entry free, and lets the drain walk entries in
 * insertion order. Every byte (slot array and arena chunks) counts against cap_bytes; at the cap
 * a new distinct stack is refused and counted as overflow, while stacks already present keep
 * counting. Not thread-safe: the session serialises access.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct st_chunk {
    st_chunk *next;
    size_t used, size;
    uint64_t data[];   /* 8-byte aligned entries */
};

#define MIN_SLOTS 64u
#define START_SLOTS 1024u
#define MAX_CHUNK (1u << 20)
#define MIN_CHUNK 4096u

static uint64_t mix(uint64_t h, uint64_t w)
{
    h ^= w;
    h *= 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

static uint64_t stack_hash(uint32_t pid, uint32_t tid, const uint64_t *ips, uint16_t depth,
                           uint16_t kernel_depth)
{
    uint64_t h = mix(0x6a09e667f3bcc909ull, ((uint64_t)pid << 32) | tid);
    h = mix(h, ((uint64_t)depth << 16) | kernel_depth);
    for (uint16_t i = 0; i < depth; i++)
        h = mix(h, ips[i]);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

size_t st_record_size(uint16_t depth)
{
    return sizeof(st_entry) + (size_t)depth * sizeof(uint64_t);
}

static st_chunk *chunk_new(size_t size)
{
    st_chunk *c = malloc(sizeof(st_chunk) + size);
    if (c) {
        c->next = NULL;
        c->used = 0;
        c->size = size;
    }
    return c;
}

int st_init(stack_table *t, size_t cap_bytes)
{
    memset(t, 0, sizeof(*t));
    if (cap_bytes < 2 * MIN_CHUNK)
        cap_bytes = 2 * MIN_CHUNK;
    t->cap_bytes = cap_bytes;
    size_t chunk = cap_bytes / 16;
    if (chunk > MAX_CHUNK)
        chunk = MAX_CHUNK;
    if (chunk < MIN_CHUNK)
        chunk = MIN_CHUNK;
    t->chunk_size = chunk;
    uint32_t slots = START_SLOTS;
    while (slots > MIN_SLOTS && (size_t)slots * sizeof(st_entry *) > cap_bytes / 4)
        slots /= 2;
    t->slots = calloc(slots, sizeof(st_entry *));
    t->chunks = t->current = chunk_new(chunk);
    if (!t->slots || !t->chunks) {
        st_free(t);
        return -ENOMEM;
    }
    t->slot_mask = slots - 1;
    t->bytes = (size_t)slots * sizeof(st_entry *) + sizeof(st_chunk) + chunk;
    return 0;
}

void st_free(stack_table *t)
{
    free(t->slots);
    for (st_chunk *c = t->chunks, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    memset(t, 0, sizeof(*t));
}

/* Doubles the slot array when the cap allows; returns 0 when it could not. */
static int grow_slots(stack_table *t)
{
    size_t old_n = (size_t)t->slot_mask + 1, new_n = old_n * 2;
    size_t extra = old_n * sizeof(st_entry *);
    if (new_n > (1u << 31) || t->bytes + extra > t->cap_bytes)
        return 0;
    st_entry **ns = calloc(new_n, sizeof(st_entry *));
    if (!ns)
        return 0;
    for (size_t i = 0; i < old_n; i++) {
        st_entry *e = t->slots[i];
        if (!e)
            continue;
        size_t j = e->hash & (new_n - 1);
        while (ns[j])
            j = (j + 1) & (new_n - 1);
        ns[j] = e;
    }
    free(t->slots);
    t->slots = ns;
    t->slot_mask = (uint32_t)(new_n - 1);
    t->bytes += extra;
    return 1;
}

static st_entry *arena_alloc(stack_table *t, size_t size)
{
    st_chunk *c = t->current;
    if (c->size - c->used >= size) {
        st_entry *e = (st_entry *)((uint8_t *)c->data + c->used);
        c->used += size;
        return e;
    }
    if (c->next && c->next->size >= size) {   /* a chunk kept from before a reset */
        c = t->current = c->next;
        c->used = size;
        return (st_entry *)c->data;
    }
    size_t want = size > t->chunk_size ? size : t->chunk_size;
    if (t->bytes + sizeof(st_chunk) + want > t->cap_bytes)
        return NULL;
    st_chunk *n = chunk_new(want);
    if (!n)
        return NULL;
    n->next = c->next;   /* keep the list whole even if a small kept chunk was skipped */
    c->next = n;
    t->current = n;
    t->bytes += sizeof(st_chunk) + want;
    n->used = size;
    return (st_entry *)n->data;
}

int st_add(stack_table *t, uint32_t pid, uint32_t tid, const uint64_t *ips, uint16_t depth,
           uint16_t kernel_depth, uint16_t flags, uint8_t cut, uint64_t weight,
           uint64_t instructions)
{
    uint64_t h = stack_hash(pid, tid, ips, depth, kernel_depth);
    size_t i = h & t->slot_mask;
    for (st_entry *e; (e = t->slots[i]) != NULL; i = (i + 1) & t->slot_mask) {
        if (e->hash == h && e->pid == pid && e->tid == tid && e->depth == depth &&
            e->kernel_depth == kernel_depth && e->flags == flags && e->cut == cut &&
            memcmp(e->ips, ips, (size_t)depth * sizeof(uint64_t)) == 0) {
            e->count++;
            e->weight += weight;
            e->instructions += instructions;
            return 1;
        }
    }
    /* New stack: keep the load factor at or under 1/2 where the cap allows, 7/8 at most. */
    size_t slots = (size_t)t->slot_mask + 1;
    if ((size_t)(t->entries + 1) * 2 > slots && grow_slots(t)) {
        i = h & t->slot_mask;
        while (t->slots[i])
            i = (i + 1) & t->slot_mask;
    } else if ((size_t)(t->entries + 1) * 8 > slots * 7) {
        t->overflow++;
        return 0;
    }
    size_t size = st_record_size(depth);
    st_entry *e = arena_alloc(t, size);
    if (!e) {
        t->overflow++;
        return 0;
    }
    e->hash = h;
    e->pid = pid;
    e->tid = tid;
    e->count = 1;
    e->weight = weight;
    e->instructions = instructions;
    e->depth = depth;
    e->kernel_depth = kernel_depth;
    e->flags = flags;
    e->cut = cut;
    memcpy(e->ips, ips, (size_t)depth * sizeof(uint64_t));
    t->slots[i] = e;
    t->entries++;
    t->serialized += size;
    return 1;
}

void st_reset(stack_table *t)
{
    memset(t->slots, 0, ((size_t)t->slot_mask + 1) * sizeof(st_entry *));
    /* Keep up to two chunks' worth of arena for the next window; free the rest. */
    st_chunk *keep = t->chunks, *c = keep->next;
    size_t kept = 1;
    keep->used = 0;
    st_chunk *prev = keep;
    while (c) {
        st_chunk *n = c->next;
        if (kept < 2 && c->size == t->chunk_size) {
            c->used = 0;
            prev->next = c;
            prev = c;
            kept++;
        } else {
            t->bytes -= sizeof(st_chunk) + c->size;
            free(c);
        }
        c = n;
    }
    prev->next = NULL;
    t->current = keep;
    t->entries = 0;
    t->serialized = 0;
}

void st_foreach(const stack_table *t, void (*fn)(const st_entry *, void *), void *arg)
{
    for (const st_chunk *c = t->chunks; c; c = c->next) {
        size_t off = 0;
        while (off < c->used) {
            const st_entry *e = (const st_entry *)((const uint8_t *)c->data + off);
            fn(e, arg);
            off += st_record_size(e->depth);
        }
        if (c == t->current)
            break;
    }
}
