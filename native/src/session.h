/*
 * session.h - the session object shared by the Linux files (private).
 *
 * Ownership and threads: ss_open builds the session and attaches the initial tasks on the caller's
 * thread, then starts the reader thread. From then on only the reader thread touches the event
 * set, the process table and the rings; the caller's thread only drains (table and pre/post
 * buffers under `mu`), reads stats (atomics) and stops the reader.
 */
#ifndef SS_SESSION_H
#define SS_SESSION_H

#ifndef __linux__
#error "libstackstream samples through perf_event_open: Linux only"
#endif
#include <linux/perf_event.h>
#include <pthread.h>

#include "alloc_probe.h"
#include "internal.h"
#include "intmap.h"

typedef struct ss_pev {
    int fd;              /* sampling event (the group leader when instructions are counted) */
    int insn_fd;         /* hardware instructions counter in the group, or -1 */
    int pid, tid, cpu;   /* per-thread: pid/tid, cpu -1; cgroup: pid/tid 0, cpu */
    void *ring;          /* metadata page + data pages */
    size_t ring_len;
    uint64_t data_size;
    uint64_t last_insn;  /* group value at the previous sample */
    int dead;            /* thread exited: close once its ring is drained */
    int sw_fd;           /* WALL: the context-switch event writing into this ring, or -1 */
    uint64_t sw_id;      /* WALL: its sample id (PERF_SAMPLE_ID tells its samples apart) */
    struct oc_pending *pending;  /* OFF_CPU/WALL: the stack of the last switch-out not yet
                                    matched by a switch-in (offcpu_linux.c) */
    int ap_fd[AP_FUNCS];     /* ALLOC: the uprobe events of malloc (= fd), calloc, realloc, or -1 */
    int ap_link[AP_FUNCS];   /* ALLOC: their links to the byte sampler, or -1 */
    uint64_t ap_id[AP_FUNCS];/* ALLOC: their sample ids (PERF_SAMPLE_ID) */
} ss_pev;

typedef struct ss_process {
    int pid;
    int threads;         /* attached live threads (PID target) */
    int gone;            /* exited */
    ss_mapset maps;      /* executable mappings (leaf fix-up) */
    uint8_t execd;       /* ALLOC: exec'd while sampled */
    uint8_t libc_seen;   /* ALLOC: a C library mapped since (else its allocations went unseen) */
    uint8_t exec_state;  /* enum ss_exec_state */
} ss_process;

/* Where a process is in an exec (targets_linux.c sets it, the reader acts on it). */
enum ss_exec_state {
    SS_EXEC_NONE = 0,
    SS_EXEC_HELD = 1,    /* held by ss_spawn when attached, not exec'd yet: its samples are the
                            spawning code's and the old image's teardown, not the command's */
    SS_EXEC_LOADING = 2  /* exec'd (COMM record), the new image has not run yet: the kernel still
                            loads it with the old image's user registers, which mean nothing now */
};

#define VERIFY_CACHE 4096
#define CAP_REGS 4       /* user registers kept per captured sample (x86-64 uses 3) */

struct cap_rec;

/* Samples kept for replay (capture_linux.c): appended by the reader thread only. */
typedef struct ss_captures {
    int32_t want;        /* samples asked for (atomic, set by ss_capture) */
    int32_t n;           /* kept so far (atomic) */
    struct cap_rec **recs;
    size_t cap;
    ss_process *procs;   /* mappings of the captured processes, snapshot at ss_stop */
    size_t nprocs;
} ss_captures;

typedef struct cfi_module cfi_module;

struct ss_session {
    ss_options o;
    int self_pid;
    int reader_tid;      /* never attached (self-profiling) */
    int root_pid;        /* PID target: the process asked for */
    int cgroup_fd;
    struct perf_event_attr attr;   /* template for every sampling event */
    struct perf_event_attr sw_attr;  /* WALL: the context-switch event opened beside attr */
    int kernel_frames;
    int insn;            /* 1: open an instructions counter with each event */
    int can_read_mem;    /* 1 while process_vm_readv works for call verification */
    uint16_t max_stack;  /* sample_max_stack requested from the kernel */
    int no_build_id;     /* the kernel refused attr.build_id (before 5.12) */
    int probe_cpu;       /* cgroup: a CPU to probe permissions on */
    alloc_probe *alloc;  /* ALLOC: the probed libc and the byte sampler, else NULL */

