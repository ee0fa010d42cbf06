/*
 * targets_linux.c - which tasks are sampled: processes and threads of a PID target (existing,
 * created later, exited), the executable mappings and names we report for them, and the periodic
 * /proc rescan that catches what the FORK records missed. Called on the reader thread only
 * (and on the caller's thread in ss_open before the reader starts).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "proc.h"
#include "session.h"

static void emit_comm(ss_session *s, int pid, int tid, const char *name, int exec)
{
    pthread_mutex_lock(&s->mu);
    sb_append_comm(&s->pre, (uint32_t)pid, (uint32_t)tid, name, exec);
    pthread_mutex_unlock(&s->mu);
}

static void emit_exit(ss_session *s, int pid, int tid)
{
    pthread_mutex_lock(&s->mu);
    sb_append_exit(&s->post, (uint32_t)pid, (uint32_t)tid);
    pthread_mutex_unlock(&s->mu);
}

/* Build-id of a mapped file, cached by device and inode (one read per binary, not per process). */
static int build_id_for(ss_session *s, int pid, const char *path, uint64_t dev, uint64_t ino,
                        uint8_t id[20])
{
    if (path[0] != '/' || ino == 0)
        return 0;
    for (unsigned i = 0; i < 64; i++) {
        if (s->bcache[i].ino == ino && s->bcache[i].dev == dev) {
            memcpy(id, s->bcache[i].id, s->bcache[i].len);
            return s->bcache[i].len;
        }
    }
    char full[4200];
    int len = 0;
    /* Through the target's root so a process in another mount namespace reads its own file. */
    snprintf(full, sizeof(full), "/proc/%d/root%s", pid, path);
    len = elf_build_id(full, id);
    if (len == 0)
        len = elf_build_id(path, id);
    unsigned slot = s->bcache_next++ % 64;
    s->bcache[slot].dev = dev;
    s->bcache[slot].ino = ino;
    s->bcache[slot].len = (uint8_t)len;
    memcpy(s->bcache[slot].id, id, (size_t)len);
    return len;
}

static void emit_mmap(ss_session *s, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
                      const uint8_t *id, int id_len, const char *path, size_t path_len)
{
    pthread_mutex_lock(&s->mu);
    sb_append_mmap(&s->pre, (uint32_t)pid, start, len, pgoff, id, (uint8_t)id_len, path, path_len);
    pthread_mutex_unlock(&s->mu);
}

struct maps_ctx {
    ss_session *s;
    ss_process *p;
};

static int on_proc_map(const proc_map *m, void *arg)
{
    struct maps_ctx *c = arg;
    uint8_t id[20];
    const char *path = m->path_len ? m->path : "//anon";
    size_t path_len = m->path_len ? m->path_len : 6;
    uint64_t dev = makedev(m->dev_major, m->dev_minor);
    int id_len = build_id_for(c->s, c->p->pid, path, dev, m->inode, id);
    ms_add(&c->p->maps, m->start, m->end, m->pgoff,
           ut_module(c->s, c->p->pid, id, id_len, dev, m->inode, path, path_len,
                     m->end - m->start));
    emit_mmap(c->s, c->p->pid, m->start, m->end - m->start, m->pgoff, id, id_len, path, path_len);
    ap_on_mapping(c->p, path, path_len);
    return 0;
}

/* (Re)reads the executable mappings of p from /proc and reports them. */
static void load_maps(ss_session *s, ss_process *p)
{
    struct maps_ctx c = { s, p };
    ms_clear(&p->maps);
    proc_exec_maps(p->pid, on_proc_map, &c);
}

/* Looks pid up, or creates it (maps not read yet) when asked; *created says which happened. */
static ss_process *find_or_create(ss_session *s, int pid, int create, int *created)
{
    *created = 0;
    ss_process *p = im_get(&s->procs, pid);
    if (p || !create || pid <= 0)
        return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->pid = pid;
    if (im_put(&s->procs, pid, p) < 0) {
        free(p);
        return NULL;
    }
    *created = 1;
    return p;
}

