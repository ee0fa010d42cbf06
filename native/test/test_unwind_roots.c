/*
 * test_unwind_roots.c - code without an FDE whose unwinding is still known: the [vdso] (its CFI
 * is read from the collector's own image) and a module's ELF entry point (ld.so's _start: the
 * outermost frame of a process that has not reached main yet). Tables of this test's own ld.so
 * and vdso, then real sessions on fixtures that spend their time there.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "harness.h"
#include "proc.h"
#include "records.h"
#include "session.h"

struct own_map {
    const char *want;     /* substring of the path */
    ss_mapping map;
    uint64_t dev, ino;
    char path[4096];
    int found;
};

static int find_map(const proc_map *pm, void *arg)
{
    struct own_map *o = arg;
    if (o->found || pm->path_len >= sizeof(o->path) || !memmem(pm->path, pm->path_len, o->want,
                                                               strlen(o->want)))
        return 0;
    o->map = (ss_mapping){ pm->start, pm->end, pm->pgoff, NULL };
    o->dev = makedev(pm->dev_major, pm->dev_minor);
    o->ino = pm->inode;
    memcpy(o->path, pm->path, pm->path_len);
    o->path[pm->path_len] = 0;
    o->found = 1;
    return 1;
}

static ss_session *table_session(void)
{
    ss_session *s = calloc(1, sizeof(*s));
    if (s) {
        ss_options_init(&s->o);
        s->o.unwind = SS_UNWIND_CFI;
    }
    return s;
}

/* The code address of module vaddr v in a mapping whose segment has file offset == vaddr (as
 * ld.so's text has). */
static uint64_t at(const ss_mapping *m, uint64_t v)
{
    return m->start - m->pgoff + v;
}

TEST(unwind_ld_so_entry_point_is_the_outermost_frame)
{
    struct own_map o = { .want = "/ld-linux" };
    proc_exec_maps(getpid(), find_map, &o);
    CHECKF(o.found, "no ld-linux mapping in /proc/self/maps");
    FILE *f = fopen(o.path, "rb");
    Elf64_Ehdr eh;
    CHECK(f && fread(&eh, sizeof(eh), 1, f) == 1);
    fclose(f);
    ss_session *s = table_session();
    CHECK(s);
    o.map.mod = ut_module(s, getpid(), NULL, 0, o.dev, o.ino, o.path, strlen(o.path),
                          o.map.end - o.map.start);
    CHECK(o.map.mod);
    /* _start: `mov %rsp,%rdi; call _dl_start`; a sample in _dl_start returns to entry + 8 */
    const cfi_row *entry = ut_find(s, &o.map, at(&o.map, eh.e_entry));
    const cfi_row *after_call = ut_find(s, &o.map, at(&o.map, eh.e_entry + 7));
    int entry_root = entry && (entry->flags & CFI_RA_UNDEFINED);
    int call_root = after_call && (after_call->flags & CFI_RA_UNDEFINED);
    /* the function it calls has an FDE of its own, which still says where its caller is */
    uint8_t call[5];
    f = fopen(o.path, "rb");
    CHECK(f && fseek(f, (long)eh.e_entry + 3, SEEK_SET) == 0 && fread(call, 5, 1, f) == 1);
    fclose(f);
    int32_t rel;
    memcpy(&rel, call + 1, 4);
    const cfi_row *callee = call[0] == 0xe8 ? ut_find(s, &o.map, at(&o.map, eh.e_entry + 8 + rel))
                                            : NULL;
    int callee_normal = callee && !(callee->flags & CFI_RA_UNDEFINED);
    ut_free(s);
    free(s);
    CHECKF(entry_root && call_root, "%s: e_entry 0x%llx not the root (rows %p %p)", o.path,
           (unsigned long long)eh.e_entry, (const void *)entry, (const void *)after_call);
    CHECKF(call[0] != 0xe8 || callee_normal, "the callee of _start lost its own CFI");
}

static int rows_in(ss_session *s, const ss_mapping *m)
{
    int n = 0;
    for (uint64_t pc = m->start; pc < m->end; pc++)
        n += ut_find(s, m, pc) != NULL;
    return n;
}

