/*
 * bpf_sampler_linux.c - the in-kernel byte sampler of alloc profiles: a small BPF program, one
 * per allocation function, that decides for each uprobe hit whether perf writes a sample.
 *
 * Sampling (as tcmalloc and Go do): the allocated bytes of the target form one stream per CPU,
 * and sampling points fall on it as a Poisson process with mean interval N bytes. Each CPU keeps
 * a countdown of the bytes until its next point (a per-CPU array). An allocation of s bytes that
 * does not reach the point subtracts s and is dropped (the program returns 0: no sample, no stack
 * copy, no ring traffic); one that reaches it is sampled (returns 1) and the countdown is drawn
 * afresh. By memorylessness the distance from the end of a sampled allocation to the next point
 * is again exponential, so one draw is right however many points the allocation covered. An
 * allocation of s bytes is thus sampled with probability 1 - exp(-s/N), which the reader turns
 * into unbiased weights (alloc_probe_linux.c).
 *
 * The draws come from a table of TABLE_SIZE exponential quantiles, -ln((i + 0.5) / TABLE_SIZE),
 * scaled to N and to a mean of exactly N, indexed by bpf_get_prandom_u32: a BPF program has no
 * floating point. The table's largest value is ~7.6 N: the tail beyond it (probability 5e-4) is
 * folded into the table's range.
 *
 * Per-thread perf events of one process all see every hit of the process (uprobes are per mm),
 * so each program link carries its thread id as the BPF cookie and the program only acts for
 * the thread whose event it is linked to; otherwise a process of T threads would count every
 * allocation T times.
 *
 * The instructions are written here as bytes (no compiler, no libbpf).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc_probe.h"
#include "internal.h"

#define TABLE_SIZE 1024     /* power of two: the random index is masked */

#if defined(__x86_64__)
#define CTX_ARG0 112        /* offsetof(struct pt_regs, di) */
#define CTX_ARG1 104        /* offsetof(struct pt_regs, si) */
#elif defined(__aarch64__)
#define CTX_ARG0 0          /* regs[0] */
#define CTX_ARG1 8          /* regs[1] */
#endif

static long sys_bpf(int cmd, union bpf_attr *attr)
{
    return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* ---- instruction encoding --------------------------------------------------------------- */

typedef struct prog {
    struct bpf_insn v[64];
    int n;
} prog;

static int emit(prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    p->v[p->n] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off,
                                    .imm = imm };
    return p->n++;
}