ss_process *tg_process(ss_session *s, int pid, int create)
{
    int created;
    ss_process *p = find_or_create(s, pid, create, &created);
    if (!created)
        return p;
    load_maps(s, p);
    if (s->o.target_kind == SS_TARGET_CGROUP) {   /* per-CPU events: name the process once */
        char name[16];
        if (proc_comm(pid, pid, name) == 0)
            emit_comm(s, pid, pid, name, 0);
    }
    return p;
}

int tg_add_event(ss_session *s, ss_pev *e)
{
    if (s->nev == s->evcap) {
        size_t cap = s->evcap ? s->evcap * 2 : 16;
        ss_pev **v = realloc(s->ev, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->ev = v;
        s->evcap = cap;
    }
    if (e->tid > 0 && im_put(&s->ev_by_tid, e->tid, e) < 0)
        return -ENOMEM;
    s->ev[s->nev++] = e;
    STAT_ADD(s, threads_attached, 1);
    __atomic_store_n(&s->st.open_fds, (uint32_t)s->nev, __ATOMIC_RELAXED);
    return 0;
}

/* Attaches one thread; 0, 1 if it was already attached or is ours to skip, or -errno. */
static int attach_thread(ss_session *s, ss_process *p, int tid, char *err, size_t err_len)
{
    if (tid == s->reader_tid || im_get(&s->ev_by_tid, tid))
        return 1;
    ss_pev *e = NULL;
    int rc = pe_open(s, tid, -1, tid, p->pid, &e, err, err_len);
    if (rc < 0)
        return rc;
    if (tg_add_event(s, e) < 0) {
        pe_close(s, e);
        return ss_fail(err, err_len, -ENOMEM, "out of memory");
    }
    p->threads++;
    p->gone = 0;
    rr_mark_busy(s);
    char name[16];
    /* Read after the event is on: a rename from now on arrives as a COMM record. */
    if (proc_comm(p->pid, tid, name) == 0)
        emit_comm(s, p->pid, tid, name, 0);
    return 0;
}

struct attach_ctx {
    ss_session *s;
    ss_process *p;
    int attached, initial, fatal;
    char *err;
    size_t err_len;
};

static int attach_task_cb(int tid, void *arg)
{
    struct attach_ctx *c = arg;
    char tmp[512];
    int rc = attach_thread(c->s, c->p, tid, c->initial ? c->err : tmp,
                           c->initial ? c->err_len : sizeof(tmp));
    if (rc == 0) {
        c->attached++;
    } else if (rc < 0 && rc != -ESRCH) {
        STAT_ADD(c->s, attach_failures, 1);
        if (c->initial) {           /* at open, a refusal is the caller's problem to fix */
            c->fatal = rc;
            return 1;
        }
    } else if (rc == -ESRCH) {
        STAT_ADD(c->s, attach_failures, 1);   /* the thread exited in between */
    }
    return 0;
}

int tg_attach_process(ss_session *s, int pid, int initial, char *err, size_t err_len)
{
    char dir[64];
    struct stat sb;
    snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
    if (pid <= 0 || stat(dir, &sb) < 0 || (!proc_alive(pid) && initial))
        return ss_fail(err, err_len, -ESRCH, "no such process: %d", pid);
    int created;
    ss_process *p = find_or_create(s, pid, 1, &created);
    if (!p)
        return ss_fail(err, err_len, -ENOMEM, "out of memory");
    struct attach_ctx c = { s, p, 0, initial, 0, err, err_len };
    int n = proc_tasks(pid, attach_task_cb, &c);
    /* Maps are read only now that the events are on: an mmap from here on arrives as an MMAP2
     * record, and one made before is in /proc. Reading them first would lose whatever a starting
     * process (ld.so mapping libc) maps in between. */
    if (created)
        load_maps(s, p);
    /* A command held before exec: like perf's enable_on_exec, its profile starts at the exec. */
    if (created && initial && sp_held(pid)) {
        p->exec_state = SS_EXEC_HELD;
        s->awaiting_exec++;
    }
    if (c.fatal)
        return c.fatal;
    if (n < 0 || (initial && c.attached == 0 && p->threads == 0))
        return ss_fail(err, err_len, -ESRCH, "no such process: %d", pid);
    return 0;
}

void tg_on_fork(ss_session *s, int pid, int ppid, int tid, int ptid)
{
    (void)ptid;
    if (s->o.target_kind != SS_TARGET_PID)
        return;                                /* per-CPU cgroup events see new tasks anyway */
    char tmp[512];
    if (pid == ppid) {                         /* a new thread */
        ss_process *p = tg_process(s, pid, 0);
        if (p) {
            int rc = attach_thread(s, p, tid, tmp, sizeof(tmp));
            if (rc < 0)
                STAT_ADD(s, attach_failures, 1);
        }
    } else if (s->o.follow_children && tg_process(s, ppid, 0) && !tg_process(s, pid, 0)) {
        tg_attach_process(s, pid, 0, tmp, sizeof(tmp));   /* a child process */
    }
}

void tg_set_exec_state(ss_session *s, ss_process *p, int state)
{
    s->awaiting_exec += (state != SS_EXEC_NONE) - (p->exec_state != SS_EXEC_NONE);
    p->exec_state = (uint8_t)state;
}

static void process_gone(ss_session *s, ss_process *p)
{
    if (p->gone)
        return;
    p->gone = 1;
    tg_set_exec_state(s, p, SS_EXEC_NONE);
    if (s->alloc)
        ap_on_image(s, p, 0);
    emit_exit(s, p->pid, p->pid);
    if (p->pid == s->root_pid)
        s->root_gone = 1;   /* published by tg_reap_dead, after the events it leaves are closed */
}

void tg_on_exit(ss_session *s, ss_pev *e, int pid, int tid)
{
    if (s->o.target_kind == SS_TARGET_CGROUP) {
        ss_process *p = tg_process(s, pid, 0);
        if (tid != pid) {
            emit_exit(s, pid, tid);
        } else if (p) {
            process_gone(s, p);
            im_del(&s->procs, pid);
            ms_free(&p->maps);
            free(p);
        }
        return;
    }
    if (!e || e->dead || e->tid != tid)
        return;
    e->dead = 1;
    ss_process *p = tg_process(s, e->pid, 0);
    if (!p)
        return;
    if (tid != e->pid)
        emit_exit(s, e->pid, tid);
    if (--p->threads <= 0)
        process_gone(s, p);
}

void tg_on_comm(ss_session *s, int pid, int tid, const char *name, int exec)
{
    int create = s->o.target_kind == SS_TARGET_CGROUP;
    ss_process *p = tg_process(s, pid, create);
    if (!p)
        return;
    emit_comm(s, pid, tid, name, exec);
    if (exec) {
        tg_set_exec_state(s, p, SS_EXEC_LOADING);
        if (s->alloc)
            ap_on_image(s, p, 1);
        load_maps(s, p);   /* exec replaced the address space: report the new one */
    }
}

void tg_on_mmap(ss_session *s, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
                const uint8_t *build_id, int build_id_len, uint32_t maj, uint32_t min,
                uint64_t ino, const char *path)
{
    int existed = im_get(&s->procs, pid) != NULL;
    ss_process *p = tg_process(s, pid, s->o.target_kind == SS_TARGET_CGROUP);
    if (!p || !existed)
        return;            /* a process seen for the first time was just read from /proc */
    uint8_t id[20];
    if (build_id_len <= 0) {
        build_id_len = build_id_for(s, pid, path, makedev(maj, min), ino, id);
        build_id = id;
    }
    ms_add(&p->maps, start, start + len, pgoff,
           ut_module(s, pid, build_id, build_id_len, makedev(maj, min), ino, path, strlen(path),
                     len));
    emit_mmap(s, pid, start, len, pgoff, build_id, build_id_len, path, strlen(path));
    ap_on_mapping(p, path, strlen(path));
}

#define CHILD_SCAN_EVERY 10

struct rescan_ctx {
    ss_session *s;
    ss_process *p;
};

static int rescan_child(int child, void *arg)
{
    struct rescan_ctx *c = arg;
    char tmp[512];
    if (!tg_process(c->s, child, 0))
        tg_attach_process(c->s, child, 0, tmp, sizeof(tmp));
    return 0;
}

static int rescan_task(int tid, void *arg)
{
    struct rescan_ctx *c = arg;
    char tmp[512];
    if (attach_thread(c->s, c->p, tid, tmp, sizeof(tmp)) < 0)
        STAT_ADD(c->s, attach_failures, 1);
    return 0;
}

static int cgroup_populated(ss_session *s)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/cgroup.procs", s->o.cgroup_path);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int c = fgetc(f);
    fclose(f);
    return c != EOF;
}

