/* pingpong ROUNDS [REPORT] - a context-switch-heavy fixed workload: two threads hand one byte
 * back and forth over two pipes ROUNDS times (each round blocks each thread once: two switch-outs
 * per round). Writes "cpu S\nwall S\n" (its own CPU time from getrusage, and wall time) to REPORT,
 * or stdout. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static int ab[2], ba[2];
static long rounds;

static void *echo(void *arg)
{
    (void)arg;
    char c;
    for (long i = 0; i < rounds; i++)
        if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
            exit(1);
    return NULL;
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? atol(argv[1]) : 100000;
    if (pipe(ab) || pipe(ba))
        return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t t;
    pthread_create(&t, NULL, echo, NULL);
    char c = 'x';
    for (long i = 0; i < rounds; i++)
        if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
            return 1;
    pthread_join(t, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    FILE *f = argc > 2 ? fopen(argv[2], "w") : stdout;
    if (!f)
        return 1;
    fprintf(f, "cpu %.6f\nwall %.6f\n", cpu, wall);
    return f == stdout ? 0 : fclose(f) != 0;
}
