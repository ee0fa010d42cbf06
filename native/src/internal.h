/*
 * internal.h - types shared between the files of libstackstream. Not installed, not exported.
 *
 * Layering: the portable pieces (stack_table.c, callchain.c, mappings.c, drain.c, errors.c)
 * know nothing about perf; the *_linux.c files own the kernel interfaces.
 */
#ifndef SS_INTERNAL_H
#define SS_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "stackstream.h"

#define SS_EXPORT __attribute__((visibility("default")))
#define SS_MAX_DEPTH_LIMIT 512

/* ---- errors.c ------------------------------------------------------------------------- */

/* Formats a message into err (if not NULL) and returns code (a negative errno). */
int ss_fail(char *err, size_t err_len, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reads an integer sysctl from /proc/sys/...; returns fallback when unreadable. */
long ss_read_sysctl(const char *path, long fallback);

/* ---- stack_table.c: deduplicating stack counter with a memory cap --------------------- */

typedef struct st_entry {
    uint64_t hash;
    uint32_t pid, tid;
    uint64_t count, weight, instructions;
    uint16_t depth, kernel_depth, flags, reserved;
    uint64_t ips[];
} st_entry;

typedef struct st_chunk st_chunk;

typedef struct stack_table {
    st_entry **slots;      /* open addressing, linear probing; NULL = empty */
    uint32_t slot_mask;    /* slots - 1, power of two */
    uint32_t entries;      /* distinct stacks held */
    st_chunk *chunks;      /* bump arena holding the entries (first chunk is the oldest) */
    st_chunk *current;     /* chunk being filled */
    size_t chunk_size;
    size_t cap_bytes;      /* memory cap for slots + chunks */
    size_t bytes;          /* memory held now */
    size_t serialized;     /* bytes ss_drain needs for the STACK records held */
    uint64_t overflow;     /* samples refused because of the cap (cumulative) */
} stack_table;

int st_init(stack_table *t, size_t cap_bytes);
void st_free(stack_table *t);
/* Counts one sample. Returns 1 if counted, 0 if refused (cap reached: overflow counted). */
int st_add(stack_table *t, uint32_t pid, uint32_t tid, const uint64_t *ips, uint16_t depth,
           uint16_t kernel_depth, uint16_t flags, uint64_t weight, uint64_t instructions);
/* Forgets every entry but keeps the slot array and the first chunk for the next window. */
void st_reset(stack_table *t);
/* Calls fn for every entry in insertion order. */
void st_foreach(const stack_table *t, void (*fn)(const st_entry *, void *), void *arg);
size_t st_record_size(uint16_t depth);

/* ---- mappings.c: executable mappings per process (leaf fix-up, MMAP records) ---------- */

typedef struct ss_mapping {
    uint64_t start, end, pgoff;
} ss_mapping;

typedef struct ss_mapset {
    ss_mapping *v;   /* sorted by start, non-overlapping */
    size_t n, cap;
} ss_mapset;

void ms_free(ss_mapset *m);
void ms_clear(ss_mapset *m);
/* Adds [start, end); an overlapping older range is replaced (mmap over an old mapping). */
int ms_add(ss_mapset *m, uint64_t start, uint64_t end, uint64_t pgoff);
int ms_contains(const ss_mapset *m, uint64_t addr);

/* ---- callchain.c: marker stripping and the leaf-caller fix-up ------------------------- */

enum ss_arch { SS_ARCH_X86_64 = 1, SS_ARCH_ARM64 = 2 };

typedef struct cc_result {
    uint16_t depth, kernel_depth, flags;
    int fixed_up;    /* 1 if a leaf caller was inserted */
} cc_result;

/* Copies raw (PERF_CONTEXT_* markers included) into out without markers, counting kernel
 * frames, cutting at max_depth (flags |= SS_STACK_TRUNCATED). */
void cc_strip(const uint64_t *raw, uint64_t nr, uint64_t *out, uint16_t max_depth,
              cc_result *res);

/* Is the code just before ret a call instruction? code holds the `len` bytes that end at ret. */
int cc_is_call_before(int arch, const uint8_t *code, size_t len);

/* The leaf-caller fix-up: candidate is the return address found at the leaf (x86-64: the word at
 * [SP]; arm64: LR). If it lies in an executable mapping (in_exec), is not already the caller in
 * the chain, and verify() (may be NULL) accepts it, it is inserted after the leaf. The user part
 * of the chain is ips[kernel_depth .. depth). Returns 1 if inserted. */
int cc_fixup_leaf(uint64_t *ips, cc_result *res, uint16_t max_depth, uint64_t candidate,
                  int (*in_exec)(void *ctx, uint64_t addr),
                  int (*verify)(void *ctx, uint64_t addr), void *ctx);

/* ---- drain.c: the record format of ss_drain --------------------------------------------- */

typedef struct ss_bytes {
    uint8_t *p;
    size_t n, cap;
} ss_bytes;

void sb_free(ss_bytes *b);
int sb_append_comm(ss_bytes *b, uint32_t pid, uint32_t tid, const char *name, int exec);
int sb_append_mmap(ss_bytes *b, uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
                   const uint8_t *build_id, uint8_t build_id_len, const char *path,
                   size_t path_len);
int sb_append_exit(ss_bytes *b, uint32_t pid, uint32_t tid);
/* Bytes needed to serialise pre + table + post. */
size_t drain_size(const ss_bytes *pre, const stack_table *t, const ss_bytes *post);
/* Writes pre, then one STACK record per table entry, then post; returns bytes written. The
 * caller checked the size. */
size_t drain_write(uint8_t *buf, const ss_bytes *pre, const stack_table *t, const ss_bytes *post);

#endif
