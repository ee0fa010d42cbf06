/*
 * work.c - a fixed amount of work with the call tree of the calltree fixture (main -> a -> b
 * 70 %, main -> c 30 %), for overhead benchmarks. The fixture itself runs for a fixed CPU *time*,
 * which hides a profiler's cost (time spent handling samples is charged to the target, so it just
 * does less work); this twin runs a fixed number of rounds and reports how long they took.
 *
 * usage: work ROUNDS [EVERY]   prints "wall_s=... cpu_s=..." to stderr (its own wall and CPU time);
 *                              with EVERY > 0 also the rounds done so far to stdout every EVERY
 *                              rounds (a steady-state benchmark reads the work rate while it runs)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define UNIT 2000u

static volatile uint64_t sink;

__attribute__((noinline)) uint64_t b(uint64_t n);
__attribute__((noinline)) uint64_t c(uint64_t n);
__attribute__((noinline)) uint64_t a(uint64_t n);

uint64_t b(uint64_t n)
{
    uint64_t x = n;
    for (uint64_t i = 0; i < n; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

uint64_t c(uint64_t n)
{
    uint64_t x = n + 3;
    for (uint64_t i = 0; i < n; i++)
        x = x * 2862933555777941757ull + 3037000493ull;
    return x;
}

uint64_t a(uint64_t n)
{
    uint64_t r = b(n);
    sink = sink + r; /* keeps a on the stack while b runs */
    return r ^ 1;
}

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 10000;
    long every = argc > 2 ? atol(argv[2]) : 0;
    double t0 = now(CLOCK_MONOTONIC);
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < 32; i++) {
            sink = sink + a(7 * UNIT);
            sink = sink + c(3 * UNIT);
        }
        if (every > 0 && (r + 1) % every == 0) {
            printf("%ld\n", r + 1);
            fflush(stdout);
        }
    }
    double wall = now(CLOCK_MONOTONIC) - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
               + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    fprintf(stderr, "wall_s=%.4f cpu_s=%.4f\n", wall, cpu);
    return 0;
}
