/*
 * unwind.c - walks a sampled user stack frame by frame.
 *
 * Each frame is unwound with the CFI row of its code address when the module has one; otherwise
 * (JIT code, hand-written assembly, a module without .eh_frame) with the frame pointer, if
 * allowed, and CFI takes over again in the caller. The walk ends complete at a frame whose
 * return address is undefined (glibc's _start, clone and clone3 say so in their CFI) or zero, and
 * is cut (with a reason) when it would read outside the stack copy, when the stack does not grow
 * towards the root, when a return address is not code, or when no rule applies. A cut stack
 * keeps the frames found so far and nothing guessed. Portable: memory is only the copy.
 */
#include <string.h>

#include "internal.h"

/* Reads the word at addr from the copy; 0 ok, else the cut reason. */
static int load(const uint8_t *stack, uint64_t base, uint64_t len, uint64_t addr, uint64_t *v)
{
    if (addr < base)
        return SS_CUT_CORRUPT;
    if (addr - base > len || len - (addr - base) < 8)
        return SS_CUT_STACK_COPY;
    memcpy(v, stack + (addr - base), 8);
    return 0;
}

void uw_unwind(const uw_regs *regs, const uint8_t *stack, uint64_t stack_len, int allow_fp,
               uw_lookup_fn lookup, void *ctx, uint64_t *out, uint16_t max, uw_result *res)
{
    memset(res, 0, sizeof(*res));
    uint64_t pc = regs->ip, sp = regs->sp, bp = regs->bp, base = regs->sp;
    uint16_t depth = 0;
    if (max == 0 || pc == 0) {
        res->cut = pc == 0 ? SS_CUT_CORRUPT : SS_CUT_DEPTH;
        return;
    }
    out[depth++] = pc;
    for (;;) {
        const cfi_row *row = NULL;
        /* a return address may sit just past the end of its function (a call to a noreturn
         * function): look up the call instruction, not the address after it */
        int kind = lookup(ctx, depth == 1 ? pc : pc - 1, &row);
        uint64_t ra = 0, cfa, nbp = bp;
        int cut = 0;
        if (kind == UW_NOT_CODE) {
            cut = SS_CUT_CORRUPT;
        } else if (kind == UW_CFI && row->kind != CFI_UNSUPPORTED) {
            if (row->flags & CFI_RA_UNDEFINED)
                break;                                     /* the root: complete */
            switch (row->kind) {
            case CFI_CFA_SP: cfa = sp + (uint64_t)(int64_t)row->cfa_off; break;
            case CFI_CFA_BP: cfa = bp + (uint64_t)(int64_t)row->cfa_off; break;
            default: cfa = sp + 8 + ((pc & 15) >= (uint64_t)row->cfa_off ? 8 : 0); break;
            }
            if (row->flags & CFI_RA_IN_REG) {
                if (depth != 1)
                    cut = SS_CUT_NO_UNWIND_INFO;
                ra = regs->lr;
            } else {
                cut = load(stack, base, stack_len, cfa + (uint64_t)(int64_t)row->ra_off, &ra);
            }
            if (!cut && (row->flags & CFI_BP_SAVED)) {
                uint64_t at = cfa + (uint64_t)(int64_t)row->bp_off;
                /* a slot below SP was popped already (a leaf sampled in its epilogue, after
                 * `pop %rbp`, whose CFI still says "saved"): the register holds the caller's BP */
                if (at < sp)
                    nbp = bp;
                else
                    cut = load(stack, base, stack_len, at, &nbp);
            }
            if (!cut && (row->flags & CFI_BP_LOST))
                nbp = 0;                                   /* unknown from here: FP fallback fails */
            if (!cut)
                res->cfi_frames++;
        } else if (allow_fp) {
            /* frame pointer: [bp] = caller's bp, [bp + 8] = return address */
            if (bp < sp || (bp & 7)) {
                cut = SS_CUT_NO_UNWIND_INFO;
            } else {
                cut = load(stack, base, stack_len, bp + 8, &ra);
                if (!cut)
                    cut = load(stack, base, stack_len, bp, &nbp);
            }
            cfa = bp + 16;
            if (!cut) {
                res->fp_frames++;
                if (depth == 1)
                    res->leaf_fp = 1;
            }
        } else {
            cut = SS_CUT_NO_UNWIND_INFO;
        }
        if (!cut && ra == 0)
            break;                                         /* end of the chain: complete */
        if (!cut && cfa <= sp)
            cut = SS_CUT_CORRUPT;                          /* the stack must grow towards the root */
        if (!cut && lookup(ctx, ra - 1, &row) == UW_NOT_CODE)
            cut = SS_CUT_CORRUPT;
        if (cut) {
            res->cut = (uint8_t)cut;
            break;
        }
        if (depth >= max) {
            res->cut = SS_CUT_DEPTH;
            break;
        }
        out[depth++] = ra;
        pc = ra;
        sp = cfa;
        bp = nbp;
    }
    res->depth = depth;
}
