/*
 * alloc_probe_linux.c - alloc profiles (SS_EVENT_ALLOC): uprobes on the target's libc malloc,
 * calloc and realloc, filtered in the kernel by the byte sampler (bpf_sampler_linux.c).
 *
 * Which libc: the one the root process maps (/proc/PID/maps, opened through /proc/PID/root so a
 * process in another mount namespace gets its own file). Uprobes are per file and offset, so
 * every thread and every forked child mapping that file is covered; a child that execs a
 * program with another libc (or a static one) is not. The offsets come from the file's dynamic
 * symbol table (elf_dynsym.c).
 *
 * Events per thread: one uprobe event per function (PMU `uprobe`, config1 = path, config2 =
 * offset), the malloc one owning the ring and the task/comm/mmap records, the other two writing
 * into its ring (PERF_EVENT_IOC_SET_OUTPUT). Samples carry PERF_SAMPLE_ID (which function) and,
 * beside the unwinding registers, the two argument registers (the size).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc.h"
#include "session.h"

static const char *const FUNC_NAME[AP_FUNCS] = { "malloc", "calloc", "realloc" };

/* The C library among the executable mappings: glibc's libc.so.6 (libc-2.x.so before 2.34),
 * musl's ld-musl-ARCH.so.1 (its libc is the dynamic loader) or libc.musl-ARCH.so.1. */
static int is_libc(const char *path, size_t len)
{
    const char *base = path;
    for (size_t i = 0; i < len; i++)
        if (path[i] == '/')
            base = path + i + 1;
    size_t blen = len - (size_t)(base - path);
    return (blen >= 7 && memcmp(base, "libc.so", 7) == 0) ||
           (blen >= 5 && memcmp(base, "libc-", 5) == 0) ||
           (blen >= 8 && memcmp(base, "ld-musl-", 8) == 0) ||
           (blen >= 9 && memcmp(base, "libc.musl", 9) == 0);
}

struct find_ctx {
    char path[4096];
    int found, deleted;
};

static int on_map(const proc_map *m, void *arg)
{
    struct find_ctx *c = arg;
    if (c->found || m->path_len == 0 || m->path[0] != '/' || m->path_len >= sizeof(c->path))
        return 0;
    size_t n = m->path_len;
    int deleted = n > 10 && memcmp(m->path + n - 10, " (deleted)", 10) == 0;
    if (!is_libc(m->path, deleted ? n - 10 : n))
        return 0;
    memcpy(c->path, m->path, n);
    c->path[n] = '\0';
    c->found = 1;
    c->deleted = deleted;
    return 0;
}

static int read_pmu_type(uint32_t *type, char *err, size_t len)
{
    const char *f = "/sys/bus/event_source/devices/uprobe/type";
    long t = ss_read_sysctl(f, -1);
    if (t < 0)
        return ss_fail(err, len, -ENOENT, "alloc profiles need uprobes: %s is not readable (a "
                       "kernel without CONFIG_UPROBE_EVENTS, or /sys not mounted)", f);
    *type = (uint32_t)t;
    return 0;
}

/* The offsets of malloc, calloc and realloc in the file at path. */
static int resolve(alloc_probe *a, int pid, const char *shown, char *err, size_t len)
{
    int fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ss_fail(err, len, -errno, "alloc: cannot open %s, the C library of process %d: %s",
                       shown, pid, strerror(errno));
    struct stat st;
    void *img = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (img == MAP_FAILED)
        return ss_fail(err, len, -EIO, "alloc: cannot read %s, the C library of process %d", shown,
                       pid);
    int rc = 0;
    for (int k = 0; k < AP_FUNCS && rc == 0; k++) {
        int r = elf_dynsym_offset(img, (size_t)st.st_size, FUNC_NAME[k], &a->offset[k]);
        if (r == -ENOENT)
            rc = ss_fail(err, len, -ENOENT, "alloc: %s (the C library of process %d) has no "
                         "dynamic symbol %s: it cannot be probed", shown, pid, FUNC_NAME[k]);
        else if (r < 0)
            rc = ss_fail(err, len, -EINVAL, "alloc: %s (the C library of process %d) is not a "
                         "readable 64-bit ELF file", shown, pid);
    }
    munmap(img, (size_t)st.st_size);
    return rc;
}

