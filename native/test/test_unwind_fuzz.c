/*
 * test_unwind_fuzz.c - corrupt CFI and corrupt stacks: the .eh_frame compiler, the ELF lookup of
 * .eh_frame / .eh_frame_hdr and the unwinder fed mutated real input. Built with ASan + UBSan in
 * `make sanitize-test`, every buffer handed in is a malloc of its exact size, so a read one byte
 * past the end fails the run. What is asserted beyond "no crash": the compiled table stays
 * sorted and bounded, and every unwind ends with at most max frames, each caller a code address,
 * and a stack that is either complete or cut with a reason.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "records.h"
#include "session.h"

/* xorshift64*: deterministic, so a failure is reproducible from the iteration number */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ull;
}

static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* Path of the libc this test runs on (from /proc/self/maps). */
static int libc_path(char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4400];
    int found = 0;
    while (f && !found && fgets(line, sizeof(line), f)) {
        char *p = strchr(line, '/');
        if (p && strstr(p, "/libc.so")) {
            p[strcspn(p, "\n")] = 0;
            snprintf(out, cap, "%s", p);
            found = 1;
        }
    }
    if (f)
        fclose(f);
    return found;
}

/* The table invariants the unwinder's binary search relies on. */
static int table_ok(const cfi_table *t, size_t max_rows)
{
    if (t->n > max_rows || (t->n && !t->rows))
        return 0;
    for (size_t i = 1; i < t->n; i++) {
        if (t->rows[i - 1].pc >= t->rows[i].pc)
            return 0;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (t->rows[i].kind > CFI_UNSUPPORTED)
            return 0;
    }
    return 1;
}

/* Mutates n bytes of b[0..len): random values, bit flips, or bytes set to 0 / 0xff. */
static void mutate(uint8_t *b, size_t len, int n)
{
    for (int i = 0; i < n && len; i++) {
        size_t at = (size_t)(rnd() % len);
        switch (rnd() % 4) {
        case 0: b[at] = (uint8_t)rnd(); break;
        case 1: b[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
        case 2: b[at] = 0; break;
        default: b[at] = 0xff; break;
        }
    }
}

TEST(fuzz_eh_frame_compile_mutated_sections)
{
    char libc[4096];
    CHECK(libc_path(libc, sizeof(libc)));
    const char *files[] = { libc, t_fixture("calltree_cxx"), t_fixture("calltree_nofp") };
    size_t compiled = 0, rows_total = 0, iters = getenv("SS_SANITIZE") ? 120 : 400;
    for (size_t fi = 0; fi < sizeof(files) / sizeof(files[0]); fi++) {
        size_t size;
        uint8_t *f = read_file(files[fi], &size);
        CHECKF(f != NULL, "cannot read %s", files[fi]);
        const uint8_t *sec;
        size_t len;
        uint64_t vaddr;
        CHECKF(ut_locate_eh_frame(f, size, &sec, &len, &vaddr) == 0, ".eh_frame of %s", files[fi]);
        cfi_table good;
        CHECK(cfi_compile(sec, len, vaddr, 0, &good) == 0 && good.n > 10 && table_ok(&good, 1u << 24));
        for (size_t it = 0; it < iters; it++) {
            /* a copy of exactly the bytes handed in: the sanitizer sees any read past them */
            size_t n = it % 5 == 0 ? (size_t)(rnd() % (len + 1)) : len;
            uint8_t *copy = malloc(n ? n : 1);
            memcpy(copy, sec, n);
            mutate(copy, n, 1 + (int)(rnd() % (it % 3 == 0 ? 256 : 8)));
            size_t max_rows = it % 7 == 0 ? (size_t)(1 + rnd() % 64) : 0;
            cfi_table t;
            CHECK(cfi_compile(copy, n, vaddr, max_rows, &t) == 0);
            CHECKF(table_ok(&t, max_rows ? max_rows : 1u << 24), "%s iteration %zu: table unsorted",
                   files[fi], it);
            for (int q = 0; q < 64; q++) {
                const cfi_row *r = cfi_find(&t, vaddr - 0x100000 + rnd() % 0x400000);
                CHECK(r == NULL || (r >= t.rows && r < t.rows + t.n && r->kind != CFI_NONE));
            }
            compiled++;
            rows_total += t.n;
            cfi_free(&t);
            free(copy);
        }
        cfi_free(&good);
        free(f);
    }
    printf("    %zu mutated .eh_frame sections compiled, %zu rows in all\n", compiled, rows_total);
}

TEST(fuzz_elf_headers_and_eh_frame_hdr_mutated)
{
    size_t size, found = 0, iters = getenv("SS_SANITIZE") ? 300 : 1000;
    const char *path = t_fixture("calltree_cxx");
    uint8_t *f = read_file(path, &size);
    CHECKF(f != NULL, "cannot read %s", path);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)(const void *)f;
    /* mutations go to the headers and the segment holding .eh_frame_hdr, where the lookup reads */
    size_t hot = eh->e_phoff + (size_t)eh->e_phnum * sizeof(Elf64_Phdr);
    for (size_t it = 0; it < iters; it++) {
        size_t n = it % 4 == 0 ? (size_t)(rnd() % (size + 1)) : size;
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, f, n);
        if (n >= sizeof(Elf64_Ehdr) && it % 2 == 0) {
            Elf64_Ehdr *ce = (Elf64_Ehdr *)(void *)copy;
            ce->e_shnum = 0;                      /* stripped headers: the PT_GNU_EH_FRAME path */
        }
        mutate(copy, n < hot ? n : hot, 1 + (int)(rnd() % 6));
        if (it % 3 == 0)
            mutate(copy, n, 1 + (int)(rnd() % 64));
        const uint8_t *sec;
        size_t len;
        uint64_t vaddr;
        if (ut_locate_eh_frame(copy, n, &sec, &len, &vaddr) == 0) {
            CHECKF(sec >= copy && len <= n && (size_t)(sec - copy) <= n - len,
                   "iteration %zu: section outside the file", it);
            cfi_table t;
            CHECK(cfi_compile(sec, len, vaddr, 0, &t) == 0 && table_ok(&t, 1u << 24));
            cfi_free(&t);
            found++;
        }
        free(copy);
    }
    printf("    %zu mutated ELF images, .eh_frame located in %zu\n", iters, found);
    CHECK(found > 0);
    free(f);
}