static void emit_map_fd(prog *p, uint8_t dst, int fd)
{
    emit(p, BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
    emit(p, 0, 0, 0, 0, 0);
}

/* Points the jump at index `at` to the next instruction emitted. */
static void land(prog *p, int at)
{
    p->v[at].off = (int16_t)(p->n - at - 1);
}

#define MOV64_REG(d, s) emit(p, BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV32_REG(d, s) emit(p, BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV64_IMM(d, k) emit(p, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define LDX_DW(d, s, o) emit(p, BPF_LDX | BPF_MEM | BPF_DW, d, s, o, 0)
#define STX_DW(d, s, o) emit(p, BPF_STX | BPF_MEM | BPF_DW, d, s, o, 0)
#define STX_W(d, s, o) emit(p, BPF_STX | BPF_MEM | BPF_W, d, s, o, 0)
#define ST_W(d, o, k) emit(p, BPF_ST | BPF_MEM | BPF_W, d, 0, o, k)
#define CALL(f) emit(p, BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT() emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* The program of one allocation function: its size argument, then the countdown. */
static void build(prog *p, int kind, int countdown_fd, int table_fd)
{
    p->n = 0;
    MOV64_REG(BPF_REG_6, BPF_REG_1);                        /* r6 = ctx (pt_regs) */
    CALL(BPF_FUNC_get_current_pid_tgid);
    MOV32_REG(BPF_REG_7, BPF_REG_0);                        /* w7 = current tid */
    MOV64_REG(BPF_REG_1, BPF_REG_6);
    CALL(BPF_FUNC_get_attach_cookie);                       /* the tid of the linked event */
    int other_thread = emit(p, BPF_JMP | BPF_JNE | BPF_X, BPF_REG_0, BPF_REG_7, 0, 0);
    switch (kind) {
    case AP_CALLOC:                                         /* calloc(n, size) */
        LDX_DW(BPF_REG_7, BPF_REG_6, CTX_ARG0);
        LDX_DW(BPF_REG_8, BPF_REG_6, CTX_ARG1);
        emit(p, BPF_ALU64 | BPF_MUL | BPF_X, BPF_REG_7, BPF_REG_8, 0, 0);
        break;
    case AP_REALLOC:                                        /* realloc(ptr, size) */
        LDX_DW(BPF_REG_7, BPF_REG_6, CTX_ARG1);
        break;
    default:                                                /* malloc(size) */
        LDX_DW(BPF_REG_7, BPF_REG_6, CTX_ARG0);
        break;
    }
    ST_W(BPF_REG_10, -4, 0);                                /* key 0 */
    emit_map_fd(p, BPF_REG_1, countdown_fd);
    MOV64_REG(BPF_REG_2, BPF_REG_10);
    emit(p, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -4);
    CALL(BPF_FUNC_map_lookup_elem);
    int no_value = emit(p, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, 0);
    LDX_DW(BPF_REG_8, BPF_REG_0, 0);                        /* r8 = bytes to the next point */
    int reached = emit(p, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_7, BPF_REG_8, 0, 0);
    emit(p, BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_8, BPF_REG_7, 0, 0);
    STX_DW(BPF_REG_0, BPF_REG_8, 0);
    land(p, other_thread);
    land(p, no_value);
    MOV64_IMM(BPF_REG_0, 0);                                /* no sample */
    EXIT();
    land(p, reached);
    MOV64_REG(BPF_REG_9, BPF_REG_0);                        /* the countdown slot */
    CALL(BPF_FUNC_get_prandom_u32);
    emit(p, BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_0, 0, 0, TABLE_SIZE - 1);
    STX_W(BPF_REG_10, BPF_REG_0, -8);
    emit_map_fd(p, BPF_REG_1, table_fd);
    MOV64_REG(BPF_REG_2, BPF_REG_10);
    emit(p, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8);
    CALL(BPF_FUNC_map_lookup_elem);
    int no_draw = emit(p, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 0, 0);
    LDX_DW(BPF_REG_1, BPF_REG_0, 0);
    STX_DW(BPF_REG_9, BPF_REG_1, 0);                        /* countdown = fresh draw */
    land(p, no_draw);
    MOV64_IMM(BPF_REG_0, 1);                                /* sample */
    EXIT();
}

/* ---- maps, programs, links ------------------------------------------------------------- */

static int bpf_error(int e, const char *what, char *err, size_t len)
{
    if (e == EPERM || e == EACCES)
        return ss_fail(err, len, -e, "alloc sampling loads a BPF program (%s refused: %s): grant "
                       "CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); "
                       "kernel.unprivileged_bpf_disabled is %ld here", what, strerror(e),
                       ss_read_sysctl("/proc/sys/kernel/unprivileged_bpf_disabled", -1));
    if (e == ENOSYS)
        return ss_fail(err, len, -ENOSYS, "alloc sampling needs BPF: the kernel has no bpf() "
                       "(CONFIG_BPF_SYSCALL) or a seccomp profile blocks it");
    return ss_fail(err, len, -e, "alloc sampling: %s failed: %s", what, strerror(e));
}

static int map_create(uint32_t type, uint32_t entries)
{
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = type;
    a.key_size = 4;
    a.value_size = 8;
    a.max_entries = entries;
    return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int map_update(int fd, uint32_t key, const void *value)
{
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_fd = (uint32_t)fd;
    a.key = (uint64_t)(uintptr_t)&key;
    a.value = (uint64_t)(uintptr_t)value;
    a.flags = BPF_ANY;
    return (int)sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

/* Possible CPUs (the per-CPU value array of a map has one slot each): the highest + 1. */
static int possible_cpus(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
    int hi = -1, a, b;
    char sep;
    if (f) {
        while (fscanf(f, "%d", &a) == 1) {
            b = a;
            if (fscanf(f, "%c", &sep) == 1 && sep == '-' && fscanf(f, "%d", &b) == 1)
                (void)fscanf(f, "%c", &sep);
            if (b > hi)
                hi = b;
        }
        fclose(f);
    }
    return hi >= 0 ? hi + 1 : (int)sysconf(_SC_NPROCESSORS_CONF);
}

/* The i-th of n exponential quantiles with mean 1 (before the table is rescaled). */
static double quantile(int i, int n)
{
    return -log((i + 0.5) / n);
}

/* Draws start at an independent point of each CPU's stream (not at 0: the first allocation
 * on each CPU would then always be sampled). */
static int fill(bs_sampler *b, uint64_t mean, char *err, size_t len)
{
    double sum = 0;
    for (int i = 0; i < TABLE_SIZE; i++)
        sum += quantile(i, TABLE_SIZE);
    double scale = (double)mean * TABLE_SIZE / sum;     /* table mean exactly `mean` */
    for (uint32_t i = 0; i < TABLE_SIZE; i++) {
        uint64_t v = (uint64_t)llround(quantile((int)i, TABLE_SIZE) * scale);
        if (map_update(b->table_fd, i, &v) < 0)
            return bpf_error(errno, "filling the draw table", err, len);
    }
    int cpus = possible_cpus();
    uint64_t *start = calloc((size_t)cpus, sizeof(uint64_t));
    if (!start)
        return ss_fail(err, len, -ENOMEM, "out of memory");
    uint64_t x = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)time(NULL);
    for (int c = 0; c < cpus; c++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;   /* an LCG is plenty here */
        start[c] = (uint64_t)llround(quantile((int)((x >> 33) % TABLE_SIZE), TABLE_SIZE) * scale);
    }
    int rc = map_update(b->countdown_fd, 0, start) < 0
                 ? bpf_error(errno, "setting the countdowns", err, len) : 0;
    free(start);
    return rc;
}

int bs_open(bs_sampler *b, uint64_t mean_bytes, char *err, size_t len)
{
    b->countdown_fd = b->table_fd = -1;
    for (int k = 0; k < AP_FUNCS; k++)
        b->prog_fd[k] = -1;
    b->countdown_fd = map_create(BPF_MAP_TYPE_PERCPU_ARRAY, 1);
    if (b->countdown_fd < 0)
        return bpf_error(errno, "creating a map", err, len);
    b->table_fd = map_create(BPF_MAP_TYPE_ARRAY, TABLE_SIZE);
    if (b->table_fd < 0)
        return bpf_error(errno, "creating a map", err, len);
    int rc = fill(b, mean_bytes, err, len);
    if (rc < 0)
        return rc;
    static char log[4096];
    for (int k = 0; k < AP_FUNCS; k++) {
        prog p;
        build(&p, k, b->countdown_fd, b->table_fd);
        union bpf_attr a;
        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_KPROBE;
        a.insns = (uint64_t)(uintptr_t)p.v;
        a.insn_cnt = (uint32_t)p.n;
        a.license = (uint64_t)(uintptr_t)"GPL";
        log[0] = '\0';
        a.log_buf = (uint64_t)(uintptr_t)log;
        a.log_size = sizeof(log);
        a.log_level = 1;
        b->prog_fd[k] = (int)sys_bpf(BPF_PROG_LOAD, &a);
        if (b->prog_fd[k] < 0) {
            int e = errno;
            if (e == EPERM || e == EACCES) {
                if (log[0])     /* the verifier refused it: a bug here, not a permission */
                    return ss_fail(err, len, -EINVAL, "alloc sampling: the kernel's verifier "
                                   "refused the sampler program: %.300s", log);
                return bpf_error(e, "loading the sampler program", err, len);
            }
            return bpf_error(e, "loading the sampler program", err, len);
        }
    }
    return 0;
}

int bs_link(const bs_sampler *b, int kind, int perf_fd, uint32_t tid, char *err, size_t len)
{
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.link_create.prog_fd = (uint32_t)b->prog_fd[kind];
    a.link_create.target_fd = (uint32_t)perf_fd;
    a.link_create.attach_type = BPF_PERF_EVENT;
    a.link_create.perf_event.bpf_cookie = tid;
    int fd = (int)sys_bpf(BPF_LINK_CREATE, &a);
    if (fd < 0)
        return bpf_error(errno, "linking the sampler to a uprobe (BPF_LINK_CREATE with a "
                         "cookie, Linux >= 5.15)", err, len);
    return fd;
}

void bs_close(bs_sampler *b)
{
    for (int k = 0; k < AP_FUNCS; k++) {
        if (b->prog_fd[k] >= 0)
            close(b->prog_fd[k]);
        b->prog_fd[k] = -1;
    }
    if (b->countdown_fd >= 0)
        close(b->countdown_fd);
    if (b->table_fd >= 0)
        close(b->table_fd);
    b->countdown_fd = b->table_fd = -1;
}
