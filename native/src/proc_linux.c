/*
 * proc_linux.c - what the kernel tells about tasks through /proc and /sys, and the GNU build-id
 * note of an ELF file.
 */
#ifndef __linux__
#error "proc_linux.c is Linux-only"
#endif
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

static char *next_field(char **p)
{
    char *s = *p;
    while (*s == ' ')
        s++;
    char *start = s;
    while (*s && *s != ' ')
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return start;
}

int proc_parse_maps_line(char *line, proc_map *out)
{
    char *p = line, *end;
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n')
        line[n - 1] = '\0';
    memset(out, 0, sizeof(*out));
    char *range = next_field(&p), *perms = next_field(&p), *off = next_field(&p);
    char *dev = next_field(&p), *inode = next_field(&p);
    if (!*range || !*perms || !*off || !*dev || !*inode)
        return -EINVAL;
    out->start = strtoull(range, &end, 16);
    if (*end != '-')
        return -EINVAL;
    out->end = strtoull(end + 1, &end, 16);
    if (*end || out->end <= out->start)
        return -EINVAL;
    if (strlen(perms) != 4)
        return -EINVAL;
    memcpy(out->perms, perms, 5);
    out->pgoff = strtoull(off, &end, 16);
    if (*end)
        return -EINVAL;
    out->dev_major = (uint32_t)strtoul(dev, &end, 16);
    if (*end != ':')
        return -EINVAL;
    out->dev_minor = (uint32_t)strtoul(end + 1, &end, 16);
    out->inode = strtoull(inode, &end, 10);
    if (*end)
        return -EINVAL;
    while (*p == ' ')
        p++;
    out->path = p;           /* may contain spaces; " (deleted)" is kept as the kernel wrote it */
    out->path_len = strlen(p);
    return 0;
}

int proc_exec_maps(int pid, int (*fn)(const proc_map *m, void *arg), void *arg)
{
    char path[64], *line = NULL;
    size_t cap = 0;
    snprintf(path, sizeof(path), "/proc/%d/maps", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    int rc = 0;
    while (getline(&line, &cap, f) > 0) {
        proc_map m;
        if (proc_parse_maps_line(line, &m) == 0 && m.perms[2] == 'x' && (rc = fn(&m, arg)) != 0)
            break;
    }
    free(line);
    fclose(f);
    return rc < 0 ? rc : 0;
}

static int list_numeric_dir(const char *dir, int (*fn)(int id, void *arg), void *arg)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        n++;
        if (fn((int)strtol(e->d_name, NULL, 10), arg) != 0)
            break;
    }
    closedir(d);
    return n;
}

int proc_tasks(int pid, int (*fn)(int tid, void *arg), void *arg)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
    return list_numeric_dir(dir, fn, arg);
}

struct children_ctx {
    int pid;
    int (*fn)(int, void *);
    void *arg;
    int failed;
};

static int children_of_task(int tid, void *arg)
{
    struct children_ctx *c = arg;
    char path[96], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", c->pid, tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        c->failed = -errno;
        return 0;
    }
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    for (char *p = buf, *end; *p; p = end) {
        long child = strtol(p, &end, 10);
        if (end == p)
            break;
        if (child > 0)
            c->fn((int)child, c->arg);
    }
    return 0;
}

int proc_children(int pid, int (*fn)(int child, void *arg), void *arg)
{
    struct children_ctx c = { pid, fn, arg, 0 };
    int rc = proc_tasks(pid, children_of_task, &c);
    return rc < 0 ? rc : c.failed;
}

int proc_comm(int pid, int tid, char name[16])
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, name, 15);
    close(fd);
    if (n < 0)
        return -errno;
    while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == '\0'))
        n--;
    memset(name + n, 0, 16 - (size_t)n);
    return 0;
}

int proc_alive(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');   /* comm may contain spaces and parentheses */
    if (!rp || rp[1] != ' ')
        return 0;
    char state = rp[2];
    return state != 'Z' && state != 'X' && state != 'x';
}

int proc_online_cpus(int *cpus, int max)
{
    char buf[1024];
    int fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = '\0';
    int count = 0;
    for (char *p = buf, *end; *p && *p != '\n';) {
        long a = strtol(p, &end, 10), b = a;
        if (end == p)
            return -EINVAL;
        if (*end == '-')
            b = strtol(end + 1, &end, 10);
        for (long c = a; c <= b && count < max; c++)
            cpus[count++] = (int)c;
        p = *end == ',' ? end + 1 : end;
    }
    return count;
}

/* Looks for NT_GNU_BUILD_ID in one note segment read into buf. */
static int note_build_id(const uint8_t *buf, size_t len, uint8_t id[20])
{
    size_t off = 0;
    while (off + sizeof(Elf64_Nhdr) <= len) {
        Elf64_Nhdr nh;
        memcpy(&nh, buf + off, sizeof(nh));
        size_t name_off = off + sizeof(nh);
        size_t desc_off = name_off + ((nh.n_namesz + 3u) & ~3u);
        size_t next = desc_off + ((nh.n_descsz + 3u) & ~3u);
        if (next > len || next <= off)
            return 0;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
            memcmp(buf + name_off, "GNU", 4) == 0 && nh.n_descsz > 0) {
            size_t n = nh.n_descsz > 20 ? 20 : nh.n_descsz;
            memcpy(id, buf + desc_off, n);
            return (int)n;
        }
        off = next;
    }
    return 0;
}

int elf_build_id(const char *path, uint8_t id[20])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return 0;
    Elf64_Ehdr eh;
    int found = 0;
    if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 256)
        goto out;
    Elf64_Phdr ph[256];
    size_t phbytes = (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
    if (pread(fd, ph, phbytes, (off_t)eh.e_phoff) != (ssize_t)phbytes)
        goto out;
    for (int i = 0; i < eh.e_phnum && !found; i++) {
        if (ph[i].p_type != PT_NOTE || ph[i].p_filesz == 0 || ph[i].p_filesz > 8192)
            continue;
        uint8_t notes[8192];
        ssize_t n = pread(fd, notes, ph[i].p_filesz, (off_t)ph[i].p_offset);
        if (n > 0)
            found = note_build_id(notes, (size_t)n, id);
    }
out:
    close(fd);
    return found;
}
