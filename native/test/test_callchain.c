/* test_callchain.c - PERF_CONTEXT markers, kernel depth, truncation, and the leaf fix-up. */
#include <string.h>

#include "harness.h"
#include "internal.h"

#define K ((uint64_t)-128)
#define U ((uint64_t)-512)

TEST(callchain_strips_markers_and_counts_kernel)
{
    uint64_t raw[] = { K, 0xffffffff81000010ull, 0xffffffff81000020ull, U, 0x401000, 0x402000, 0x403000 };
    uint64_t out[16];
    cc_result r;
    cc_strip(raw, 7, out, 127, &r);
    CHECK(r.depth == 5 && r.kernel_depth == 2 && r.flags == 0);
    CHECK(out[0] == 0xffffffff81000010ull && out[2] == 0x401000 && out[4] == 0x403000);
    uint64_t user_only[] = { U, 0x401000, 0x402000 };
    cc_strip(user_only, 3, out, 127, &r);
    CHECK(r.depth == 2 && r.kernel_depth == 0);
    cc_strip(raw, 7, out, 3, &r);             /* cut at max_depth */
    CHECK(r.depth == 3 && r.kernel_depth == 2 && (r.flags & SS_STACK_TRUNCATED));
    uint64_t hv[] = { (uint64_t)-32, 0x1, K, 0x2 };   /* other markers are dropped too */
    cc_strip(hv, 4, out, 127, &r);
    CHECK(r.depth == 2 && r.kernel_depth == 1 && out[0] == 1 && out[1] == 2);
}

TEST(callchain_recognises_call_instructions)
{
    /* call rel32 */
    uint8_t e8[8] = { 0x90, 0x90, 0x90, 0xe8, 0x11, 0x22, 0x33, 0x44 };
    CHECK(cc_is_call_before(SS_ARCH_X86_64, e8, 8));
    /* call *%rax (ff d0) and call *%r11 (41 ff d3) */
    uint8_t rax[8] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0xd0 };
    uint8_t r11[8] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0x41, 0xff, 0xd3 };
    CHECK(cc_is_call_before(SS_ARCH_X86_64, rax, 8));
    CHECK(cc_is_call_before(SS_ARCH_X86_64, r11, 8));
    /* call *0x10(%rax) (ff 50 10), call *0x12345678(%rip) (ff 15 disp32), call *(%rax,%rbx,8) */
    uint8_t disp8[8] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0x50, 0x10 };
    uint8_t rip[8] = { 0x90, 0x90, 0xff, 0x15, 0x78, 0x56, 0x34, 0x12 };
    uint8_t sib[8] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0x14, 0xd8 };
    CHECK(cc_is_call_before(SS_ARCH_X86_64, disp8, 8));
    CHECK(cc_is_call_before(SS_ARCH_X86_64, rip, 8));
    CHECK(cc_is_call_before(SS_ARCH_X86_64, sib, 8));
    /* not calls: jmp *%rax (ff e0), plain data, push */
    uint8_t jmp[8] = { 0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0xff, 0xe0 };
    uint8_t data[8] = { 0x48, 0x89, 0xc7, 0x48, 0x01, 0xd0, 0x90, 0x55 };
    CHECK(!cc_is_call_before(SS_ARCH_X86_64, jmp, 8));
    CHECK(!cc_is_call_before(SS_ARCH_X86_64, data, 8));
    /* arm64: bl and blr x8; ret is not a call */
    uint32_t bl = 0x94000010u, blr = 0xd63f0100u, ret = 0xd65f03c0u;
    CHECK(cc_is_call_before(SS_ARCH_ARM64, (const uint8_t *)&bl, 4));
    CHECK(cc_is_call_before(SS_ARCH_ARM64, (const uint8_t *)&blr, 4));
    CHECK(!cc_is_call_before(SS_ARCH_ARM64, (const uint8_t *)&ret, 4));
}

