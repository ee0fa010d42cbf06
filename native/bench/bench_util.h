/* bench_util.h - what the cost benchmarks share: medians, a thread's CPU time, a session opened
 * on a spawned (held) workload. Header-only: each benchmark is one program. */
#ifndef SS_BENCH_UTIL_H
#define SS_BENCH_UTIL_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stackstream.h"

#define BENCH_MAX_RUNS 15

static int bench_by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n), n <= BENCH_MAX_RUNS (v is left as it is). */
static inline double bench_median(const double *v, int n)
{
    double c[BENCH_MAX_RUNS];
    memcpy(c, v, (size_t)n * sizeof(double));
    qsort(c, (size_t)n, sizeof(double), bench_by_value);
    return c[n / 2];
}

/* CPU seconds thread t has used, or -1. */
static inline double bench_thread_cpu(pthread_t t)
{
    clockid_t c;
    struct timespec ts;
    if (pthread_getcpuclockid(t, &c) || clock_gettime(c, &ts))
        return -1;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A session on the held process pid with event, stacks not per thread, and the rest of o as
 * given (o may be NULL: defaults); NULL with the reason on stderr. */
static inline ss_session *bench_open(int32_t pid, int event, const ss_options *o)
{
    ss_options opts;
    if (o)
        opts = *o;
    else
        ss_options_init(&opts);
    opts.pid = pid;
    opts.event = event;
    opts.per_thread = 0;
    char err[512];
    int32_t code;
    ss_session *s = ss_open(&opts, &code, err, sizeof(err));
    if (!s)
        fprintf(stderr, "ss_open: %s\n", err);
    return s;
}

#endif
