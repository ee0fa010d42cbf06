/*
 * unwind_tables_linux.c - the unwind tables of the session's modules: one per file (keyed by
 * build-id, else device + inode), shared by every process that maps it, compiled from the
 * file's .eh_frame on the first sample that needs it (reader thread). Memory is capped
 * (ss_options.unwind_cache_bytes over all tables): when a new table does not fit, the least
 * recently used tables are evicted (compiled again if needed later; ss_stats.unwind_evictions),
 * and a table larger than the whole cap keeps the rows that fit (counted in unwind_no_cfi: its
 * other frames fall back to the frame pointer). A code address that .eh_frame does not cover is
 * looked up, once per module, in .debug_frame (debug_frame_linux.c: the module's own, or its debug
 * file's), kept as a second table under the same cap.
 *
 * Two kinds of code have no FDE but a known unwinding: the [vdso], whose image is the kernel's
 * and the same in every 64-bit process, so its .eh_frame is read from the collector's own copy
 * (when the target's mapping has the same size); and a module's ELF entry point when no FDE
 * covers it (ld.so's _start, which calls _dl_start with the kernel's initial stack: its "return
 * address" would be argc), which is the outermost frame by definition: the kernel jumps there.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "session.h"

#define MAX_LOADS 8
#define ENTRY_SPAN 256     /* bytes after e_entry taken as the entry function when no FDE says */

/* The rule of a process entry point: nothing called it. */
static const cfi_row ENTRY_ROW = { 0, 8, -8, 0, CFI_CFA_SP, CFI_RA_UNDEFINED, { 0, 0 } };

#define HOT_BITS 8
#define HOT_ROWS (1 << HOT_BITS)

struct cfi_module {
    struct cfi_module *next;
    uint8_t key[24];
    uint8_t key_len;
    int8_t state;          /* 0 not loaded (yet, or evicted), 1 table ready, -1 no usable CFI */
    uint64_t last_use;     /* ss_session.unwind_clock at the last lookup */
    int pid;               /* a process that maps it: its /proc/PID/root finds the file */
    char *path;
    cfi_table table;
    int8_t dstate;         /* .debug_frame: 0 not looked for, 1 table ready, -1 none */
    cfi_table dtable;
    struct { uint64_t off, filesz, vaddr; } load[MAX_LOADS];
    int nload;
    uint64_t entry, entry_end;   /* the entry function no FDE covers: [entry, entry_end), or 0 */
    /* The rows of recent lookups, direct-mapped by address (hot_slot), so a return address seen
     * before costs one cache line instead of a binary search through a table of ~10^5 rows whose
     * lines the rest of the machine evicted since the last sweep (at 99 Hz the reader wakes every
     * 200 ms: cfi_find was a twentieth of the sidecar's CPU on python3). Cleared with the tables. */
    struct { uint64_t key; const cfi_row *row; } hot[HOT_ROWS];   /* key: vaddr + 1, 0 = empty */
};

static size_t hot_slot(uint64_t vaddr)
{
    return (size_t)((vaddr * 0x9e3779b97f4a7c15ull) >> (64 - HOT_BITS));
}

cfi_module *ut_module(ss_session *s, int pid, const uint8_t *build_id, int build_id_len,
                      uint64_t dev, uint64_t ino, const char *path, size_t path_len,
                      uint64_t map_len)
{
    int vdso = path_len == 6 && memcmp(path, "[vdso]", 6) == 0;
    if (s->o.unwind == SS_UNWIND_FP || path_len == 0 || (path[0] != '/' && !vdso))
        return NULL;       /* anonymous memory (JIT), [stack]...: frame pointers there */
    uint8_t key[24];
    uint8_t key_len;
    if (vdso) {            /* by size: a vdso of another size is not our image */
        key[0] = 'v';
        memcpy(key + 1, &map_len, 8);
        key_len = 9;
    } else if (build_id_len > 0) {
        key[0] = 'b';
        memcpy(key + 1, build_id, (size_t)build_id_len);
        key_len = (uint8_t)(1 + build_id_len);
    } else if (ino != 0) {
        key[0] = 'i';
        memcpy(key + 1, &dev, 8);
        memcpy(key + 9, &ino, 8);
        key_len = 17;
    } else {
        return NULL;
    }
    for (cfi_module *m = s->modules; m; m = m->next) {
        if (m->key_len == key_len && memcmp(m->key, key, key_len) == 0)
            return m;
    }
    cfi_module *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->path = strndup(path, path_len);
    if (!m->path) {
        free(m);
        return NULL;
    }
    memcpy(m->key, key, key_len);
    m->key_len = key_len;
    m->pid = pid;
    m->next = s->modules;
    s->modules = m;
    return m;
}

