/*
 * callchain.c - turning a perf callchain into the stack we count.
 *
 * 1. Strip the PERF_CONTEXT_* markers the kernel interleaves (values >= (u64)-4095) and count
 *    the kernel frames: those after PERF_CONTEXT_KERNEL and before PERF_CONTEXT_USER.
 * 2. The leaf-caller fix-up. GCC at -O2 sets up no frame in leaf functions even with
 *    -fno-omit-frame-pointer, so when a sample lands in such a leaf the frame-pointer walk starts
 *    at the leaf's caller's frame and reports the caller's caller next: main;a;b becomes main;b.
 *    The return address into the lost caller is still at [SP] (x86-64; LR on arm64). If that word
 *    is a code address of the process that follows a call instruction and is not already the next
 *    frame, it is the missing caller. Portable: the caller supplies the mapping test and memory.
 */
#include <string.h>

#include "internal.h"

#define CTX_MAX ((uint64_t)-4095)
#define CTX_KERNEL ((uint64_t)-128)
#define CTX_USER ((uint64_t)-512)

void cc_strip(const uint64_t *raw, uint64_t nr, uint64_t *out, uint16_t max_depth,
              cc_result *res)
{
    uint16_t depth = 0, kdepth = 0;
    int in_kernel = 0;
    memset(res, 0, sizeof(*res));
    for (uint64_t i = 0; i < nr; i++) {
        uint64_t ip = raw[i];
        if (ip >= CTX_MAX) {
            in_kernel = ip == CTX_KERNEL;
            continue;
        }
        if (depth >= max_depth) {
            res->flags |= SS_STACK_TRUNCATED;
            break;
        }
        out[depth++] = ip;
        if (in_kernel)
            kdepth++;
    }
    res->depth = depth;
    res->kernel_depth = kdepth;
}

/* x86-64 length of an FF /r instruction with this ModRM byte (no prefixes), 0 if unknown. */
static size_t ff_length(uint8_t modrm, uint8_t sib)
{
    unsigned mod = modrm >> 6, rm = modrm & 7;
    switch (mod) {
    case 3:
        return 2;
    case 0:
        if (rm == 5)
            return 6;                       /* RIP-relative disp32 */
        if (rm == 4)
            return (sib & 7) == 5 ? 7 : 3;  /* SIB, base 5 means disp32 */
        return 2;
    case 1:
        return rm == 4 ? 4 : 3;
    default:
        return rm == 4 ? 7 : 6;
    }
}

int cc_is_call_before(int arch, const uint8_t *code, size_t len)
{
    if (arch == SS_ARCH_X86_64) {
        if (len >= 5 && code[len - 5] == 0xE8)
            return 1;                       /* call rel32 */
        for (size_t k = 2; k <= 7 && k <= len; k++) {
            const uint8_t *p = code + len - k;
            if (p[0] != 0xFF || ((p[1] >> 3) & 7) != 2)
                continue;                   /* FF /2: call r/m64 */
            if (ff_length(p[1], k >= 3 ? p[2] : 0) == k)
                return 1;
        }
        return 0;
    }
    if (arch == SS_ARCH_ARM64 && len >= 4) {
        uint32_t insn;
        memcpy(&insn, code + len - 4, 4);
        return (insn & 0xFC000000u) == 0x94000000u ||   /* BL imm26 */
               (insn & 0xFFFFFC1Fu) == 0xD63F0000u;     /* BLR Xn */
    }
    return 0;
}

int cc_fixup_leaf(uint64_t *ips, cc_result *res, uint16_t max_depth, uint64_t candidate,
                  int (*in_exec)(void *ctx, uint64_t addr),
                  int (*verify)(void *ctx, uint64_t addr), void *ctx)
{
    uint16_t user = res->kernel_depth;     /* index of the user leaf */
    if (res->depth <= user || candidate == 0 || max_depth < user + 2)
        return 0;
    if (candidate == ips[user] || (res->depth > user + 1 && ips[user + 1] == candidate))
        return 0;                          /* the chain already has it */
    if (!in_exec(ctx, candidate))
        return 0;
    if (verify && !verify(ctx, candidate))
        return 0;
    uint16_t depth = res->depth;
    if (depth >= max_depth) {              /* make room: the root-most frame goes */
        depth = max_depth - 1;
        res->flags |= SS_STACK_TRUNCATED;
    }
    memmove(ips + user + 2, ips + user + 1, (size_t)(depth - user - 1) * sizeof(uint64_t));
    ips[user + 1] = candidate;
    res->depth = depth + 1;
    res->fixed_up = 1;
    return 1;
}
