/*
 * stackstream.h - the public C API of libstackstream, the sampling core.
 *
 * This header is the contract with the Java binding (collector/, through JNA). Keep it small,
 * keep every type fixed-width, and bump SS_API_VERSION on any incompatible change: the binding
 * refuses a library whose ss_api_version() differs.
 *
 * Model: a session samples native call stacks of one target (a process and the threads and
 * child processes it starts, or a cgroup) with perf_event_open. A reader thread inside the
 * library drains the perf ring buffers and counts each distinct (pid, tid?, call chain) in a
 * stack table. The caller drains that table once per window into a buffer it owns; draining
 * resets the counts. Beside the stacks, the drain carries the process/thread names and the
 * executable mappings seen since the previous drain, so that frames of a process that has
 * already exited can still be symbolized.
 *
 * Thread-safety: one session is driven by one caller thread at a time; ss_drain may run while
 * the reader thread samples. Functions never abort the process; failures return a negative
 * errno-style code and, where an err buffer is given, a one-line message that names the cause
 * and its fix (capability, sysctl, rlimit).
 */
#ifndef STACKSTREAM_H
#define STACKSTREAM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SS_API_VERSION 3

/* ---- configuration -------------------------------------------------------------------- */

enum ss_target_kind {
    SS_TARGET_PID = 0,    /* a process: all its threads, later threads, and (follow_children) its children */
    SS_TARGET_CGROUP = 1  /* a cgroup v2 directory: one event per CPU, every task in the cgroup */
};

enum ss_event {
    SS_EVENT_CPU_CLOCK = 0,        /* software cpu-clock, frequency mode: on-CPU time */
    SS_EVENT_PAGE_FAULTS = 1,      /* software page-faults, fixed period */
    SS_EVENT_CONTEXT_SWITCHES = 2, /* software context-switches, fixed period: off-CPU stacks */
    SS_EVENT_OFF_CPU = 3,          /* every switch-out's stack, weighted by the nanoseconds until the
                                      thread runs again (PERF_RECORD_SWITCH); PID targets only */
    SS_EVENT_WALL = 4,             /* cpu-clock at frequency_hz (weight: its period in ns) plus
                                      SS_EVENT_OFF_CPU on each thread: on- and off-CPU time in ns */
    SS_EVENT_ALLOC = 5             /* uprobes on the target's libc malloc/calloc/realloc, sampled by
                                      bytes in the kernel (a BPF filter: CAP_BPF + CAP_PERFMON),
                                      one sample every `period` bytes on average (Poisson); weight:
                                      estimated bytes, `instructions`: estimated allocations.
                                      PID targets, user frames only */
};

enum ss_kernel_mode {
    SS_KERNEL_AUTO = -1,  /* kernel frames when permitted, user-only otherwise (stats say which) */
    SS_KERNEL_NO = 0,
    SS_KERNEL_YES = 1     /* fail with EACCES when kernel frames are not permitted */
};

enum ss_unwind {
    SS_UNWIND_AUTO = 0,   /* CFI (.eh_frame) where the module has it, the frame pointer elsewhere */
    SS_UNWIND_FP = 1,     /* the kernel's frame-pointer chain + the leaf-caller fix-up only */
    SS_UNWIND_CFI = 2     /* CFI only: a frame without CFI cuts the stack (SS_CUT_NO_UNWIND_INFO) */
};