static int open_module(const cfi_module *m)
{
    char full[4200];
    snprintf(full, sizeof(full), "/proc/%d/root%s", m->pid, m->path);
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    return fd;
}

/* File offset of module address vaddr (inside a PT_LOAD), or -1. */
static int64_t vaddr_to_off(const cfi_module *m, uint64_t vaddr, uint64_t *room)
{
    for (int i = 0; i < m->nload; i++) {
        if (vaddr >= m->load[i].vaddr && vaddr - m->load[i].vaddr < m->load[i].filesz) {
            *room = m->load[i].filesz - (vaddr - m->load[i].vaddr);
            return (int64_t)(m->load[i].off + (vaddr - m->load[i].vaddr));
        }
    }
    return -1;
}

/* Finds .eh_frame: by section header, else through PT_GNU_EH_FRAME (.eh_frame_hdr). */
static int find_eh_frame(cfi_module *m, const uint8_t *f, size_t size, const uint8_t **sec,
                         size_t *len, uint64_t *vaddr)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)f;
    if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > size || (eh->e_phoff & 7) ||
        (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
        return -1;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(const void *)(f + eh->e_phoff);
    uint64_t hdr_vaddr = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD && m->nload < MAX_LOADS) {
            m->load[m->nload].off = ph[i].p_offset;
            m->load[m->nload].filesz = ph[i].p_filesz;
            m->load[m->nload].vaddr = ph[i].p_vaddr;
            m->nload++;
        } else if (ph[i].p_type == PT_GNU_EH_FRAME) {
            hdr_vaddr = ph[i].p_vaddr;
        }
    }
    /* header tables must be aligned (the ELF spec says so; a corrupt file may not be) */
    if (eh->e_shentsize == sizeof(Elf64_Shdr) && eh->e_shoff < size && !(eh->e_shoff & 7) &&
        (size - eh->e_shoff) / sizeof(Elf64_Shdr) >= eh->e_shnum && eh->e_shstrndx < eh->e_shnum) {
        const Elf64_Shdr *sh = (const Elf64_Shdr *)(const void *)(f + eh->e_shoff);
        const Elf64_Shdr *strs = &sh[eh->e_shstrndx];
        for (int i = 0; i < eh->e_shnum && strs->sh_offset < size; i++) {
            if (sh[i].sh_name >= strs->sh_size || sh[i].sh_type == SHT_NOBITS ||
                strs->sh_offset + sh[i].sh_name + 10 > size)
                continue;
            if (memcmp(f + strs->sh_offset + sh[i].sh_name, ".eh_frame", 10) == 0 &&
                sh[i].sh_offset < size && sh[i].sh_size <= size - sh[i].sh_offset) {
                *sec = f + sh[i].sh_offset;
                *len = sh[i].sh_size;
                *vaddr = sh[i].sh_addr;
                return 0;
            }
        }
    }
    uint64_t room;
    int64_t off = hdr_vaddr ? vaddr_to_off(m, hdr_vaddr, &room) : -1;
    if (off < 0 || (uint64_t)off + 8 > size || room < 8 || f[off] != 1)
        return -1;
    /* eh_frame_ptr, encoded as the header says (pcrel sdata4 in practice) */
    uint8_t enc = f[off + 1];
    int32_t rel;
    if ((enc & 0x0f) != 0x0b || (enc & 0x70) != 0x10)
        return -1;
    memcpy(&rel, f + off + 4, 4);
    uint64_t ehv = hdr_vaddr + 4 + (uint64_t)(int64_t)rel;
    int64_t eoff = vaddr_to_off(m, ehv, &room);
    if (eoff < 0 || (uint64_t)eoff >= size)
        return -1;
    *sec = f + eoff;
    *len = room < size - (uint64_t)eoff ? room : size - (uint64_t)eoff;
    *vaddr = ehv;
    return 0;
}

