/* records.c - see records.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"
#include "stackstream.h"

int t_walk(const uint8_t *buf, size_t len, const t_visitor *v)
{
    size_t off = 0;
    int n = 0;
    while (off < len) {
        uint16_t type, flags;
        uint32_t size;
        if (len - off < 8)
            return -1;
        memcpy(&type, buf + off, 2);
        memcpy(&flags, buf + off + 2, 2);
        memcpy(&size, buf + off + 4, 4);
        if (size < 8 || size > len - off || size % 8)
            return -1;
        const uint8_t *r = buf + off;
        if (type == SS_REC_STACK) {
            t_stack s;
            memcpy(&s.pid, r + 8, 4);
            memcpy(&s.tid, r + 12, 4);
            memcpy(&s.count, r + 16, 8);
            memcpy(&s.weight, r + 24, 8);
            memcpy(&s.instructions, r + 32, 8);
            memcpy(&s.depth, r + 40, 2);
            memcpy(&s.kernel_depth, r + 42, 2);
            s.flags = flags;
            if (size != 48 + 8u * s.depth || s.kernel_depth > s.depth)
                return -1;
            s.ips = (const uint64_t *)(const void *)(r + 48);
            if (v && v->stack)
                v->stack(&s, v->arg);
        } else if (type == SS_REC_COMM) {
            char name[17] = { 0 };
            uint32_t pid, tid;
            if (size != 32)
                return -1;
            memcpy(&pid, r + 8, 4);
            memcpy(&tid, r + 12, 4);
            memcpy(name, r + 16, 16);
            if (v && v->comm)
                v->comm(pid, tid, name, !!(flags & SS_COMM_EXEC), v->arg);
        } else if (type == SS_REC_MMAP) {
            uint32_t pid, path_len;
            uint64_t start, l, pgoff;
            memcpy(&pid, r + 8, 4);
            memcpy(&start, r + 16, 8);
            memcpy(&l, r + 24, 8);
            memcpy(&pgoff, r + 32, 8);
            memcpy(&path_len, r + 64, 4);
            if (68 + (size_t)path_len > size || r[40] > 20)
                return -1;
            if (v && v->mmap)
                v->mmap(pid, start, l, pgoff, r + 41, r[40], (const char *)r + 68, path_len, v->arg);
        } else if (type == SS_REC_EXIT) {
            uint32_t pid, tid;
            if (size != 16)
                return -1;
            memcpy(&pid, r + 8, 4);
            memcpy(&tid, r + 12, 4);
            if (v && v->exit)
                v->exit(pid, tid, v->arg);
        }
        off += size;
        n++;
    }
    return n;
}

int t_symbol(const char *file, const char *name, uint64_t *start, uint64_t *end)
{
    char cmd[4200], line[512];
    snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", file);
    FILE *p = popen(cmd, "r");
    if (!p)
        return 0;
    int found = 0;
    while (fgets(line, sizeof(line), p)) {
        unsigned long long addr, size;
        char type, sym[256];
        if (sscanf(line, "%llx %llx %c %255s", &addr, &size, &type, sym) == 4 &&
            (type == 'T' || type == 't') && strcmp(sym, name) == 0) {
            *start = addr;
            *end = addr + size;
            found = 1;
        }
    }
    pclose(p);
    return found;
}

int t_count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;   /* the directory stream itself */
}

const char *t_fixture(const char *name)
{
    static char path[4][4096];
    static int next;
    const char *dir = getenv("SS_FIXTURES");
    char *out = path[next++ % 4];
    snprintf(out, 4096, "%s/%s", dir ? dir : "target/native/fixtures", name);
    return out;
}

ss_session *t_spawn_session(const char *const *argv, ss_options *o, int32_t *pid)
{
    char err[512];
    *pid = ss_spawn(argv, err, sizeof(err));
    if (*pid <= 0) {
        fprintf(stderr, "    ss_spawn: %s\n", err);
        return NULL;
    }
    o->pid = *pid;
    int32_t code = 0;
    ss_session *s = ss_open(o, &code, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "    ss_open: %d %s\n", code, err);
        kill(*pid, SIGKILL);
        ss_wait(*pid, -1);
    }
    return s;
}