typedef struct ss_options {
    int32_t target_kind;        /* enum ss_target_kind */
    int32_t pid;                /* SS_TARGET_PID: the process (its tgid); 0 = the calling process */
    const char *cgroup_path;    /* SS_TARGET_CGROUP: e.g. /sys/fs/cgroup/kubepods/... */
    int32_t event;              /* enum ss_event */
    int32_t frequency_hz;       /* cpu-clock samples per second per thread (e.g. 99, 999) */
    int64_t period;             /* fixed-period events: one sample every `period` events;
                                   SS_EVENT_ALLOC: the mean bytes between samples */
    int32_t kernel_mode;        /* enum ss_kernel_mode */
    int32_t per_thread;         /* 1: stacks are counted per thread (tid is part of the key) */
    int32_t follow_children;    /* 1: also sample processes the target forks (perf record -- CMD) */
    int32_t max_depth;          /* frames kept per stack (1..512); deeper stacks are truncated */
    int32_t ring_pages;         /* data pages per ring buffer, a power of two (0 = default 64) */
    int32_t rescan_ms;          /* /proc/PID/task rescan period, backstop for missed FORKs (0 = 100) */
    int64_t table_bytes;        /* memory cap of the stack table (0 = 64 MiB); overflow is counted */
    int32_t unwind;             /* enum ss_unwind (0 = AUTO) */
    int32_t stack_bytes;        /* user stack copied per sample for unwinding, multiple of 8 in
                                   64..65528 (0 = default SS_DEFAULT_STACK_BYTES; FP mode: 64) */
    int64_t unwind_cache_bytes; /* memory cap of the compiled unwind tables, >= 0 (0 = 64 MiB);
                                   least recently used tables are evicted to stay under it */
} ss_options;

#define SS_DEFAULT_STACK_BYTES 16384
#define SS_DEFAULT_UNWIND_CACHE_BYTES ((int64_t)64 << 20)

/* ss_options with defaults: PID target 0, cpu-clock 999 Hz, kernel AUTO, per_thread 1,
 * follow_children 1, max_depth 127, unwind AUTO, defaults above for the rest. With unwinding
 * (AUTO, CFI) ring_pages 0 means 128 pages: a sample carries stack_bytes of stack. */
void ss_options_init(ss_options *opts);

/* ---- session lifecycle ---------------------------------------------------------------- */

typedef struct ss_session ss_session;

int32_t ss_api_version(void);

/* Opens the perf events and starts the reader thread. Returns NULL on failure with *err_code
 * set to a negative errno (-EACCES, -EPERM, -ESRCH, -EMFILE, -ENOENT, -EINVAL, -ENOSYS...) and
 * err filled with a message naming the cause and the fix. */
ss_session *ss_open(const ss_options *opts, int32_t *err_code, char *err, size_t err_len);

/* Stops sampling (events disabled, reader thread joined after a final drain of the rings).
 * Idempotent. Counted stacks stay available to ss_drain. */
int32_t ss_stop(ss_session *s);

/* Stops if needed and frees every fd, mapping, thread and byte the session holds. */
void ss_close(ss_session *s);

/* 1 while at least one target task is alive (for a PID target: the process has not exited);
 * 0 once the exit was read and the events of the exited tasks are closed. */
int32_t ss_target_alive(const ss_session *s);

/* ---- draining ------------------------------------------------------------------------- */

