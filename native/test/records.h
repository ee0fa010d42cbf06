/* records.h - test helpers: walking an ss_drain buffer, fixture symbols, fd counting. */
#ifndef SS_TEST_RECORDS_H
#define SS_TEST_RECORDS_H

#include <stddef.h>
#include <stdint.h>

typedef struct t_stack {
    uint32_t pid, tid;
    uint64_t count, weight, instructions;
    uint16_t depth, kernel_depth, flags;
    const uint64_t *ips;
} t_stack;

typedef struct t_visitor {
    void (*stack)(const t_stack *s, void *arg);
    void (*comm)(uint32_t pid, uint32_t tid, const char *name, int exec, void *arg);
    void (*mmap)(uint32_t pid, uint64_t start, uint64_t len, uint64_t pgoff, const uint8_t *id,
                 int id_len, const char *path, size_t path_len, void *arg);
    void (*exit)(uint32_t pid, uint32_t tid, void *arg);
    void *arg;
} t_visitor;

/* Walks a drain buffer; returns the record count, or -1 if the layout is broken. */
int t_walk(const uint8_t *buf, size_t len, const t_visitor *v);

/* Function symbols of an ELF file (via nm): start and end of name, 0 if absent. */
int t_symbol(const char *file, const char *name, uint64_t *start, uint64_t *end);

/* Open file descriptors of this process. */
int t_count_fds(void);

struct ss_options;
struct ss_session;

/* Spawns argv held before exec and opens a session on it with o (o->pid is set to the child);
 * returns the session with *pid, or NULL (child killed and reaped, the reason on stderr). The
 * caller resumes the child. */
struct ss_session *t_spawn_session(const char *const *argv, struct ss_options *o, int32_t *pid);

/* Path of a fixture built by the Makefile (SS_FIXTURES). */
const char *t_fixture(const char *name);

#endif