/* The unwinder's view of code for the fuzz: one module (libc's table) mapped at BIAS. */
#define BIAS 0x7f1000000000ull

typedef struct fuzz_ctx {
    const cfi_table *t;
    uint64_t lo, hi;   /* module addresses covered by code */
} fuzz_ctx;

static int fuzz_lookup(void *arg, uint64_t pc, const cfi_row **row)
{
    const fuzz_ctx *c = arg;
    if (pc < BIAS + c->lo || pc >= BIAS + c->hi)
        return UW_NOT_CODE;
    *row = cfi_find(c->t, pc - BIAS);
    return *row ? UW_CFI : UW_NO_CFI;
}

TEST(fuzz_unwind_random_stacks_and_registers)
{
    char libc[4096];
    CHECK(libc_path(libc, sizeof(libc)));
    size_t size;
    uint8_t *f = read_file(libc, &size);
    CHECK(f != NULL);
    const uint8_t *sec;
    size_t len;
    uint64_t vaddr;
    CHECK(ut_locate_eh_frame(f, size, &sec, &len, &vaddr) == 0);
    cfi_table t;
    CHECK(cfi_compile(sec, len, vaddr, 0, &t) == 0 && t.n > 100);
    fuzz_ctx c = { &t, t.rows[0].pc, t.rows[t.n - 1].pc };
    uint64_t cuts[5] = { 0 }, deep = 0, iters = getenv("SS_SANITIZE") ? 20000 : 100000;
    uint64_t out[128];
    for (uint64_t it = 0; it < iters; it++) {
        size_t words = (size_t)(rnd() % 2049);   /* up to 16 KiB */
        uint64_t *stack = malloc(words ? words * 8 : 1);
        uint64_t sp = (0x7ffd00000000ull + (rnd() % 0x100000)) & ~7ull;
        /* plausible words (code addresses, addresses inside the copy, zero) mixed with noise,
         * so walks go deep enough to meet every cut reason */
        for (size_t i = 0; i < words; i++) {
            switch (rnd() % 5) {
            case 0: stack[i] = BIAS + c.lo + rnd() % (c.hi - c.lo); break;
            case 1: stack[i] = sp + (rnd() % (words * 8 + 64)); break;
            case 2: stack[i] = 0; break;
            default: stack[i] = rnd(); break;
            }
        }
        uw_regs r = { it % 8 ? BIAS + c.lo + rnd() % (c.hi - c.lo) : rnd(), sp,
                      rnd() % 2 ? sp + 8 * (rnd() % (words + 2)) : rnd(), rnd() };
        uint16_t max = (uint16_t)(1 + rnd() % 127);
        uw_result res;
        uw_unwind(&r, (const uint8_t *)stack, words * 8, (int)(rnd() % 2), fuzz_lookup, &c, out, max,
                  &res);
        CHECKF(res.depth <= max && res.cut <= SS_CUT_CORRUPT, "iteration %llu: depth %u cut %u",
               (unsigned long long)it, res.depth, res.cut);
        CHECKF(res.depth >= 1 || r.ip == 0, "iteration %llu: no leaf", (unsigned long long)it);
        CHECK(res.depth == 0 || out[0] == r.ip);
        for (uint16_t i = 1; i < res.depth; i++) {
            const cfi_row *row;
            CHECKF(fuzz_lookup(&c, out[i] - 1, &row) != UW_NOT_CODE,
                   "iteration %llu: frame %u is not code", (unsigned long long)it, i);
        }
        cuts[res.cut]++;
        deep += res.depth >= 4;
        free(stack);
    }
    printf("    %llu random stacks: complete %llu, cut at depth %llu, copy %llu, no CFI %llu, "
           "corrupt %llu; %llu with 4+ frames\n", (unsigned long long)iters,
           (unsigned long long)cuts[0], (unsigned long long)cuts[1], (unsigned long long)cuts[2],
           (unsigned long long)cuts[3], (unsigned long long)cuts[4], (unsigned long long)deep);
    /* random bytes are mostly not a stack: they must come out cut, not as made-up whole stacks */
    CHECK(cuts[SS_CUT_CORRUPT] > iters / 4 && cuts[SS_CUT_STACK_COPY] > 0 && deep > 0);
    cfi_free(&t);
    free(f);
}