/*
 * Serialises everything counted since the previous drain into buf and resets those counts.
 * Returns the number of bytes written (>= 0), or -ENOSPC when cap is too small; then nothing is
 * lost and *needed (if not NULL) holds the size required. Native byte order (little-endian on
 * x86-64 and arm64). The buffer is a sequence of records, each 8-byte aligned:
 *
 *   struct ss_record_header { uint16_t type; uint16_t flags; uint32_t size; }  size incl. header
 *
 * type SS_REC_STACK:  header; uint32_t pid; uint32_t tid (0 unless per_thread);
 *                     uint64_t count (samples); uint64_t weight (sum of periods: ns for cpu-clock;
 *                     OFF_CPU: ns off CPU; WALL: ns on CPU (cpu-clock periods) + ns off CPU;
 *                     ALLOC: estimated bytes allocated, s / (1 - exp(-s/period)) per sample of
 *                     an allocation of s bytes);
 *                     uint64_t instructions (sum; 0 unless stats.instructions_available;
 *                     ALLOC: estimated allocations, 1 / (1 - exp(-s/period)) per sample);
 *                     uint16_t depth; uint16_t kernel_depth; uint8_t cut (enum ss_cut_reason,
 *                     SS_CUT_NONE unless truncated); uint8_t reserved[3];
 *                     uint64_t ip[depth]   leaf first; the first kernel_depth entries are kernel
 *                                          addresses, the rest user addresses. No PERF_CONTEXT
 *                                          markers. The leaf-caller fix-up is already applied.
 *                     flags: SS_STACK_TRUNCATED when the chain does not reach its root (cut at
 *                     max_depth, or unwinding stopped early; cut says why).
 * type SS_REC_COMM:   header; uint32_t pid; uint32_t tid; char name[16] (NUL-padded)
 *                     flags: SS_COMM_EXEC when the name changed through exec.
 * type SS_REC_MMAP:   header; uint32_t pid; uint32_t reserved; uint64_t start; uint64_t len;
 *                     uint64_t pgoff; uint8_t build_id_len (0 = unknown); uint8_t build_id[20];
 *                     uint8_t reserved2[3]; uint32_t path_len; char path[path_len] (no NUL),
 *                     padding to 8. Executable mappings only: those present when the process was
 *                     attached (from /proc/PID/maps) and those created later (PERF_RECORD_MMAP2).
 * type SS_REC_EXIT:   header; uint32_t pid; uint32_t tid.
 *
 * Readers skip record types they do not know (size says how far).
 */
int64_t ss_drain(ss_session *s, uint8_t *buf, int64_t cap, int64_t *needed);

enum ss_record_type { SS_REC_STACK = 1, SS_REC_COMM = 2, SS_REC_MMAP = 3, SS_REC_EXIT = 4 };
enum ss_record_flags { SS_STACK_TRUNCATED = 1, SS_COMM_EXEC = 2 };

/* Why a stack does not reach the root (STACK record `cut`, ss_stats cut_* counters). */
enum ss_cut_reason {
    SS_CUT_NONE = 0,
    SS_CUT_DEPTH = 1,           /* max_depth / kernel.perf_event_max_stack reached */
    SS_CUT_STACK_COPY = 2,      /* the next frame lies beyond the stack_bytes copied */
    SS_CUT_NO_UNWIND_INFO = 3,  /* no CFI and no usable frame pointer (or CFI mode) */
    SS_CUT_CORRUPT = 4          /* a return address that is not code, or a stack not growing up */
};

/* ---- statistics ----------------------------------------------------------------------- */

