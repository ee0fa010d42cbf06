/*
 * alloc_probe.h - state of an alloc profile (SS_EVENT_ALLOC): the probed libc functions and the
 * in-kernel byte sampler (private; alloc_probe_linux.c, bpf_sampler_linux.c).
 */
#ifndef SS_ALLOC_PROBE_H
#define SS_ALLOC_PROBE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* The probed functions; the order is the order of a thread's events (the first owns the ring). */
enum { AP_MALLOC = 0, AP_CALLOC = 1, AP_REALLOC = 2, AP_FUNCS = 3 };

/* bpf_sampler_linux.c: maps and one program per function. */
typedef struct bs_sampler {
    int countdown_fd;          /* per-CPU array[1]: bytes to the next sampling point */
    int table_fd;              /* array of exponential draws, mean = the sampling interval */
    int prog_fd[AP_FUNCS];
} bs_sampler;

/* Creates the maps (mean interval mean_bytes), loads the programs. 0, or -errno with err filled
 * (naming CAP_BPF / CAP_PERFMON on EPERM). bs_close releases what was made, also after a failure. */
int bs_open(bs_sampler *b, uint64_t mean_bytes, char *err, size_t len);
/* Links function kind's program to the perf event perf_fd of thread tid. The link fd, or -errno. */
int bs_link(const bs_sampler *b, int kind, int perf_fd, uint32_t tid, char *err, size_t len);
void bs_close(bs_sampler *b);

/* Closing a uprobe event (or its BPF link) waits for an RCU-tasks grace period: ~110 ms each
 * here, ~0.33 s for a thread's three. The reader hands the fds of exited threads to this thread
 * instead, so a target that starts and ends short-lived children (a shell script) does not stall
 * the rings of the others. */
typedef struct ap_closer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work, idle;
    int *fds;                  /* waiting to be closed */
    size_t n, cap;
    int busy, stop, started;
} ap_closer;

typedef struct alloc_probe {
    char path[4200];           /* the libc the target maps, through /proc/PID/root */
    uint64_t offset[AP_FUNCS]; /* file offsets of malloc, calloc, realloc in it */
    uint32_t pmu_type;         /* /sys/bus/event_source/devices/uprobe/type */
    uint64_t mean;             /* mean bytes between samples (ss_options.period) */
    uint64_t rng;              /* xorshift state: unbiased rounding of the weights */
    bs_sampler bpf;
    ap_closer closer;
} alloc_probe;

/* Unbiased weights of one sampled allocation of `size` bytes (sampled with probability
 * 1 - exp(-size/mean)): bytes size / p and allocations 1 / p, each rounded up or down at random
 * in proportion to its fraction so that the sums stay unbiased. Portable (alloc_weight.c). */
void ap_weights(uint64_t size, uint64_t mean, uint64_t *rng, uint64_t *bytes, uint64_t *objects);

#endif