/* The process's code: [0x400000, 0x500000). */
static int in_text(void *ctx, uint64_t addr)
{
    (void)ctx;
    return addr >= 0x400000 && addr < 0x500000;
}

static int verify_calls;
static int accept_call(void *ctx, uint64_t addr)
{
    (void)ctx;
    (void)addr;
    verify_calls++;
    return 1;
}

static int reject_call(void *ctx, uint64_t addr)
{
    (void)ctx;
    (void)addr;
    return 0;
}

TEST(callchain_leaf_fixup_inserts_lost_caller)
{
    /* Sample in b (frameless leaf): FP chain gives b, main, _start; [SP] holds the return
     * address into a. Expected: b, a, main, _start. */
    uint64_t raw[] = { U, 0x401180, 0x401300, 0x401050 };
    uint64_t ips[16];
    cc_result r;
    cc_strip(raw, 4, ips, 127, &r);
    verify_calls = 0;
    CHECK(cc_fixup_leaf(ips, &r, 127, 0x401209, in_text, accept_call, NULL) == 1);
    CHECK(verify_calls == 1);
    CHECK(r.depth == 4 && r.fixed_up);
    CHECK(ips[0] == 0x401180 && ips[1] == 0x401209 && ips[2] == 0x401300 && ips[3] == 0x401050);
}

TEST(callchain_leaf_fixup_with_kernel_frames)
{
    uint64_t raw[] = { K, 0xffffffff81000010ull, U, 0x401180, 0x401300 };
    uint64_t ips[16];
    cc_result r;
    cc_strip(raw, 5, ips, 127, &r);
    CHECK(cc_fixup_leaf(ips, &r, 127, 0x401209, in_text, NULL, NULL) == 1);
    CHECK(r.depth == 4 && r.kernel_depth == 1);
    CHECK(ips[0] == 0xffffffff81000010ull && ips[1] == 0x401180 && ips[2] == 0x401209 &&
          ips[3] == 0x401300);
}

TEST(callchain_leaf_fixup_leaves_good_chains_alone)
{
    uint64_t raw[] = { U, 0x401180, 0x401209, 0x401300 };
    uint64_t ips[16];
    cc_result r;
    cc_strip(raw, 4, ips, 127, &r);
    /* already the next frame */
    CHECK(cc_fixup_leaf(ips, &r, 127, 0x401209, in_text, accept_call, NULL) == 0);
    /* a stack address (saved frame pointer) is not code */
    CHECK(cc_fixup_leaf(ips, &r, 127, 0x7ffd12345678ull, in_text, accept_call, NULL) == 0);
    /* code, but not after a call instruction */
    CHECK(cc_fixup_leaf(ips, &r, 127, 0x401444, in_text, reject_call, NULL) == 0);
    /* no candidate */
    CHECK(cc_fixup_leaf(ips, &r, 127, 0, in_text, accept_call, NULL) == 0);
    CHECK(r.depth == 3 && !r.fixed_up);
    /* kernel-only chain: no user leaf to fix */
    uint64_t kraw[] = { K, 0xffffffff81000010ull };
    cc_strip(kraw, 2, ips, 127, &r);
    CHECK(cc_fixup_leaf(ips, &r, 127, 0x401209, in_text, accept_call, NULL) == 0);
}

TEST(callchain_leaf_fixup_at_max_depth_truncates)
{
    uint64_t raw[] = { U, 0x401180, 0x401300, 0x401050 };
    uint64_t ips[16];
    cc_result r;
    cc_strip(raw, 4, ips, 3, &r);
    CHECK(r.depth == 3 && !(r.flags & SS_STACK_TRUNCATED));
    CHECK(cc_fixup_leaf(ips, &r, 3, 0x401209, in_text, NULL, NULL) == 1);
    CHECK(r.depth == 3 && (r.flags & SS_STACK_TRUNCATED));
    CHECK(ips[0] == 0x401180 && ips[1] == 0x401209 && ips[2] == 0x401300);
}
