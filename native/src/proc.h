/* proc.h - /proc and /sys readers (proc_linux.c). */
#ifndef SS_PROC_H
#define SS_PROC_H

#include <stddef.h>
#include <stdint.h>

typedef struct proc_map {
    uint64_t start, end, pgoff, inode;
    uint32_t dev_major, dev_minor;
    char perms[5];
    const char *path;     /* points into the parsed line; "" for anonymous */
    size_t path_len;
} proc_map;

/* Parses one /proc/PID/maps line (the line is modified: the newline is cut). 0 on success. */
int proc_parse_maps_line(char *line, proc_map *out);

/* Calls fn for every executable mapping in /proc/PID/maps. Returns 0, or -errno. */
int proc_exec_maps(int pid, int (*fn)(const proc_map *m, void *arg), void *arg);

/* Calls fn for every thread id in /proc/PID/task. Returns the number of tids or -errno. */
int proc_tasks(int pid, int (*fn)(int tid, void *arg), void *arg);

/* Children of every thread of pid (/proc/PID/task/TID/children); -errno when unsupported. */
int proc_children(int pid, int (*fn)(int child, void *arg), void *arg);

/* Thread name into name[16]; 0 or -errno. */
int proc_comm(int pid, int tid, char name[16]);

/* 1 if the process exists and is not a zombie, 0 otherwise. */
int proc_alive(int pid);

/* Online CPU numbers from /sys/devices/system/cpu/online into cpus (at most max); count or -errno. */
int proc_online_cpus(int *cpus, int max);

/* GNU build-id of the ELF file at path into id[20]; its length, or 0 when none/unreadable. */
int elf_build_id(const char *path, uint8_t id[20]);

#endif
