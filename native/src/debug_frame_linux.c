/*
 * debug_frame_linux.c - CFI for code that .eh_frame does not cover: the .debug_frame section of
 * the module itself (an unstripped binary built without unwind tables) or of its separate debug
 * file, found as gdb finds it: by build-id (/usr/lib/debug/.build-id/xx/rest.debug) or by the
 * module's .gnu_debuglink name (next to the module, in its .debug/ directory, or under
 * /usr/lib/debug plus the module's directory). Paths are tried inside the target's root first
 * (/proc/PID/root), then in ours. A debug file reached by its debuglink name is used only when its
 * build-id is the module's (when the module has one), so a stale debug file gives no rows rather
 * than wrong ones. Compressed sections (SHF_COMPRESSED, as some distributions ship) are skipped.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "session.h"

#define PATH_CAP 4200

typedef struct mapped {
    const uint8_t *f;
    size_t size;
    char path[PATH_CAP];   /* the path that opened (for the build-id check) */
} mapped;

static int map_in_root(int pid, const char *path, mapped *out)
{
    snprintf(out->path, sizeof(out->path), "/proc/%d/root%s", pid, path);
    int fd = open(out->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(out->path, sizeof(out->path), "%s", path);
        fd = open(out->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    }
    struct stat st;
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        return -1;
    }
    void *f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f == MAP_FAILED)
        return -1;
    out->f = f;
    out->size = (size_t)st.st_size;
    return 0;
}

static void unmap(mapped *m)
{
    munmap((void *)m->f, m->size);
}

/* The section header named name, bounds-checked against the file, or NULL. */
static const Elf64_Shdr *section(const uint8_t *f, size_t size, const char *name)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)f;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff >= size || (eh->e_shoff & 7) ||
        (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum || eh->e_shstrndx >= eh->e_shnum)
        return NULL;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(const void *)(f + eh->e_shoff);
    const Elf64_Shdr *strs = &sh[eh->e_shstrndx];
    size_t want = strlen(name) + 1;
    if (strs->sh_offset >= size || strs->sh_size > size - strs->sh_offset)
        return NULL;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_name >= strs->sh_size || strs->sh_size - sh[i].sh_name < want ||
            memcmp(f + strs->sh_offset + sh[i].sh_name, name, want) != 0)
            continue;
        if (sh[i].sh_type != SHT_PROGBITS || sh[i].sh_offset >= size ||
            sh[i].sh_size > size - sh[i].sh_offset)
            return NULL;
        return &sh[i];
    }
    return NULL;
}

/* Compiles the .debug_frame of the file at path, if it has one (and, with want_id, if its
 * build-id is want_id). 0 when rows came out. */
static int compile_from(int pid, const char *path, const uint8_t *want_id, int want_len,
                        size_t max_rows, cfi_table *out)
{
    mapped m;
    if (map_in_root(pid, path, &m) < 0)
        return -1;
    int rc = -1;
    const Elf64_Shdr *sh = section(m.f, m.size, ".debug_frame");
    if (sh && !(sh->sh_flags & SHF_COMPRESSED)) {
        uint8_t id[20];
        if (want_len == 0 || (elf_build_id(m.path, id) == want_len && memcmp(id, want_id, (size_t)want_len) == 0)) {
            if (cfi_compile_section(m.f + sh->sh_offset, sh->sh_size, sh->sh_addr, max_rows, 1, out) == 0 &&
                out->n > 0)
                rc = 0;
            else
                cfi_free(out);
        }
    }
    unmap(&m);
    return rc;
}

int df_load(int pid, const char *path, const uint8_t *build_id, int build_id_len, size_t max_rows,
            cfi_table *out)
{
    memset(out, 0, sizeof(*out));
    char cand[PATH_CAP];
    /* the module itself: an unstripped binary built without unwind tables */
    if (compile_from(pid, path, NULL, 0, max_rows, out) == 0)
        return 0;
    if (build_id_len > 1 && build_id_len <= 20) {
        char hex[41];
        for (int i = 0; i < build_id_len; i++)
            snprintf(hex + 2 * i, 3, "%02x", build_id[i]);
        snprintf(cand, sizeof(cand), "/usr/lib/debug/.build-id/%.2s/%s.debug", hex, hex + 2);
        if (compile_from(pid, cand, NULL, 0, max_rows, out) == 0)
            return 0;
    }
    mapped m;
    if (map_in_root(pid, path, &m) < 0)
        return -1;
    char link[256] = "";
    const Elf64_Shdr *sh = section(m.f, m.size, ".gnu_debuglink");
    if (sh) {
        size_t n = strnlen((const char *)m.f + sh->sh_offset, sh->sh_size);
        if (n > 0 && n < sizeof(link) && n < sh->sh_size && !memchr(m.f + sh->sh_offset, '/', n))
            memcpy(link, m.f + sh->sh_offset, n + 1);
    }
    unmap(&m);
    if (!link[0])
        return -1;
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path) : 0;
    static const char *const forms[] = { "%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s" };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(cand, sizeof(cand), forms[i], dir_len, path, link);
        if (strcmp(cand, path) != 0 &&
            compile_from(pid, cand, build_id, build_id_len, max_rows, out) == 0)
            return 0;
    }
    return -1;
}