TEST(unwind_vdso_tables_come_from_the_collectors_own_image)
{
    struct own_map o = { .want = "[vdso]" };
    proc_exec_maps(getpid(), find_map, &o);
    if (!o.found || !getauxval(AT_SYSINFO_EHDR)) {
        printf("    skipped: no [vdso] in this process\n");
        return;
    }
    ss_session *s = table_session();
    CHECK(s);
    uint64_t len = o.map.end - o.map.start;
    ss_mapping same = o.map, other = o.map;
    same.mod = ut_module(s, getpid(), NULL, 0, 0, 0, "[vdso]", 6, len);
    other.mod = ut_module(s, getpid(), NULL, 0, 0, 0, "[vdso]", 6, len + 4096);
    int same_rows = same.mod ? rows_in(s, &same) : 0;
    uint64_t no_cfi_before = s->st.unwind_no_cfi;
    int other_rows = other.mod ? rows_in(s, &other) : 0;
    uint64_t no_cfi_after = s->st.unwind_no_cfi;
    ss_session *fp = table_session();
    CHECK(fp);
    fp->o.unwind = SS_UNWIND_FP;
    cfi_module *in_fp = ut_module(fp, getpid(), NULL, 0, 0, 0, "[vdso]", 6, len);
    ut_free(s);
    free(s);
    free(fp);
    printf("    vdso %llu bytes: %d addresses with a CFI row\n", (unsigned long long)len, same_rows);
    CHECKF(same.mod && same.mod != other.mod, "one module per vdso size");
    CHECKF(same_rows > 64, "only %d vdso addresses have CFI", same_rows);
    CHECKF(other_rows == 0 && no_cfi_after == no_cfi_before + 1,
           "a vdso of another size got %d rows from our image", other_rows);
    CHECK(in_fp == NULL);
}

/* What a session's drains said about the spawned process: the mappings reported after its exec
 * (the new image's), and its stacks (kept until the check, a few hundred at most). */
struct exec_view {
    uint32_t pid;
    int execd;
    struct { uint64_t lo, hi; } maps[64];
    int nmaps;
    uint64_t stacks, kernel_only, foreign;   /* foreign: a user frame outside the new image */
    uint64_t user_ips[4096];
    int nuser;
};

static void on_comm(uint32_t pid, uint32_t tid, const char *name, int exec, void *arg)
{
    struct exec_view *v = arg;
    (void)tid;
    (void)name;
    if (pid == v->pid && exec) {
        v->execd = 1;
        v->nmaps = 0;
    }
}

static void on_mmap(uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff, const uint8_t *id,
                    int id_len, const char *path, size_t path_len, void *arg)
{
    struct exec_view *v = arg;
    (void)pgoff, (void)id, (void)id_len, (void)path, (void)path_len;
    if (pid == v->pid && v->execd && v->nmaps < 64) {
        v->maps[v->nmaps].lo = start;
        v->maps[v->nmaps++].hi = start + len;
    }
}

static void on_stack(const t_stack *st, void *arg)
{
    struct exec_view *v = arg;
    if (st->pid != v->pid)
        return;
    v->stacks++;
    v->kernel_only += st->depth == st->kernel_depth;
    for (uint16_t i = st->kernel_depth; i < st->depth && v->nuser < 4096; i++)
        v->user_ips[v->nuser++] = st->ips[i];
}

/* Samples one spawned fixture in an unwinding mode: its stats and what the drains said. */
static int sample(const char *const *argv, int unwind, ss_stats *st, struct exec_view *v)
{
    ss_options o;
    ss_options_init(&o);
    o.unwind = unwind;
    int32_t pid;
    ss_session *s = t_spawn_session(argv, &o, &pid);
    if (!s)
        return -1;
    memset(v, 0, sizeof(*v));
    v->pid = (uint32_t)pid;
    t_visitor visit = { on_stack, on_comm, on_mmap, NULL, v };
    size_t cap = 16 << 20;
    uint8_t *buf = malloc(cap);
    int status, done = 0;
    ss_resume(pid);
    while (!done) {
        done = (status = ss_wait(pid, 200)) != -EAGAIN;
        if (done)
            ss_stop(s);
        int64_t needed, n = ss_drain(s, buf, (int64_t)cap, &needed);
        if (n > 0)
            t_walk(buf, (size_t)n, &visit);
    }
    for (int i = 0; i < v->nuser; i++) {
        int in = 0;
        for (int m = 0; m < v->nmaps && !in; m++)
            in = v->user_ips[i] >= v->maps[m].lo && v->user_ips[i] < v->maps[m].hi;
        v->foreign += !in;
    }
    ss_get_stats(s, st);
    ss_close(s);
    free(buf);
    return status;
}