int ut_locate_eh_frame(const uint8_t *f, size_t size, const uint8_t **sec, size_t *len,
                       uint64_t *vaddr)
{
    cfi_module m;
    memset(&m, 0, sizeof(m));
    return find_eh_frame(&m, f, size, sec, len, vaddr);
}

static size_t cache_cap(const ss_session *s)
{
    return s->o.unwind_cache_bytes ? (size_t)s->o.unwind_cache_bytes
                                   : (size_t)SS_DEFAULT_UNWIND_CACHE_BYTES;
}

static void publish_cache_stats(ss_session *s, int64_t tables_delta)
{
    __atomic_store_n(&s->st.unwind_table_bytes, s->unwind_bytes, __ATOMIC_RELAXED);
    if (tables_delta > 0)
        STAT_ADD(s, unwind_tables, (uint64_t)tables_delta);
    else if (tables_delta < 0)
        __atomic_fetch_sub(&s->st.unwind_tables, (uint64_t)-tables_delta, __ATOMIC_RELAXED);
}

/* Evicts least recently used ready tables (never keep) until need more bytes fit under the cap.
 * A module whose table is evicted is compiled again on its next use. */
static void make_room(ss_session *s, size_t need, const cfi_module *keep)
{
    size_t cap = cache_cap(s);
    while (s->unwind_bytes + need > cap) {
        cfi_module *lru = NULL;
        for (cfi_module *m = s->modules; m; m = m->next) {
            if (m != keep && (m->state == 1 || m->dstate == 1) && (!lru || m->last_use < lru->last_use))
                lru = m;
        }
        if (!lru)
            return;
        int held = (lru->state == 1) + (lru->dstate == 1);
        s->unwind_bytes -= (lru->table.n + lru->dtable.n) * sizeof(cfi_row);
        cfi_free(&lru->table);
        cfi_free(&lru->dtable);
        lru->state = 0;
        lru->dstate = 0;
        lru->nload = 0;
        memset(lru->hot, 0, sizeof(lru->hot));
        STAT_ADD(s, unwind_evictions, 1);
        publish_cache_stats(s, -held);
    }
}

/* The entry function of image f when no FDE covers e_entry: up to the next FDE, at most
 * ENTRY_SPAN bytes. Only executables and shared objects that can be run (ld.so, libc) have one. */
static void find_entry(cfi_module *m, const uint8_t *f, size_t size)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)f;
    m->entry = m->entry_end = 0;
    if (size < sizeof(*eh) || (eh->e_type != ET_EXEC && eh->e_type != ET_DYN) || eh->e_entry == 0 ||
        eh->e_entry > UINT32_MAX - ENTRY_SPAN)
        return;
    uint64_t end = eh->e_entry + ENTRY_SPAN;
    if (m->state == 1) {
        if (cfi_find(&m->table, eh->e_entry))
            return;        /* its CFI says how (glibc's _start: return address undefined) */
        for (size_t i = 0; i < m->table.n && m->table.rows[i].pc < end; i++) {
            if (m->table.rows[i].pc > eh->e_entry) {
                end = m->table.rows[i].pc;
                break;
            }
        }
    }
    m->entry = eh->e_entry;
    m->entry_end = end;
}

/* Compiles the .eh_frame of image f[0..size) into m's table, and finds its entry function. */
static void compile_image(ss_session *s, cfi_module *m, const uint8_t *f, size_t size)
{
    const uint8_t *sec;
    size_t len;
    uint64_t vaddr;
    size_t cap_rows = cache_cap(s) / sizeof(cfi_row);
    if (cap_rows > 0 && find_eh_frame(m, f, size, &sec, &len, &vaddr) == 0 &&
        cfi_compile(sec, len, vaddr, cap_rows, &m->table) == 0 && m->table.n > 0) {
        m->state = 1;
        make_room(s, m->table.n * sizeof(cfi_row), m);
        s->unwind_bytes += m->table.n * sizeof(cfi_row);
        publish_cache_stats(s, 1);
        STAT_ADD(s, unwind_modules, 1);
        if (m->table.truncated)
            STAT_ADD(s, unwind_no_cfi, 1);
    } else {
        STAT_ADD(s, unwind_no_cfi, 1);
    }
    find_entry(m, f, size);
}

