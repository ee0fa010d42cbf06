/*
 * elf_dynsym.c - the file offset of a function in an ELF64 image's dynamic symbol table, for
 * uprobes (portable). Every read is bounds-checked against the image size.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

static int in(size_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

/* The file offset of virtual address v: through the PT_LOAD segment whose file part holds it. */
static int vaddr_to_offset(const uint8_t *f, size_t size, const Elf64_Ehdr *eh, uint64_t v,
                           uint64_t *off)
{
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        uint64_t at = eh->e_phoff + (uint64_t)i * eh->e_phentsize;
        if (eh->e_phentsize < sizeof(ph) || !in(size, at, sizeof(ph)))
            return -EINVAL;
        memcpy(&ph, f + at, sizeof(ph));
        if (ph.p_type == PT_LOAD && v >= ph.p_vaddr && v - ph.p_vaddr < ph.p_filesz) {
            *off = v - ph.p_vaddr + ph.p_offset;
            return 0;
        }
    }
    return -ENOENT;
}

int elf_dynsym_offset(const uint8_t *f, size_t size, const char *name, uint64_t *off)
{
    Elf64_Ehdr eh;
    if (size < sizeof(eh) || memcmp(f, ELFMAG, SELFMAG) != 0 || f[EI_CLASS] != ELFCLASS64)
        return -EINVAL;
    memcpy(&eh, f, sizeof(eh));
    if (eh.e_shentsize < sizeof(Elf64_Shdr))
        return -EINVAL;
    size_t name_len = strlen(name);
    for (unsigned i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh, str;
        uint64_t at = eh.e_shoff + (uint64_t)i * eh.e_shentsize;
        if (!in(size, at, sizeof(sh)))
            return -EINVAL;
        memcpy(&sh, f + at, sizeof(sh));
        if (sh.sh_type != SHT_DYNSYM || sh.sh_entsize < sizeof(Elf64_Sym) || sh.sh_link >= eh.e_shnum)
            continue;
        uint64_t sat = eh.e_shoff + (uint64_t)sh.sh_link * eh.e_shentsize;
        if (!in(size, sat, sizeof(str)))
            return -EINVAL;
        memcpy(&str, f + sat, sizeof(str));
        if (!in(size, sh.sh_offset, sh.sh_size) || !in(size, str.sh_offset, str.sh_size))
            return -EINVAL;
        for (uint64_t k = 0; k + sh.sh_entsize <= sh.sh_size; k += sh.sh_entsize) {
            Elf64_Sym sym;
            memcpy(&sym, f + sh.sh_offset + k, sizeof(sym));
            int type = ELF64_ST_TYPE(sym.st_info);
            if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0 ||
                (type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_name >= str.sh_size ||
                str.sh_size - sym.st_name <= name_len)
                continue;
            const char *s = (const char *)f + str.sh_offset + sym.st_name;
            if (memcmp(s, name, name_len) == 0 && s[name_len] == '\0')
                return vaddr_to_offset(f, size, &eh, sym.st_value, off);
        }
    }
    return -ENOENT;
}
