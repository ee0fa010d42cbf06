/* test_drain.c - the ss_drain byte format, -ENOSPC without loss, and reset after a drain. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "records.h"

struct seen { int stacks, comms, mmaps, exits, order_ok; int phase; uint64_t count; };

static void v_stack(const t_stack *s, void *arg)
{
    struct seen *x = arg;
    x->stacks++;
    x->count += s->count;
    if (x->phase > 1)
        x->order_ok = 0;
    x->phase = 1;
    if (s->pid == 42 && s->depth == 3) {
        if (s->ips[0] != 0xa || s->ips[2] != 0xc || s->count != 2 || s->weight != 20 ||
            s->kernel_depth != 1 || s->flags != SS_STACK_TRUNCATED || s->tid != 4)
            x->order_ok = 0;
    }
}

static void v_comm(uint32_t pid, uint32_t tid, const char *name, int exec, void *arg)
{
    struct seen *x = arg;
    x->comms++;
    if (x->phase != 0 || pid != 42 || tid != 43 || strcmp(name, "a-very-long-thr") != 0 || !exec)
        x->order_ok = 0;
}

static void v_mmap(uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff, const uint8_t *id,
                   int id_len, const char *path, size_t path_len, void *arg)
{
    struct seen *x = arg;
    x->mmaps++;
    if (x->phase != 0 || pid != 42 || start != 0x400000 || len != 0x1000 || pgoff != 0x2000 ||
        id_len != 20 || id[0] != 0xab || id[19] != 0xcd || path_len != 13 ||
        memcmp(path, "/usr/bin/prog", 13) != 0)
        x->order_ok = 0;
}

static void v_exit(uint32_t pid, uint32_t tid, void *arg)
{
    struct seen *x = arg;
    x->exits++;
    x->phase = 2;
    if (pid != 42 || tid != 42)
        x->order_ok = 0;
}

TEST(drain_format_round_trip)
{
    stack_table t;
    ss_bytes pre = { 0 }, post = { 0 };
    CHECK(st_init(&t, 1 << 20) == 0);
    uint64_t ips[] = { 0xa, 0xb, 0xc };
    st_add(&t, 42, 4, ips, 3, 1, SS_STACK_TRUNCATED, SS_CUT_DEPTH, 10, 0);
    st_add(&t, 42, 4, ips, 3, 1, SS_STACK_TRUNCATED, SS_CUT_DEPTH, 10, 0);
    st_add(&t, 42, 4, ips, 2, 1, 0, 0, 10, 0);
    uint8_t id[20] = { 0xab };
    id[19] = 0xcd;
    CHECK(sb_append_comm(&pre, 42, 43, "a-very-long-thread-name", 1) == 0);
    CHECK(sb_append_mmap(&pre, 42, 0x400000, 0x1000, 0x2000, id, 20, "/usr/bin/prog", 13) == 0);
    CHECK(sb_append_exit(&post, 42, 42) == 0);
    size_t size = drain_size(&pre, &t, &post);
    CHECK(size == 32 + 88 + (48 + 24) + (48 + 16) + 16);   /* MMAP: 68 + 13 -> 88 */
    uint8_t *buf = calloc(1, size);
    CHECK(drain_write(buf, &pre, &t, &post) == size);
    struct seen x = { 0, 0, 0, 0, 1, 0, 0 };
    t_visitor v = { v_stack, v_comm, v_mmap, v_exit, &x };
    CHECK(t_walk(buf, size, &v) == 5);
    CHECK(x.order_ok && x.stacks == 2 && x.comms == 1 && x.mmaps == 1 && x.exits == 1);
    CHECK(x.count == 3);
    /* an unknown record type is skipped by size */
    uint8_t odd[24] = { 0 };
    odd[0] = 99;
    odd[4] = 24;
    CHECK(t_walk(odd, sizeof(odd), NULL) == 1);
    free(buf);
    sb_free(&pre);
    sb_free(&post);
    st_free(&t);
}

static volatile uint64_t sink;

TEST(drain_enospc_loses_nothing_and_resets)
{
    ss_options o;
    ss_options_init(&o);
    char err[512];
    int32_t code;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECKF(s != NULL, "%s", err);
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 100000; i++)
            sink = sink * 7 + (uint64_t)i;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 200000000L);
    ss_stop(s);
    int64_t needed = 0;
    uint8_t small[16];
    CHECK(ss_drain(s, small, sizeof(small), &needed) == -ENOSPC);
    CHECK(needed > (int64_t)sizeof(small));
    int64_t again = 0;
    CHECK(ss_drain(s, NULL, 0, &again) == -ENOSPC && again == needed);   /* nothing lost */
    uint8_t *buf = malloc((size_t)needed);
    CHECK(ss_drain(s, buf, needed, NULL) == needed);
    struct seen x = { 0, 0, 0, 0, 1, 0, 0 };
    t_visitor v = { v_stack, NULL, NULL, NULL, &x };
    CHECK(t_walk(buf, (size_t)needed, &v) > 0);
    ss_stats st;
    ss_get_stats(s, &st);
    CHECKF(x.count == st.samples && st.samples >= 100, "drained %llu, stats %llu",
           (unsigned long long)x.count, (unsigned long long)st.samples);
    CHECK(ss_drain(s, buf, needed, &again) == 0 && again == 0);   /* reset: empty now */
    free(buf);
    ss_close(s);
}

struct drainer {
    ss_session *s;
    volatile int stop;
    uint64_t count;
    int drains, bad;
};

static void add_count(const t_stack *st, void *arg)
{
    ((struct drainer *)arg)->count += st->count;
}

static void *drain_loop(void *arg)
{
    struct drainer *d = arg;
    size_t cap = 1 << 20;
    uint8_t *buf = malloc(cap);
    t_visitor v = { add_count, NULL, NULL, NULL, d };
    while (!d->stop) {
        int64_t n = ss_drain(d->s, buf, (int64_t)cap, NULL);
        if (n < 0 || t_walk(buf, (size_t)n, &v) < 0)
            d->bad++;
        d->drains++;
        usleep(1000);
    }
    free(buf);
    return NULL;
}

TEST(drain_concurrent_with_sampling_counts_every_sample_once)
{
    ss_options o;
    ss_options_init(&o);
    char err[512];
    int32_t code;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    CHECKF(s != NULL, "%s", err);
    struct drainer d = { s, 0, 0, 0, 0 };
    pthread_t t;
    CHECK(pthread_create(&t, NULL, drain_loop, &d) == 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 100000; i++)
            sink = sink * 7 + (uint64_t)i;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    } while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 400000000L);
    d.stop = 1;
    pthread_join(t, NULL);
    ss_stop(s);
    uint8_t *buf = malloc(1 << 20);
    int64_t n = ss_drain(s, buf, 1 << 20, NULL);
    t_visitor v = { add_count, NULL, NULL, NULL, &d };
    CHECK(n >= 0 && t_walk(buf, (size_t)n, &v) >= 0);
    free(buf);
    ss_stats st;
    ss_get_stats(s, &st);
    ss_close(s);
    CHECK(d.bad == 0);
    CHECKF(d.drains >= 20, "only %d drains", d.drains);
    CHECKF(d.count == st.samples && st.samples >= 200, "drained %llu, sampled %llu",
           (unsigned long long)d.count, (unsigned long long)st.samples);
}