/* Appends a 4-byte little-endian value. */
static size_t put32(uint8_t *b, size_t at, uint32_t v)
{
    memcpy(b + at, &v, 4);
    return at + 4;
}

/* Two adjacent functions, the second's only rule equal to the rule the first ends with (Rust's
 * and GCC's frameless leaves after a function that popped its frame): the second keeps a row,
 * not the end marker of the first (that bug cut every sample in such a leaf). */
TEST(cfi_function_after_an_equal_rule_keeps_its_row)
{
    uint8_t sec[128];
    memset(sec, 0, sizeof(sec));
    /* CIE: version 1, "zR", code align 1, data align -8, RA r16, FDE pointers udata4 (absolute),
     * CFA = rsp + 8, RA at CFA - 8 */
    static const uint8_t cie[] = { 0, 0, 0, 0, 1, 'z', 'R', 0, 1, 0x78, 16, 1, 0x03,
                                   0x0c, 7, 8, 0x90, 1, 0, 0 };
    size_t at = put32(sec, 0, sizeof(cie));
    memcpy(sec + at, cie, sizeof(cie));
    at += sizeof(cie);
    /* FDE 1 at [0x1000, 0x1010): push (CFA rsp+16 from 0x1001), pop (rsp+8 again from 0x100f) */
    static const uint8_t prog1[] = { 0, 0x41, 0x0e, 16, 0x4e, 0x0e, 8, 0 };
    at = put32(sec, at, 4 + 8 + sizeof(prog1));
    at = put32(sec, at, (uint32_t)(at - 0));            /* distance back to the CIE at 0 */
    at = put32(sec, at, 0x1000);
    at = put32(sec, at, 0x10);
    memcpy(sec + at, prog1, sizeof(prog1));
    at += sizeof(prog1);
    /* FDE 2 at [0x1010, 0x1030): no instructions, the CIE's rule (rsp+8) throughout */
    static const uint8_t prog2[] = { 0, 0, 0, 0 };
    at = put32(sec, at, 4 + 8 + sizeof(prog2));
    at = put32(sec, at, (uint32_t)at);
    at = put32(sec, at, 0x1010);
    at = put32(sec, at, 0x20);
    memcpy(sec + at, prog2, sizeof(prog2));
    at += sizeof(prog2);
    at = put32(sec, at, 0);                              /* terminator */
    cfi_table t;
    CHECK(cfi_compile(sec, at, 0x2000, 0, &t) == 0 && t.fdes == 2);
    const cfi_row *r = cfi_find(&t, 0x1005);
    CHECK(r && r->kind == CFI_CFA_SP && r->cfa_off == 16 && r->ra_off == -8);
    for (uint64_t pc = 0x100f; pc < 0x1030; pc += 7) {
        r = cfi_find(&t, pc);
        CHECKF(r && r->kind == CFI_CFA_SP && r->cfa_off == 8 && r->ra_off == -8,
               "no rsp+8 row at %#llx", (unsigned long long)pc);
    }
    CHECK(cfi_find(&t, 0x1030) == NULL && cfi_find(&t, 0xfff) == NULL);
    cfi_free(&t);
}