static int own_vdso(const proc_map *pm, void *arg)
{
    if (pm->path_len == 6 && memcmp(pm->path, "[vdso]", 6) == 0) {
        *(uint64_t *)arg = pm->end - pm->start;
        return 1;
    }
    return 0;
}

/* The vdso, from the collector's own mapping when it has the size of the target's. */
static void load_vdso(ss_session *s, cfi_module *m)
{
    uint64_t want, have = 0;
    memcpy(&want, m->key + 1, 8);
    const uint8_t *image = (const uint8_t *)(uintptr_t)getauxval(AT_SYSINFO_EHDR);
    if (image)
        proc_exec_maps(getpid(), own_vdso, &have);
    if (!image || have == 0 || have != want) {
        STAT_ADD(s, unwind_no_cfi, 1);
        return;
    }
    compile_image(s, m, image, (size_t)have);
}

static void load_module(ss_session *s, cfi_module *m)
{
    m->state = -1;
    m->nload = 0;
    if (m->key[0] == 'v') {
        load_vdso(s, m);
        return;
    }
    int fd = open_module(m);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr) ||
        !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        STAT_ADD(s, unwind_no_cfi, 1);
        return;
    }
    size_t size = (size_t)st.st_size;
    void *f = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f == MAP_FAILED) {
        STAT_ADD(s, unwind_no_cfi, 1);
        return;
    }
    compile_image(s, m, f, size);
    munmap(f, size);
}

/* The module's .debug_frame table, looked for on the first address .eh_frame does not cover. */
static void load_debug_frame(ss_session *s, cfi_module *m)
{
    m->dstate = -1;
    size_t cap_rows = cache_cap(s) / sizeof(cfi_row);
    int id_len = m->key[0] == 'b' ? m->key_len - 1 : 0;
    if (cap_rows == 0 || df_load(m->pid, m->path, m->key + 1, id_len, cap_rows, &m->dtable) < 0)
        return;
    m->dstate = 1;
    make_room(s, m->dtable.n * sizeof(cfi_row), m);
    s->unwind_bytes += m->dtable.n * sizeof(cfi_row);
    publish_cache_stats(s, 1);
    STAT_ADD(s, unwind_debug_frame_tables, 1);
}

const cfi_row *ut_find(ss_session *s, const ss_mapping *map, uint64_t pc)
{
    cfi_module *m = map->mod;
    if (!m)
        return NULL;
    if (m->state == 0)
        load_module(s, m);
    m->last_use = ++s->unwind_clock;
    uint64_t file_off = pc - map->start + map->pgoff, vaddr = 0;
    int in_load = 0;
    for (int i = 0; i < m->nload && !in_load; i++) {
        if (file_off >= m->load[i].off && file_off - m->load[i].off < m->load[i].filesz) {
            vaddr = file_off - m->load[i].off + m->load[i].vaddr;
            in_load = 1;
        }
    }
    if (!in_load)
        return NULL;
    size_t slot = hot_slot(vaddr);
    if (m->hot[slot].key == vaddr + 1)
        return m->hot[slot].row;
    const cfi_row *row = m->state == 1 ? cfi_find(&m->table, vaddr) : NULL;
    if (!row && m->dstate == 0)
        load_debug_frame(s, m);
    if (!row && m->dstate == 1)
        row = cfi_find(&m->dtable, vaddr);
    if (!row && m->entry && vaddr >= m->entry && vaddr < m->entry_end)
        row = &ENTRY_ROW;
    m->hot[slot].key = vaddr + 1;
    m->hot[slot].row = row;
    return row;
}

void ut_free(ss_session *s)
{
    for (cfi_module *m = s->modules, *n; m; m = n) {
        n = m->next;
        cfi_free(&m->table);
        cfi_free(&m->dtable);
        free(m->path);
        free(m);
    }
    s->modules = NULL;
    s->unwind_bytes = 0;
}
