/* test_stack_table.c - deduplication, counts, the memory cap, and reset. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h"

struct collect { uint64_t entries, count, weight; uint32_t depth_sum; };

static void collect(const st_entry *e, void *arg)
{
    struct collect *c = arg;
    c->entries++;
    c->count += e->count;
    c->weight += e->weight;
    c->depth_sum += e->depth;
}

TEST(stack_table_dedups_and_sums)
{
    stack_table t;
    CHECK(st_init(&t, 1 << 20) == 0);
    uint64_t s1[] = { 0x1000, 0x2000, 0x3000 }, s2[] = { 0x1000, 0x2000 };
    for (int i = 0; i < 10; i++)
        CHECK(st_add(&t, 7, 0, s1, 3, 0, 0, 0, 100, 5) == 1);
    CHECK(st_add(&t, 7, 0, s2, 2, 0, 0, 0, 50, 0) == 1);
    CHECK(st_add(&t, 8, 0, s2, 2, 0, 0, 0, 50, 0) == 1);     /* other pid: other stack */
    CHECK(st_add(&t, 7, 9, s2, 2, 0, 0, 0, 50, 0) == 1);     /* other tid: other stack */
    CHECK(st_add(&t, 7, 0, s2, 2, 1, 0, 0, 50, 0) == 1);     /* other kernel depth */
    CHECK(st_add(&t, 7, 0, s2, 2, 0, 0, 0, 50, 0) == 1);     /* same as the 11th */
    CHECK(t.entries == 5);
    struct collect c = { 0, 0, 0, 0 };
    st_foreach(&t, collect, &c);
    CHECK(c.entries == 5 && c.count == 15 && c.weight == 1250);
    CHECK(t.serialized == st_record_size(3) + 4 * st_record_size(2));
    st_free(&t);
}

TEST(stack_table_many_distinct_stacks_grow)
{
    stack_table t;
    CHECK(st_init(&t, 64 << 20) == 0);
    uint64_t ips[8];
    for (uint64_t i = 0; i < 100000; i++) {
        for (int k = 0; k < 8; k++)
            ips[k] = i * 8 + (uint64_t)k;
        CHECK(st_add(&t, 1, 0, ips, 8, 0, 0, 0, 1, 0) == 1);
    }
    for (uint64_t i = 0; i < 100000; i += 7) {   /* found again, not re-added */
        for (int k = 0; k < 8; k++)
            ips[k] = i * 8 + (uint64_t)k;
        CHECK(st_add(&t, 1, 0, ips, 8, 0, 0, 0, 1, 0) == 1);
    }
    CHECK(t.entries == 100000);
    struct collect c = { 0, 0, 0, 0 };
    st_foreach(&t, collect, &c);
    CHECK(c.entries == 100000 && c.count == 100000 + (100000 + 6) / 7);
    CHECK(t.bytes <= t.cap_bytes);
    st_free(&t);
}

TEST(stack_table_overflow_at_cap_is_counted)
{
    stack_table t;
    size_t cap = 32 * 1024;
    CHECK(st_init(&t, cap) == 0);
    uint64_t ips[16];
    int refused = 0;
    for (uint64_t i = 0; i < 5000; i++) {
        for (int k = 0; k < 16; k++)
            ips[k] = i + (uint64_t)k;
        refused += st_add(&t, 1, 0, ips, 16, 0, 0, 0, 1, 0) == 0;
        CHECKF(t.bytes <= cap, "bytes %zu over cap %zu", t.bytes, cap);
    }
    CHECK(refused > 0 && t.overflow == (uint64_t)refused);
    /* A stack already held still counts at the cap. */
    for (int k = 0; k < 16; k++)
        ips[k] = (uint64_t)k;
    uint64_t before = t.overflow;
    CHECK(st_add(&t, 1, 0, ips, 16, 0, 0, 0, 1, 0) == 1);
    CHECK(t.overflow == before);
    /* After a reset there is room again. */
    st_reset(&t);
    CHECK(t.entries == 0 && t.serialized == 0);
    CHECK(st_add(&t, 1, 0, ips, 16, 0, 0, 0, 1, 0) == 1);
    struct collect c = { 0, 0, 0, 0 };
    st_foreach(&t, collect, &c);
    CHECK(c.entries == 1 && c.count == 1);
    st_free(&t);
}

TEST(stack_table_reset_keeps_working_across_windows)
{
    stack_table t;
    CHECK(st_init(&t, 1 << 20) == 0);
    uint64_t ips[40];
    for (int w = 0; w < 5; w++) {
        for (uint64_t i = 0; i < 3000; i++) {
            uint16_t depth = (uint16_t)(1 + i % 40);
            for (int k = 0; k < depth; k++)
                ips[k] = i * 100 + (uint64_t)k + (uint64_t)w;
            CHECK(st_add(&t, 1, (uint32_t)w, ips, depth, 0, 0, 0, 1, 0) == 1);
        }
        struct collect c = { 0, 0, 0, 0 };
        st_foreach(&t, collect, &c);
        CHECKF(c.entries == 3000 && c.count == 3000, "window %d: %llu entries", w,
               (unsigned long long)c.entries);
        st_reset(&t);
        c = (struct collect){ 0, 0, 0, 0 };
        st_foreach(&t, collect, &c);
        CHECK(c.entries == 0);
    }
    /* An entry larger than a chunk still fits. */
    uint64_t big[512];
    for (int k = 0; k < 512; k++)
        big[k] = (uint64_t)k;
    CHECK(st_add(&t, 1, 0, big, 512, 0, 0, 0, 1, 0) == 1);
    st_free(&t);
}