/* .debug_frame through df_load: the fixture's debug file mutated (headers and sections) and
 * written to a temporary file, read back as the module's own .debug_frame. */
TEST(fuzz_debug_frame_mutated_debug_file)
{
    size_t size, compiled = 0, iters = getenv("SS_SANITIZE") ? 150 : 500;
    char src[4096], tmp[] = "/tmp/ss-fuzz-debug-XXXXXX";
    snprintf(src, sizeof(src), "%s.debug", t_fixture("calltree_dbgframe"));
    uint8_t *f = read_file(src, &size);
    CHECKF(f != NULL, "cannot read %s", src);
    int fd = mkstemp(tmp);
    CHECK(fd >= 0);
    close(fd);
    cfi_table t;
    CHECK(df_load(getpid(), src, NULL, 0, 0, &t) == 0 && t.n > 10 && table_ok(&t, 1u << 24));
    cfi_free(&t);
    uint8_t *copy = malloc(size);
    for (size_t it = 0; it < iters; it++) {
        memcpy(copy, f, size);
        mutate(copy, size, 1 + (int)(rnd() % 64));
        FILE *out = fopen(tmp, "wb");
        CHECK(out != NULL);
        size_t n = it % 4 == 0 ? (size_t)(rnd() % (size + 1)) : size;
        CHECK(fwrite(copy, 1, n, out) == n);
        fclose(out);
        if (df_load(getpid(), tmp, NULL, 0, 0, &t) == 0) {
            CHECKF(table_ok(&t, 1u << 24), "iteration %zu: table unsorted", it);
            compiled++;
            cfi_free(&t);
        }
    }
    printf("    %zu mutated debug files, .debug_frame compiled from %zu\n", iters, compiled);
    unlink(tmp);
    free(copy);
    free(f);
}

/* A leaf sampled on its `ret`, after `pop %rbp`: GCC's CFI still says BP is saved at CFA - 16,
 * a slot now below SP and outside the copy. The register already holds the caller's BP, so the
 * walk goes on (it was cut as corrupt: 2 % of perl's samples). */
TEST(unwind_leaf_after_pop_rbp_continues)
{
    cfi_row rows[4];
    memset(rows, 0, sizeof(rows));
    rows[0] = (cfi_row){ .pc = 0x1000, .kind = CFI_CFA_SP, .cfa_off = 8, .ra_off = -8, .bp_off = -16,
                         .flags = CFI_BP_SAVED };
    rows[1] = (cfi_row){ .pc = 0x1100, .kind = CFI_NONE };
    rows[2] = (cfi_row){ .pc = 0x2000, .kind = CFI_CFA_SP, .cfa_off = 8, .ra_off = -8,
                         .flags = CFI_RA_UNDEFINED };
    rows[3] = (cfi_row){ .pc = 0x2100, .kind = CFI_NONE };
    cfi_table t = { rows, 4, 2, 0 };
    fuzz_ctx c = { &t, 0x1000, 0x2100 };
    uint64_t stack[2] = { BIAS + 0x2005, 0 };     /* [SP] = return address into the root */
    uw_regs r = { BIAS + 0x10f0, 0x7ffd00001000ull, 0x7ffd00002000ull, 0 };
    uint64_t out[8];
    uw_result res;
    uw_unwind(&r, (const uint8_t *)stack, sizeof(stack), 0, fuzz_lookup, &c, out, 8, &res);
    CHECKF(res.cut == SS_CUT_NONE && res.depth == 2 && out[1] == BIAS + 0x2005, "cut %u depth %u",
           res.cut, res.depth);
}
