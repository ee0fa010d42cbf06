/* main.c - runs every registered test (or those whose name contains argv[1], else $SS_TESTS: a
 * focused Maven run of the Java tests can set SS_TESTS to skip the long C suite). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define MAX_TESTS 128

static struct { const char *name; test_fn fn; } tests[MAX_TESTS];
static int ntests;
int harness_failed;

void harness_register(const char *name, test_fn fn)
{
    if (ntests < MAX_TESTS)
        tests[ntests++] = (typeof(tests[0])){ name, fn };
}

void harness_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "    FAILED %s:%d: %s\n", file, line, what);
    harness_failed = 1;
}

void harness_failf(const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    harness_fail(file, line, msg);
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const typeof(tests[0]) *)x)->name, ((const typeof(tests[0]) *)y)->name);
}

int main(int argc, char **argv)
{
    int failures = 0, ran = 0;
    const char *only = argc > 1 ? argv[1] : getenv("SS_TESTS");
    qsort(tests, (size_t)ntests, sizeof(tests[0]), by_name);
    for (int i = 0; i < ntests; i++) {
        if (only && !strstr(tests[i].name, only))
            continue;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        harness_failed = 0;
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        printf("%s %-40s %8.1f ms\n", harness_failed ? "FAIL" : "ok  ", tests[i].name, ms);
        fflush(stdout);
        failures += harness_failed;
        ran++;
    }
    printf("%d tests, %d failed\n", ran, failures);
    return failures ? 1 : 0;
}
