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
    uint16_t depth, kernel_depth, flags, cut;   /* cut: enum ss_cut_reason */
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
           uint16_t kernel_depth, uint16_t flags, uint8_t cut, uint64_t weight,
           uint64_t instructions);
/* Forgets every entry but keeps the slot array and the first chunk for the next window. */
void st_reset(stack_table *t);
/* Calls fn for every entry in insertion order. */
void st_foreach(const stack_table *t, void (*fn)(const st_entry *, void *), void *arg);
size_t st_record_size(uint16_t depth);

/* ---- mappings.c: executable mappings per process (leaf fix-up, MMAP records) ---------- */

struct cfi_module;

typedef struct ss_mapping {
    uint64_t start, end, pgoff;
    struct cfi_module *mod;   /* the file's unwind table (loaded on first use), or NULL */
} ss_mapping;

typedef struct ss_mapset {
    ss_mapping *v;   /* sorted by start, non-overlapping */
    size_t n, cap;
} ss_mapset;

void ms_free(ss_mapset *m);
void ms_clear(ss_mapset *m);
/* Adds [start, end); an overlapping older range is replaced (mmap over an old mapping). */
int ms_add(ss_mapset *m, uint64_t start, uint64_t end, uint64_t pgoff, struct cfi_module *mod);
int ms_contains(const ss_mapset *m, uint64_t addr);
/* The mapping containing addr, or NULL. */
const ss_mapping *ms_find(const ss_mapset *m, uint64_t addr);

/* ---- cfi.c: a module's .eh_frame compiled into a sorted row table ----------------------- */

enum cfi_kind {
    CFI_NONE = 0,         /* no FDE covers this address (end marker of the FDE before it) */
    CFI_CFA_SP = 1,       /* CFA = SP + cfa_off */
    CFI_CFA_BP = 2,       /* CFA = BP + cfa_off */
    CFI_CFA_PLT = 3,      /* x86-64 PLT: CFA = SP + 8 + ((IP & 15) >= cfa_off ? 8 : 0) */
    CFI_UNSUPPORTED = 4   /* needs a DWARF expression or an unknown register: unwind otherwise */
};

enum cfi_flags {
    CFI_RA_UNDEFINED = 1, /* the return address is undefined: the outermost frame */
    CFI_RA_IN_REG = 2,    /* the return address is still in its register (arm64 LR) */
    CFI_BP_SAVED = 4,     /* the caller's BP is at CFA + bp_off */
    CFI_BP_LOST = 8       /* the caller's BP cannot be recovered (rule not supported) */
};

/* One row: from module virtual address pc on (to the next row), this rule holds. 12 bytes. */
typedef struct cfi_row {
    uint32_t pc;
    int32_t cfa_off;
    int16_t ra_off, bp_off;   /* from the CFA */
    uint8_t kind, flags;
    uint8_t pad[2];
} cfi_row;

typedef struct cfi_table {
    cfi_row *rows;    /* sorted by pc */
    size_t n;
    size_t fdes;      /* FDEs compiled */
    int truncated;    /* max_rows reached: the table covers part of the module */
} cfi_table;

/* Compiles an .eh_frame section (bytes sec[0..len), loaded at module virtual address sec_vaddr)
 * into *out; at most max_rows rows (0 = 16M). Corrupt entries are skipped or end the walk. */
int cfi_compile(const uint8_t *sec, size_t len, uint64_t sec_vaddr, size_t max_rows,
                cfi_table *out);
/* The same for a section of either kind: debug_frame 1 reads .debug_frame's layout (CIE id
 * 0xffffffff, FDEs pointing at their CIE by section offset, absolute addresses). */
int cfi_compile_section(const uint8_t *sec, size_t len, uint64_t sec_vaddr, size_t max_rows,
                        int debug_frame, cfi_table *out);
void cfi_free(cfi_table *t);
/* The row covering module address pc, or NULL. */
const cfi_row *cfi_find(const cfi_table *t, uint64_t pc);

/* ---- unwind.c: CFI unwinding of a sampled user stack, frame pointers where CFI is missing -- */

typedef struct uw_regs {
    uint64_t ip, sp, bp, lr;   /* lr: arm64 only */
} uw_regs;

/* What the unwinder knows about a code address: UW_NOT_CODE (outside every executable
 * mapping), UW_NO_CFI (code without a table row), UW_CFI (*row set). */
enum { UW_NOT_CODE = -1, UW_NO_CFI = 0, UW_CFI = 1 };
typedef int (*uw_lookup_fn)(void *ctx, uint64_t pc, const cfi_row **row);

typedef struct uw_result {
    uint16_t depth;
    uint8_t cut;          /* enum ss_cut_reason: SS_CUT_NONE when the root was reached */
    uint8_t leaf_fp;      /* the leaf frame was unwound by its frame pointer */
    uint16_t cfi_frames, fp_frames;
} uw_result;

/* Unwinds from regs through the stack copy (stack[0..stack_len) holds the memory at regs->sp).
 * allow_fp: frames without CFI follow the frame pointer (else the stack is cut there). Writes
 * the leaf first into out (at most max frames). Never reads outside the copy. */
void uw_unwind(const uw_regs *regs, const uint8_t *stack, uint64_t stack_len, int allow_fp,
               uw_lookup_fn lookup, void *ctx, uint64_t *out, uint16_t max, uw_result *res);

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

/* ---- elf_dynsym.c ------------------------------------------------------------------------ */

/* The file offset of the defined function `name` in the dynamic symbol table of the ELF64 image
 * f[0..size) (for a uprobe). 0, -ENOENT when there is no such symbol, -EINVAL when f is not a
 * readable ELF64 file. */
int elf_dynsym_offset(const uint8_t *f, size_t size, const char *name, uint64_t *off);

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