static void *closer_main(void *arg)
{
    ap_closer *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->n == 0 && !c->stop)
            pthread_cond_wait(&c->work, &c->mu);
        if (c->n == 0)
            break;
        int fd = c->fds[--c->n];
        c->busy = 1;
        pthread_mutex_unlock(&c->mu);
        close(fd);
        pthread_mutex_lock(&c->mu);
        c->busy = 0;
        if (c->n == 0)
            pthread_cond_broadcast(&c->idle);
    }
    pthread_cond_broadcast(&c->idle);
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void defer_close(alloc_probe *a, int fd)
{
    ap_closer *c = &a->closer;
    if (fd < 0)
        return;
    pthread_mutex_lock(&c->mu);
    if (c->started && c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        int *v = realloc(c->fds, cap * sizeof(int));
        if (v) {
            c->fds = v;
            c->cap = cap;
        }
    }
    int queued = c->started && c->n < c->cap;
    if (queued) {
        c->fds[c->n++] = fd;
        pthread_cond_signal(&c->work);
    }
    pthread_mutex_unlock(&c->mu);
    if (!queued)
        close(fd);                   /* no closer (or no memory): close here, slowly */
}

void ap_flush_closes(ss_session *s)
{
    if (!s->alloc || !s->alloc->closer.started)
        return;
    ap_closer *c = &s->alloc->closer;
    pthread_mutex_lock(&c->mu);
    while (c->n > 0 || c->busy)
        pthread_cond_wait(&c->idle, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

static int start_closer(alloc_probe *a, char *err, size_t len)
{
    ap_closer *c = &a->closer;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->idle, NULL);
    sigset_t all, old;
    sigfillset(&all);                /* as the reader: no signals (a JVM's are its own) */
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, closer_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return ss_fail(err, len, -rc, "cannot start the uprobe closer thread: %s", strerror(rc));
    c->started = 1;
    return 0;
}

void ap_on_mapping(ss_process *p, const char *path, size_t len)
{
    if (is_libc(path, len))
        p->libc_seen = 1;
}

/* libc is mapped by the dynamic loader after the exec, so this is decided when the image ends. */
void ap_on_image(ss_session *s, ss_process *p, int exec)
{
    if (p->execd && !p->libc_seen)
        STAT_ADD(s, alloc_unprobed, 1);
    p->execd = (uint8_t)exec;
    p->libc_seen = 0;
}

int ap_open(ss_session *s, char *err, size_t len)
{
    alloc_probe *a = calloc(1, sizeof(*a));
    if (!a)
        return ss_fail(err, len, -ENOMEM, "out of memory");
    a->bpf.countdown_fd = a->bpf.table_fd = -1;
    for (int k = 0; k < AP_FUNCS; k++)
        a->bpf.prog_fd[k] = -1;
    s->alloc = a;
    int rc = start_closer(a, err, len);
    if (rc < 0)
        return rc;
    a->mean = (uint64_t)s->o.period;
    a->rng = ss_now_ns() ^ ((uint64_t)s->root_pid << 32);
    rc = read_pmu_type(&a->pmu_type, err, len);
    if (rc < 0)
        return rc;
    struct find_ctx c = { .found = 0 };
    rc = proc_exec_maps(s->root_pid, on_map, &c);
    if (rc == -ENOENT || rc == -ESRCH)
        return ss_fail(err, len, -ESRCH, "no such process: %d", s->root_pid);
    if (rc < 0)
        return ss_fail(err, len, rc, "alloc: cannot read /proc/%d/maps: %s", s->root_pid,
                       strerror(-rc));
    if (!c.found)
        return ss_fail(err, len, -ENOENT, "alloc: process %d maps no shared C library (a static "
                       "binary, or a libc under another name): its malloc cannot be probed",
                       s->root_pid);
    if (c.deleted)
        return ss_fail(err, len, -ENOENT, "alloc: the C library of process %d was deleted or "
                       "replaced since it started (%s): it cannot be probed; restart the process",
                       s->root_pid, c.path);
    snprintf(a->path, sizeof(a->path), "/proc/%d/root%s", s->root_pid, c.path);
    if ((rc = resolve(a, s->root_pid, c.path, err, len)) < 0)
        return rc;
    return bs_open(&a->bpf, a->mean, err, len);
}

void ap_close(ss_session *s)
{
    if (!s->alloc)
        return;
    ap_closer *c = &s->alloc->closer;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_signal(&c->work);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);   /* after closing everything queued */
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->work);
        pthread_cond_destroy(&c->idle);
        free(c->fds);
    }
    bs_close(&s->alloc->bpf);
    free(s->alloc);
    s->alloc = NULL;
}