static uint64_t cuts(const ss_stats *st)
{
    return st->cut_stack_copy + st->cut_no_unwind_info + st->cut_corrupt;
}

/* The rows of recent lookups (a direct-mapped cache per module) give what the tables give: libc
 * and ld.so looked up at 20,000 addresses each (no address twice: every answer is a table search),
 * then 40,000 times at random, a module at a time, in a session whose table cap holds one of the
 * two, so each switch of module evicts the other's table (and its rows: ASan sees a stale one). */
TEST(unwind_recent_rows_agree_with_the_tables)
{
    struct own_map libc = { .want = "/libc.so" }, ld = { .want = "/ld-linux" };
    proc_exec_maps(getpid(), find_map, &libc);
    proc_exec_maps(getpid(), find_map, &ld);
    CHECK(libc.found && ld.found);
    ss_session *probe = table_session();
    CHECK(probe);
    libc.map.mod = ut_module(probe, getpid(), NULL, 0, libc.dev, libc.ino, libc.path, strlen(libc.path),
                             libc.map.end - libc.map.start);
    CHECK(libc.map.mod && ut_find(probe, &libc.map, libc.map.start + 0x100) != (const cfi_row *)1);
    size_t libc_bytes = probe->unwind_bytes;
    ut_free(probe);
    free(probe);
    CHECK(libc_bytes > 4096);

    ss_session *s = table_session();
    CHECK(s);
    s->o.unwind_cache_bytes = (int64_t)libc_bytes + 1024;   /* libc's table, not both */
    const struct own_map *mods[2] = { &libc, &ld };
    ss_mapping maps[2];
    for (int k = 0; k < 2; k++) {
        maps[k] = mods[k]->map;
        maps[k].mod = ut_module(s, getpid(), NULL, 0, mods[k]->dev, mods[k]->ino, mods[k]->path,
                                strlen(mods[k]->path), maps[k].end - maps[k].start);
        CHECK(maps[k].mod);
    }
    enum { N = 20000 };
    uint64_t *pc = malloc(2 * N * sizeof(*pc));
    cfi_row *want = malloc(2 * N * sizeof(*want));
    int *has = malloc(2 * N * sizeof(*has));
    CHECK(pc && want && has);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 2 * N; i++) {     /* distinct addresses: a stride through each mapping */
        const ss_mapping *m = &maps[i / N];
        pc[i] = m->start + ((uint64_t)(i % N) * 97) % (m->end - m->start);
    }
    for (int i = 0; i < 2 * N; i++) {     /* libc's N, then ld.so's N */
        const cfi_row *r = ut_find(s, &maps[i / N], pc[i]);
        has[i] = r != NULL;
        if (r)
            want[i] = *r;
    }
    int wrong = 0;
    for (int block = 0; block < 40; block++) {   /* 1,000 random lookups in one module, then the other */
        int k = block % 2;
        for (int j = 0; j < 1000; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int i = k * N + (int)(x % N);
            const cfi_row *r = ut_find(s, &maps[k], pc[i]);
            if ((r != NULL) != has[i] || (r && memcmp(r, &want[i], sizeof(*r)) != 0))
                wrong++;
        }
    }
    uint64_t evictions = s->st.unwind_evictions;
    int found = 0;
    for (int i = 0; i < 2 * N; i++)
        found += has[i];
    ut_free(s);
    free(s);
    free(pc);
    free(want);
    free(has);
    printf("    %d of %d addresses with a row, %llu evictions, %d disagreements\n", found, 2 * N,
           (unsigned long long)evictions, wrong);
    CHECKF(found > N, "only %d addresses have rows", found);
    CHECKF(evictions >= 40, "%llu evictions: the cap did not make the modules take turns",
           (unsigned long long)evictions);
    CHECKF(wrong == 0, "%d lookups disagree with the tables", wrong);
}