void tg_rescan(ss_session *s)
{
    if (s->o.target_kind == SS_TARGET_CGROUP) {
        __atomic_store_n(&s->alive, cgroup_populated(s), __ATOMIC_RELAXED);
        for (size_t i = 0; s->procs.keys && i <= s->procs.mask; i++) {
            ss_process *p = s->procs.keys[i] > 0 ? s->procs.vals[i] : NULL;
            if (p && !proc_alive(p->pid))
                tg_on_exit(s, NULL, p->pid, p->pid);
        }
        return;
    }
    /* Children are also announced by FORK records; their /proc scan (one file per thread) is the
     * costly part of a rescan, so it runs on every CHILD_SCAN_EVERY-th rescan only. */
    int scan_children = s->o.follow_children && s->rescans++ % CHILD_SCAN_EVERY == 0;
    /* Snapshot the live pids first: attaching children adds to the map we walk. */
    size_t n = 0, cap = s->procs.live + 1;
    int *pids = malloc(cap * sizeof(int));
    if (!pids)
        return;
    for (size_t i = 0; s->procs.keys && i <= s->procs.mask && n < cap; i++) {
        if (s->procs.keys[i] > 0)
            pids[n++] = s->procs.keys[i];
    }
    for (size_t i = 0; i < n; i++) {
        ss_process *p = im_get(&s->procs, pids[i]);
        if (!p)
            continue;
        if (p->gone || !proc_alive(p->pid)) {
            /* Exited (or a zombie): close what is left; forget it once nothing is attached. */
            for (size_t k = 0; k < s->nev; k++) {
                if (s->ev[k]->pid == p->pid && !s->ev[k]->dead)
                    tg_on_exit(s, s->ev[k], p->pid, s->ev[k]->tid);
            }
            process_gone(s, p);
            if (p->threads <= 0 && p->pid != s->root_pid) {
                im_del(&s->procs, p->pid);
                ms_free(&p->maps);
                free(p);
            }
            continue;
        }
        struct rescan_ctx c = { s, p };
        proc_tasks(p->pid, rescan_task, &c);
        if (scan_children)
            proc_children(p->pid, rescan_child, &c);
    }
    free(pids);
}