    ss_pev **ev;       /* live events */
    size_t nev, evcap;
    intmap ev_by_tid;
    intmap procs;        /* pid -> ss_process */

    pthread_t reader;
    int reader_started;
    int wake_fd;         /* eventfd: stop and flush requests */
    int stop;            /* set by ss_stop (atomic) */
    int stopped;

    pthread_mutex_t mu;  /* guards table, pre, post, flush_done */
    pthread_cond_t flushed;
    stack_table table;
    ss_bytes pre, post;
    uint64_t flush_req, flush_done;   /* atomics / under mu */

    ss_stats st;         /* counters updated with atomics */
    int alive;           /* atomic */
    int root_gone;       /* reader thread only: the root exited; alive drops once its events are closed */
    int awaiting_exec;   /* reader thread only: processes whose exec_state is not NONE */
    uint64_t next_rescan_ns;
    int sweep_ms;        /* ring sweep period of the reader while threads appear */
    int quiet_sweep_ms;  /* ... and once none has appeared for SWEEP_BUSY_NS */
    uint64_t busy_until_ns;  /* reader thread only: sweep at sweep_ms until then */
    unsigned rescans;    /* rescans done (children are scanned every CHILD_SCAN_EVERY) */

    uint8_t *scratch;    /* a wrapped record copied out of the ring (64 KiB) */
    int stack_bytes;     /* user stack copied per sample */
    cfi_module *modules; /* unwind tables, one per file (reader thread only) */
    size_t unwind_bytes; /* memory of the compiled tables */
    uint64_t unwind_clock; /* table uses so far: the least recently used table is evicted first */
    uint64_t ips[SS_MAX_DEPTH_LIMIT + 2];
    uint64_t fp_ips[SS_MAX_DEPTH_LIMIT + 2];   /* the kernel's FP chain, when unwinding ourselves */
    struct { uint32_t pid; uint64_t addr; int8_t ok; } vcache[VERIFY_CACHE];
    struct { uint64_t dev, ino; uint8_t len; uint8_t id[20]; } bcache[64];
    unsigned bcache_next;
    ss_captures cap;
};

#define STAT_ADD(s, field, n) __atomic_add_fetch(&(s)->st.field, (n), __ATOMIC_RELAXED)

/* perf_events_linux.c */
void pe_init_attr(ss_session *s);
int pe_open(ss_session *s, int pid_or_cgroup, int cpu, int tid, int pid, ss_pev **out,
            char *err, size_t err_len);
void pe_close(ss_session *s, ss_pev *e);
int pe_probe_instructions(ss_session *s, int tid);
int pe_choose_mode(ss_session *s, char *err, size_t err_len);

/* targets_linux.c */
int tg_attach_process(ss_session *s, int pid, int initial, char *err, size_t err_len);
ss_process *tg_process(ss_session *s, int pid, int create);
void tg_on_fork(ss_session *s, int pid, int ppid, int tid, int ptid);
void tg_on_exit(ss_session *s, ss_pev *e, int pid, int tid);
void tg_on_comm(ss_session *s, int pid, int tid, const char *name, int exec);
void tg_on_mmap(ss_session *s, int pid, uint64_t start, uint64_t len, uint64_t pgoff,
                const uint8_t *build_id, int build_id_len, uint32_t maj, uint32_t min,
                uint64_t ino, const char *path);
void tg_rescan(ss_session *s);
void tg_reap_dead(ss_session *s);
int tg_add_event(ss_session *s, ss_pev *e);
/* Moves p to an enum ss_exec_state, keeping s->awaiting_exec. */
void tg_set_exec_state(ss_session *s, ss_process *p, int state);
void tg_free(ss_session *s);

/* spawn_linux.c: 1 if pid was started by ss_spawn and is still held before its exec. */
int sp_held(int pid);

/* unwind_tables_linux.c */
/* The module of a mapped file or of the [vdso] (created on first sight, table compiled on first
 * use), or NULL for other memory without a file or in FP mode. map_len: the mapping's size. */
cfi_module *ut_module(ss_session *s, int pid, const uint8_t *build_id, int build_id_len,
                      uint64_t dev, uint64_t ino, const char *path, size_t path_len,
                      uint64_t map_len);
/* The CFI row for code address pc inside map, or NULL when its module has none. */
const cfi_row *ut_find(ss_session *s, const ss_mapping *map, uint64_t pc);
void ut_free(ss_session *s);
/* debug_frame_linux.c: compiles the .debug_frame of the module at path (inside pid's root) or of
 * its debug file (by build-id, else by .gnu_debuglink with a matching build-id). 0 when *out has
 * rows. */