void ap_init_attr(const ss_session *s, struct perf_event_attr *a, int kind)
{
    a->type = s->alloc->pmu_type;
    a->config = 0;                                   /* entry probe (bit 0 would be a retprobe) */
    a->config1 = (uint64_t)(uintptr_t)s->alloc->path;
    a->config2 = s->alloc->offset[kind];
    a->sample_period = 1;                            /* every hit the sampler lets through */
    a->sample_type |= PERF_SAMPLE_ID;
}

int ap_attach(ss_session *s, ss_pev *e, int target, int cpu, unsigned long flags, int *open_errno,
              char *err, size_t len)
{
    e->ap_fd[0] = e->fd;
    for (int k = 1; k < AP_FUNCS; k++) {
        struct perf_event_attr a = s->attr;
        ap_init_attr(s, &a, k);
        a.task = a.comm = a.comm_exec = a.mmap = a.mmap2 = a.build_id = 0;
        a.watermark = 0;
        a.wakeup_watermark = 0;
        long fd = syscall(SYS_perf_event_open, &a, target, cpu, -1, flags);
        if (fd < 0) {
            *open_errno = errno;                     /* pe_open explains it */
            return -errno;
        }
        e->ap_fd[k] = (int)fd;
        if (ioctl(e->ap_fd[k], PERF_EVENT_IOC_SET_OUTPUT, e->fd) < 0)
            return ss_fail(err, len, -errno, "alloc: cannot route the %s uprobe of thread %d "
                           "into its malloc ring (PERF_EVENT_IOC_SET_OUTPUT): %s", FUNC_NAME[k],
                           e->tid, strerror(errno));
    }
    for (int k = 0; k < AP_FUNCS; k++) {
        if (ioctl(e->ap_fd[k], PERF_EVENT_IOC_ID, &e->ap_id[k]) < 0)
            return ss_fail(err, len, -errno, "alloc: PERF_EVENT_IOC_ID: %s", strerror(errno));
        int l = bs_link(&s->alloc->bpf, k, e->ap_fd[k], (uint32_t)e->tid, err, len);
        if (l < 0)
            return l;
        e->ap_link[k] = l;
        if (k > 0 && ioctl(e->ap_fd[k], PERF_EVENT_IOC_ENABLE, 0) < 0)
            return ss_fail(err, len, -errno, "alloc: cannot enable the %s uprobe: %s",
                           FUNC_NAME[k], strerror(errno));
    }
    return 0;
}

void ap_detach(ss_session *s, ss_pev *e)
{
    for (int k = 0; k < AP_FUNCS; k++) {
        defer_close(s->alloc, e->ap_link[k]);
        e->ap_link[k] = -1;
        if (k > 0)
            defer_close(s->alloc, e->ap_fd[k]);
        e->ap_fd[k] = -1;
    }
    /* Disabled first: no more samples into the ring unmapped next. */
    ioctl(e->fd, PERF_EVENT_IOC_DISABLE, 0);
    defer_close(s->alloc, e->fd);
    e->fd = -1;
}

int ap_size(const ss_pev *e, uint64_t id, uint64_t arg0, uint64_t arg1, uint64_t *size)
{
    if (id == e->ap_id[AP_MALLOC])
        *size = arg0;
    else if (id == e->ap_id[AP_CALLOC])
        *size = arg0 * arg1;
    else if (id == e->ap_id[AP_REALLOC])
        *size = arg1;
    else
        return -1;
    return 0;
}