void tg_reap_dead(ss_session *s)
{
    size_t w = 0;
    for (size_t i = 0; i < s->nev; i++) {
        ss_pev *e = s->ev[i];
        if (!e->dead) {
            s->ev[w++] = e;
            continue;
        }
        if (e->tid > 0 && im_get(&s->ev_by_tid, e->tid) == e)
            im_del(&s->ev_by_tid, e->tid);
        pe_close(s, e);
        STAT_ADD(s, threads_exited, 1);
    }
    s->nev = w;
    __atomic_store_n(&s->st.open_fds, (uint32_t)s->nev, __ATOMIC_RELAXED);
    /* A caller that sees the target gone also sees its file descriptors closed: the sweep that
     * read the exit closes them first (unwinding makes a sweep long enough for the gap to show). */
    if (s->root_gone) {
        ap_flush_closes(s);
        __atomic_store_n(&s->alive, 0, __ATOMIC_RELEASE);
    }
}

void tg_free(ss_session *s)
{
    for (size_t i = 0; i < s->nev; i++)
        pe_close(s, s->ev[i]);
    free(s->ev);
    s->ev = NULL;
    s->nev = s->evcap = 0;
    __atomic_store_n(&s->st.open_fds, 0, __ATOMIC_RELAXED);
    for (size_t i = 0; s->procs.keys && i <= s->procs.mask; i++) {
        if (s->procs.keys[i] > 0) {
            ss_process *p = s->procs.vals[i];
            if (s->alloc && !p->gone)
                ap_on_image(s, p, 0);      /* still running at the stop */
            ms_free(&p->maps);
            free(p);
        }
    }
    im_free(&s->procs);
    im_free(&s->ev_by_tid);
}