int df_load(int pid, const char *path, const uint8_t *build_id, int build_id_len, size_t max_rows,
            cfi_table *out);
/* Finds .eh_frame in the ELF file image f[0..size): by section header, else through
 * PT_GNU_EH_FRAME. 0 and the section's bytes and virtual address, or -1. Every read is checked
 * against size (the fuzz test feeds it mutated files). */
int ut_locate_eh_frame(const uint8_t *f, size_t size, const uint8_t **sec, size_t *len,
                       uint64_t *vaddr);

/* offcpu_linux.c: off-CPU intervals, from a switch-out sample to the thread's next switch-in */
int oc_is_switch_sampling(const ss_session *s);
/* Keeps the stack of a switch-out sample at time_ns until the thread runs again. */
void oc_switch_out(ss_session *s, ss_pev *e, uint32_t pid, uint32_t tid, uint64_t time_ns,
                   const uint64_t *ips, uint16_t depth, uint16_t kernel_depth, uint16_t flags,
                   uint8_t cut);
/* The thread runs again at time_ns: its pending stack is counted with the time off CPU. */
void oc_switch_in(ss_session *s, ss_pev *e, uint64_t time_ns);
/* Counts the time of every thread still off CPU up to now_ns and restarts its interval there,
 * so a window holds the off-CPU time that passed inside it. Reader thread only. */
void oc_split_all(ss_session *s, uint64_t now_ns);
/* Forgets a pending switch-out (the thread exited or the event closes). */
void oc_forget(ss_session *s, ss_pev *e);

/* alloc_probe_linux.c: uprobes on libc's malloc/calloc/realloc, sampled by bytes in the kernel */
/* Finds the root process's libc and the functions' offsets, loads the sampler (s->alloc). */
int ap_open(ss_session *s, char *err, size_t len);
void ap_close(ss_session *s);
/* Sets the uprobe fields of attr for function kind (AP_MALLOC...). */
void ap_init_attr(const ss_session *s, struct perf_event_attr *a, int kind);
/* e->fd is the thread's malloc event (ring mapped): opens the calloc and realloc events into its
 * ring and links all three to the sampler. 0, or -errno (*open_errno set when perf_event_open
 * itself failed, err filled otherwise). */
int ap_attach(ss_session *s, ss_pev *e, int target, int cpu, unsigned long flags, int *open_errno,
              char *err, size_t len);
/* Hands the thread's uprobe fds and links (e->fd included) to the closer thread. */
void ap_detach(ss_session *s, ss_pev *e);
/* An executable mapping of p (for libc_seen). */
void ap_on_mapping(ss_process *p, const char *path, size_t len);
/* p exec'd (1) or is gone or no longer sampled (0): a process that exec'd and mapped no C library
 * since is counted in alloc_unprobed. */
void ap_on_image(ss_session *s, ss_process *p, int exec);
/* Waits until the closer has closed every fd handed to it. */
void ap_flush_closes(ss_session *s);
/* The allocation size of a sample of event id from its argument registers; -1 if not ours. */
int ap_size(const ss_pev *e, uint64_t id, uint64_t arg0, uint64_t arg1, uint64_t *size);

/* ring_reader_linux.c */
void *rr_thread(void *arg);
void rr_drain_all(ss_session *s);
/* A thread or process was just attached: sweep at sweep_ms for the next SWEEP_BUSY_NS, as more may follow. */
void rr_mark_busy(ss_session *s);
/* Unwinds one sample's user stack from its registers and stack copy into s->ips (the kernel
 * frames of res first); returns the cut reason, res describes s->ips. Reader thread, or the
 * caller's once the reader is joined (replays). */
uint8_t rr_unwind_user(ss_session *s, ss_process *p, const uint64_t *regs, const uint8_t *data,
                       uint64_t len, cc_result *res);

/* capture_linux.c */
/* Keeps a copy of one sample while a capture wants more (reader thread). */
void cap_keep(ss_session *s, uint32_t pid, const uint64_t *regs, size_t nregs, const uint64_t *raw,
              uint64_t nr, const uint8_t *stack, uint64_t stack_len);
/* Copies the mappings of the captured processes (ss_stop, before the process table goes). */
void cap_snapshot(ss_session *s);
void cap_free(ss_session *s);

uint64_t ss_now_ns(void);

#endif