/* Cumulative since ss_open (never reset by ss_drain). */
typedef struct ss_stats {
    uint64_t samples;            /* samples counted into the table */
    uint64_t lost;               /* samples the kernel dropped (PERF_RECORD_LOST) */
    uint64_t throttled;          /* PERF_RECORD_THROTTLE events */
    uint64_t table_overflow;     /* samples not counted because the table hit table_bytes */
    uint64_t truncated;          /* stacks cut at max_depth */
    uint64_t leaf_fixups;        /* leaf callers restored from the sampled user stack */
    uint64_t threads_attached;   /* events opened over the session (existing + new threads) */
    uint64_t threads_exited;     /* events closed because their thread exited */
    uint64_t attach_failures;    /* threads that vanished or refused between discovery and open */
    uint64_t table_bytes;        /* memory the table holds now */
    uint32_t open_fds;           /* perf fds open now */
    int32_t kernel_frames;       /* 1 if kernel frames are being captured */
    int32_t instructions_available; /* 1 if a hardware instructions counter is grouped with samples */
    int32_t reserved;
    uint64_t unwound;            /* samples whose user stack was unwound from the stack copy */
    uint64_t cut_stack_copy;     /* stacks cut: SS_CUT_STACK_COPY */
    uint64_t cut_no_unwind_info; /* stacks cut: SS_CUT_NO_UNWIND_INFO */
    uint64_t cut_corrupt;        /* stacks cut: SS_CUT_CORRUPT */
    uint64_t cfi_frames;         /* frames unwound by CFI */
    uint64_t fp_frames;          /* frames unwound by the frame pointer (modules without CFI) */
    uint64_t unwind_modules;     /* unwind tables compiled (again after an eviction, if needed) */
    uint64_t unwind_no_cfi;      /* modules without usable .eh_frame (unreadable, none, over the cap) */
    uint64_t unwind_table_bytes; /* memory the compiled unwind tables hold now */
    int32_t unwind;              /* enum ss_unwind in effect */
    int32_t stack_bytes;         /* stack bytes copied per sample */
    uint64_t offcpu_intervals;   /* OFF_CPU/WALL: off-CPU intervals measured (switch-out to the
                                    thread's next switch-in, or to a drain while still off CPU) */
    uint64_t offcpu_unmatched;   /* OFF_CPU/WALL: switch-outs never followed by a switch-in while
                                    sampled (the thread exited, the session stopped, a record was
                                    lost); their time up to the last drain is counted */
    uint64_t unwind_tables;      /* compiled unwind tables held now (one per module, by build-id) */
    uint64_t unwind_evictions;   /* tables evicted (least recently used) to stay under the cap */
    uint64_t unwind_cache_bytes; /* the cap in effect (unwind_cache_bytes option) */
    uint64_t unwind_debug_frame_tables; /* tables compiled from .debug_frame (module or debug file) */
    uint64_t alloc_unprobed;     /* ALLOC: processes that exec'd an image with no dynamic loader (a
                                    static binary): no shared libc, their allocations are not seen */
    uint64_t exec_loading;       /* samples taken while an exec loaded the new image (after its COMM
                                    record, before its first instruction): kernel frames only, not
                                    unwound (the user registers were the old image's) */
} ss_stats;

void ss_get_stats(const ss_session *s, ss_stats *out);

/* ---- recorded samples: unwinding them again (benchmarks) --------------------------------- */

/* Keeps a copy (registers, stack bytes, the kernel's chain) of the next max_samples samples
 * whose user stack is unwound (AUTO, CFI; -EINVAL in FP mode), for ss_unwind_captured. May be
 * called while sampling; each kept sample holds up to stack_bytes of memory until ss_close. */
int32_t ss_capture(ss_session *s, int32_t max_samples);

/* Samples kept so far. */
int32_t ss_captured(const ss_session *s);

/* Unwinds captured sample i again, as the reader thread did when it was taken (the same tables
 * and mappings, the leaf-caller fix-up aside): writes up to max addresses, leaf first, kernel
 * frames first, into out and returns how many, with *cut the enum ss_cut_reason. Only after
 * ss_stop (-EBUSY before); -ERANGE for no such sample; -ESRCH when its process's mappings were
 * not known at the stop. A replay counts in ss_stats' unwinding counters like a live sample. */
int32_t ss_unwind_captured(ss_session *s, int32_t i, uint64_t *out, int32_t max, int32_t *cut);

/* ---- launching a command ---------------------------------------------------------------- */

/* Forks and prepares argv[0] (searched in PATH) but holds it before exec until ss_resume, so a
 * session can be attached to the returned pid before the command runs a single instruction.
 * stdin/stdout/stderr are inherited. Returns the pid, or a negative errno with err filled. */
int32_t ss_spawn(const char *const *argv, char *err, size_t err_len);

/* Lets a process held by ss_spawn exec. */
int32_t ss_resume(int32_t pid);

/* Waits for a child started by ss_spawn; returns its exit status as a shell does (code, or
 * 128+signal), or a negative errno. timeout_ms < 0 waits forever; 0 polls; returns -EAGAIN
 * when still running at the timeout. */
int32_t ss_wait(int32_t pid, int32_t timeout_ms);

/* Human-readable text for a negative code from any function above. */
const char *ss_strerror(int32_t code);

#ifdef __cplusplus
}
#endif

#endif /* STACKSTREAM_H */