/* Nearly every sample is in clock_gettime: before the vdso had a table, 91 % were cut there
 * (no unwind info). */
TEST(e2e_clockloop_nofp_unwinds_through_the_vdso)
{
    const char *argv[] = { t_fixture("clockloop_nofp"), "2", NULL };
    ss_stats st;
    struct exec_view *v = malloc(sizeof(*v));
    CHECK(v);
    int status = sample(argv, SS_UNWIND_CFI, &st, v);
    free(v);
    CHECKF(status == 0, "clockloop_nofp exit status %d", status);
    printf("    clockloop_nofp: %llu unwound, cut: copy %llu no-info %llu corrupt %llu\n",
           (unsigned long long)st.unwound, (unsigned long long)st.cut_stack_copy,
           (unsigned long long)st.cut_no_unwind_info, (unsigned long long)st.cut_corrupt);
    CHECKF(st.unwound >= 500, "only %llu samples", (unsigned long long)st.unwound);
    CHECKF(cuts(&st) * 100 <= st.unwound, "%llu of %llu stacks cut",
           (unsigned long long)cuts(&st), (unsigned long long)st.unwound);
}

/* A process sampled from its exec on. While ld.so relocates, stacks end in ld.so's _start, which
 * has no FDE (they were cut as "no unwind info"). Inside execve the kernel samples the old image's
 * registers with its memory gone (they were cut, and named the old image's libc); before the exec
 * the spawner's own code ran. Short runs, so start-up is a good share of the samples; in 1 of 3
 * runs a sample landed in ld.so, and in most runs of the sanitizer build one in execve. In AUTO
 * mode, as users run it: at exit crt's __do_global_dtors_aux (no FDE, built so by GCC) calls
 * __cxa_finalize, and only its frame pointer leads on (CFI alone cuts there, rightly: 1 sample in
 * 600). In AUTO mode the ld.so case did not show in 2 runs with the fix undone (the frame-pointer
 * fallback got past it there), the execve case did (17-18 cuts in the sanitizer build); the ld.so
 * rule itself is checked deterministically above. */
TEST(e2e_new_processes_unwind_to_the_root_from_their_first_sample)
{
    const char *argv[] = { t_fixture("calltree_nofp"), "0.05", NULL };
    uint64_t unwound = 0, cut = 0, stacks = 0, kernel_only = 0, foreign = 0, by[3] = { 0, 0, 0 };
    struct exec_view *v = malloc(sizeof(*v));
    CHECK(v);
    for (int run = 0; run < 12; run++) {
        ss_stats st;
        int status = sample(argv, SS_UNWIND_AUTO, &st, v);
        if (status != 0) {
            free(v);
            CHECKF(0, "run %d: calltree_nofp exit status %d", run, status);
        }
        unwound += st.unwound;
        cut += cuts(&st);
        by[0] += st.cut_stack_copy;
        by[1] += st.cut_no_unwind_info;
        by[2] += st.cut_corrupt;
        stacks += v->stacks;
        kernel_only += v->kernel_only;
        foreign += v->foreign;
    }
    free(v);
    printf("    12 runs of calltree_nofp 0.05: %llu unwound, %llu cut (copy %llu, no-info %llu, corrupt "
           "%llu); %llu stacks, %llu of them kernel frames only (an exec loading), %llu user frames "
           "outside the new image\n", (unsigned long long)unwound, (unsigned long long)cut,
           (unsigned long long)by[0], (unsigned long long)by[1], (unsigned long long)by[2],
           (unsigned long long)stacks,
           (unsigned long long)kernel_only, (unsigned long long)foreign);
    CHECK(unwound >= 120);
    /* Before the fixes: 14-24 cuts per 12 runs. A loaded CI run showed 1 cut of 606 once, of a
     * cause not reproduced here (the reasons are printed above for the next time): allowed. */
    CHECKF(cut <= 2, "%llu of %llu stacks cut", (unsigned long long)cut,
           (unsigned long long)unwound);
    CHECKF(foreign == 0, "%llu user frames are not the new image's", (unsigned long long)foreign);
}
