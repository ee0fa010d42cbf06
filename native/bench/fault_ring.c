/*
 * fault_ring - how many page-fault samples a ring size loses: runs a command RUNS times per ring
 * size (interleaved) under an SS_EVENT_PAGE_FAULTS session sampling every fault (period 1) with a
 * STACK-byte user-stack copy, drained every 100 ms as the collector's reader would be asked, and
 * prints per size the median share of faults lost (ss_stats.lost over counted + lost) and the
 * ring memory per thread.
 * Usage: fault_ring STACK RUNS PAGES[,PAGES...] -- COMMAND [ARGS...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stackstream.h"

enum { MAX_SIZES = 8, MAX_RUNS = 15 };

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One run: the lost share, or a negative value when the run failed. */
static double one_run(char *const *argv, int pages, int stack, unsigned long long *faults)
{
    char err[512];
    int32_t pid = ss_spawn((const char *const *)argv, err, sizeof(err));
    if (pid <= 0) {
        fprintf(stderr, "spawn: %s\n", err);
        return -1;
    }
    ss_options o;
    ss_options_init(&o);
    o.pid = pid;
    o.event = SS_EVENT_PAGE_FAULTS;
    o.period = 1;
    o.per_thread = 0;
    o.ring_pages = pages;
    o.stack_bytes = stack;
    int32_t code = 0;
    ss_session *s = ss_open(&o, &code, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "open (%d pages): %s\n", pages, err);
        ss_resume(pid);
        ss_wait(pid, -1);
        return -1;
    }
    size_t cap = 64 << 20;
    uint8_t *buf = malloc(cap);
    ss_resume(pid);
    while (ss_wait(pid, 100) == -EAGAIN)
        ss_drain(s, buf, cap, NULL);
    ss_stop(s);
    ss_drain(s, buf, cap, NULL);
    ss_stats st;
    ss_get_stats(s, &st);
    ss_close(s);
    free(buf);
    *faults = (unsigned long long)(st.samples + st.lost);
    return st.samples + st.lost ? (double)st.lost / (double)(st.samples + st.lost) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: fault_ring STACK RUNS PAGES[,PAGES...] -- COMMAND [ARGS...]\n");
        return 2;
    }
    int stack = atoi(argv[1]), runs = atoi(argv[2]), n = 0;
    int pages[MAX_SIZES];
    for (char *p = strtok(argv[3], ","); p && n < MAX_SIZES; p = strtok(NULL, ","))
        pages[n++] = atoi(p);
    if (runs < 1 || runs > MAX_RUNS)
        runs = 5;
    double lost[MAX_SIZES][MAX_RUNS];
    unsigned long long faults[MAX_SIZES] = { 0 };
    for (int r = 0; r < runs; r++)
        for (int i = 0; i < n; i++)
            if ((lost[i][r] = one_run(argv + 5, pages[i], stack, &faults[i])) < 0)
                return 1;
    long page = sysconf(_SC_PAGESIZE);
    printf("stack copy %d B, %d runs per size, command:", stack, runs);
    for (int i = 5; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\n| ring pages | ring per thread | faults (last run) | lost, median | lost, min-max |\n");
    printf("|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        qsort(lost[i], (size_t)runs, sizeof(double), cmp_d);
        printf("| %d | %ld KiB | %llu | %.1f %% | %.1f-%.1f %% |\n", pages[i], pages[i] * page / 1024, faults[i],
               100 * lost[i][runs / 2], 100 * lost[i][0], 100 * lost[i][runs - 1]);
    }
    return 0;
}
