/* test_proc.c - /proc parsing, the mapping set, build-ids and the int map. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "intmap.h"
#include "proc.h"

TEST(proc_parses_maps_lines)
{
    char l1[] = "55d0c3a00000-55d0c3a21000 r-xp 00002000 fd:01 1311234                    /usr/bin/my prog (deleted)\n";
    proc_map m;
    CHECK(proc_parse_maps_line(l1, &m) == 0);
    CHECK(m.start == 0x55d0c3a00000ull && m.end == 0x55d0c3a21000ull && m.pgoff == 0x2000);
    CHECK(m.dev_major == 0xfd && m.dev_minor == 1 && m.inode == 1311234);
    CHECK(strcmp(m.perms, "r-xp") == 0);
    CHECK(strcmp(m.path, "/usr/bin/my prog (deleted)") == 0 && m.path_len == 26);
    char l2[] = "7ffd1a2b3000-7ffd1a2b5000 r-xp 00000000 00:00 0                          [vdso]";
    CHECK(proc_parse_maps_line(l2, &m) == 0 && strcmp(m.path, "[vdso]") == 0);
    char l3[] = "7f0000000000-7f0000001000 rwxp 00000000 00:00 0 ";
    CHECK(proc_parse_maps_line(l3, &m) == 0 && m.path_len == 0);
    char bad1[] = "zzzz r-xp 0 0 0";
    char bad2[] = "1000-0500 r-xp 00000000 00:00 0";
    char bad3[] = "1000-2000";
    CHECK(proc_parse_maps_line(bad1, &m) < 0);
    CHECK(proc_parse_maps_line(bad2, &m) < 0);
    CHECK(proc_parse_maps_line(bad3, &m) < 0);
}

static int count_exec(const proc_map *m, void *arg)
{
    int *n = arg;
    if (strstr(m->path, "unit"))
        (*n)++;
    return 0;
}

static int count_task(int tid, void *arg)
{
    int *found = arg;
    if (tid == gettid())
        *found = 1;
    return 0;
}

TEST(proc_reads_own_maps_tasks_comm)
{
    int n = 0;
    CHECK(proc_exec_maps(getpid(), count_exec, &n) == 0);
    CHECK(n >= 1);                          /* this test binary's text */
    int found = 0;
    CHECK(proc_tasks(getpid(), count_task, &found) >= 1 && found);
    char name[16];
    CHECK(proc_comm(getpid(), getpid(), name) == 0 && strlen(name) > 0);
    CHECK(proc_alive(getpid()) == 1);
    CHECK(proc_alive(0x3ffffff0) == 0);
    CHECK(proc_exec_maps(0x3ffffff0, count_exec, &n) == -ENOENT);
    int cpus[64];
    CHECK(proc_online_cpus(cpus, 64) == (int)sysconf(_SC_NPROCESSORS_ONLN));
}

TEST(proc_reads_build_id)
{
    uint8_t id[20];
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    CHECK(n > 0);
    self[n] = '\0';
    int len = elf_build_id(self, id);
    CHECKF(len == 20, "build-id length %d of %s (gcc on Debian links with --build-id)", len, self);
    /* Compare with what `readelf -n` says. */
    char cmd[4300], line[256], hex[41];
    snprintf(cmd, sizeof(cmd), "readelf -n '%s' | awk '/Build ID/ {print $3}'", self);
    FILE *p = popen(cmd, "r");
    CHECK(p && fgets(line, sizeof(line), p));
    pclose(p);
    for (int i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    CHECKF(strncmp(line, hex, 40) == 0, "readelf %s vs ours %s", line, hex);
    CHECK(elf_build_id("/proc/self/status", id) == 0);    /* not ELF */
    CHECK(elf_build_id("/nonexistent", id) == 0);
}

TEST(mapset_add_replace_lookup)
{
    ss_mapset m = { 0 };
    CHECK(ms_add(&m, 0x1000, 0x2000, 0, NULL) == 0);
    CHECK(ms_add(&m, 0x5000, 0x8000, 0, NULL) == 0);
    CHECK(ms_add(&m, 0x3000, 0x4000, 0, NULL) == 0);
    CHECK(m.n == 3 && m.v[0].start == 0x1000 && m.v[1].start == 0x3000);
    CHECK(ms_contains(&m, 0x1000) && ms_contains(&m, 0x1fff) && !ms_contains(&m, 0x2000));
    CHECK(!ms_contains(&m, 0x4800) && ms_contains(&m, 0x7fff) && !ms_contains(&m, 0x8000));
    /* mmap over the middle of 0x5000-0x8000 splits it */
    CHECK(ms_add(&m, 0x6000, 0x7000, 0x100, NULL) == 0);
    CHECK(m.n == 5);
    CHECK(m.v[2].start == 0x5000 && m.v[2].end == 0x6000);
    CHECK(m.v[3].start == 0x6000 && m.v[3].pgoff == 0x100);
    CHECK(m.v[4].start == 0x7000 && m.v[4].end == 0x8000 && m.v[4].pgoff == 0x2000);
    /* one mapping over everything */
    CHECK(ms_add(&m, 0x0, 0x10000, 0, NULL) == 0);
    CHECK(m.n == 1 && ms_contains(&m, 0x4800));
    for (uint64_t i = 0; i < 1000; i++)
        CHECK(ms_add(&m, 0x100000 + i * 0x2000, 0x101000 + i * 0x2000, 0, NULL) == 0);
    CHECK(m.n == 1001 && ms_contains(&m, 0x100000 + 999 * 0x2000) && !ms_contains(&m, 0x101000));
    ms_clear(&m);
    CHECK(!ms_contains(&m, 0x100));
    CHECK(ms_add(&m, 0x2000, 0x1000, 0, NULL) == -EINVAL);
    ms_free(&m);
}

TEST(intmap_put_get_delete)
{
    intmap m = { 0 };
    for (int i = 1; i <= 5000; i++)
        CHECK(im_put(&m, i, (void *)(intptr_t)(i * 2)) == 0);
    for (int i = 1; i <= 5000; i += 2)
        CHECK(im_del(&m, i) == (void *)(intptr_t)(i * 2));
    for (int i = 1; i <= 5000; i++)
        CHECK(im_get(&m, i) == ((i % 2) ? NULL : (void *)(intptr_t)(i * 2)));
    for (int round = 0; round < 20; round++) {   /* churn: tombstones must not fill the table */
        for (int i = 10000; i < 10500; i++)
            CHECK(im_put(&m, i + round * 1000, (void *)1) == 0);
        for (int i = 10000; i < 10500; i++)
            CHECK(im_del(&m, i + round * 1000) == (void *)1);
    }
    CHECK(m.live == 2500);
    CHECK(im_get(&m, 0) == NULL && im_put(&m, 0, NULL) == -EINVAL);
    im_free(&m);
}
