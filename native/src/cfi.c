/*
 * cfi.c - compiles a module's DWARF call-frame information (.eh_frame, or .debug_frame from
 * its debug file) into a compact table.
 *
 * Every FDE's CFA program is run ONCE, here, and each row of its result becomes one cfi_row:
 * "from this address on, CFA = SP|BP + off, the return address is at CFA + ra_off, the caller's BP
 * is at CFA + bp_off (or unchanged)". The unwinder then needs one binary search per frame and no
 * DWARF at all. Rows that need a DWARF expression are kept as CFI_UNSUPPORTED (the unwinder falls
 * back to the frame pointer there), except the CFA expression every x86-64 PLT uses, which is
 * recognised by its bytes and kept as CFI_CFA_PLT. Portable: works on bytes the caller supplies;
 * every read is bounds-checked, so corrupt input yields fewer rows, never a crash or a hang.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__aarch64__)
#define REG_SP 31
#define REG_BP 29
#define REG_RA 30
#else
#define REG_SP 7
#define REG_BP 6
#define REG_RA 16
#endif

typedef struct rd {
    const uint8_t *p, *end;
    int bad;
} rd;

static uint64_t rd_uleb(rd *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (r->p < r->end) {
        uint8_t b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static int64_t rd_sleb(rd *r)
{
    int64_t v = 0;
    unsigned shift = 0;
    while (r->p < r->end) {
        uint8_t b = *r->p++;
        if (shift < 64)
            v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= -(int64_t)((uint64_t)1 << shift);
            return v;
        }
    }
    r->bad = 1;
    return 0;
}

static uint64_t rd_fixed(rd *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        r->p = r->end;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, r->p, n);   /* little-endian hosts only (x86-64, arm64) */
    r->p += n;
    return v;
}

/* Reads a DW_EH_PE-encoded pointer; vaddr_of(p) is the virtual address of the byte at p. */
static uint64_t rd_encoded(rd *r, uint8_t enc, const uint8_t *base, uint64_t base_vaddr)
{
    if (enc == 0xff)
        return 0;
    uint64_t at = base_vaddr + (uint64_t)(r->p - base), v;
    switch (enc & 0x0f) {
    case 0x00: v = rd_fixed(r, 8); break;
    case 0x01: v = rd_uleb(r); break;
    case 0x02: v = rd_fixed(r, 2); break;
    case 0x03: v = rd_fixed(r, 4); break;
    case 0x04: v = rd_fixed(r, 8); break;
    case 0x09: v = (uint64_t)rd_sleb(r); break;
    case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2); break;
    case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4); break;
    case 0x0c: v = rd_fixed(r, 8); break;
    default: r->bad = 1; return 0;
    }
    if ((enc & 0x70) == 0x10)
        v += at;                       /* pcrel */
    return v;
}

/* ---- the row list being built ---------------------------------------------------------- */

typedef struct rowbuf {
    cfi_row *v;
    size_t n, cap, max;
    int full;
} rowbuf;

static void push(rowbuf *b, const cfi_row *row)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        if (cap > b->max)
            cap = b->max;
        if (b->n >= cap) {
            b->full = 1;
            return;
        }
        cfi_row *v = realloc(b->v, cap * sizeof(*v));
        if (!v) {
            b->full = 1;
            return;
        }
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = *row;
}

/* ---- one FDE's CFA program ------------------------------------------------------------- */

enum { R_SAME = 0, R_OFFSET = 1, R_UNDEF = 2, R_OTHER = 3 };

typedef struct regstate {
    uint8_t cfa_kind;      /* CFI_CFA_SP, CFI_CFA_BP, CFI_CFA_PLT, CFI_UNSUPPORTED */
    int64_t cfa_off;
    uint8_t ra, bp;        /* R_* */
    int64_t ra_off, bp_off;
} regstate;

#define STATE_STACK 16

typedef struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_reg;
    uint8_t fde_enc;
    int has_aug_len;
    const uint8_t *insns, *insns_end;
} cie;

static const uint8_t PLT_EXPR_HEAD[] = { 0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a };
static const uint8_t PLT_EXPR_TAIL[] = { 0x2a, 0x33, 0x24, 0x22 };

/* CFA = rsp + 8 + ((rip & 15) >= N ? 8 : 0): the expression of every x86-64 .plt entry. */
static int plt_expression(const uint8_t *e, uint64_t len, int64_t *threshold)
{
    if (len != 11 || memcmp(e, PLT_EXPR_HEAD, sizeof(PLT_EXPR_HEAD)) != 0 ||
        memcmp(e + 7, PLT_EXPR_TAIL, sizeof(PLT_EXPR_TAIL)) != 0 || e[6] < 0x30 || e[6] > 0x4f)
        return 0;
    *threshold = e[6] - 0x30;          /* DW_OP_litN */
    return 1;
}

static void set_rule(regstate *s, uint64_t reg, uint8_t rule, int64_t off)
{
    if (reg == REG_RA) {
        s->ra = rule;
        s->ra_off = off;
    } else if (reg == REG_BP) {
        s->bp = rule;
        s->bp_off = off;
    }
}

static void emit(rowbuf *b, uint64_t loc, const regstate *s, uint64_t seq)
{
    (void)seq;
    cfi_row row;
    memset(&row, 0, sizeof(row));
    row.pc = (uint32_t)loc;
    row.kind = s->cfa_kind;
    if (s->cfa_off < INT32_MIN || s->cfa_off > INT32_MAX)
        row.kind = CFI_UNSUPPORTED;
    row.cfa_off = (int32_t)s->cfa_off;
    if (s->ra == R_UNDEF) {
        row.flags |= CFI_RA_UNDEFINED;      /* outermost frame: _start, clone, thread start */
    } else if (s->ra == R_OFFSET && s->ra_off >= INT16_MIN && s->ra_off <= INT16_MAX) {
        row.ra_off = (int16_t)s->ra_off;
    } else if (s->ra == R_SAME) {
        row.flags |= CFI_RA_IN_REG;          /* arm64 leaf: still in LR */
    } else {
        row.kind = CFI_UNSUPPORTED;
    }
    if (s->bp == R_OFFSET && s->bp_off >= INT16_MIN && s->bp_off <= INT16_MAX) {
        row.flags |= CFI_BP_SAVED;
        row.bp_off = (int16_t)s->bp_off;
    } else if (s->bp != R_SAME) {
        row.flags |= CFI_BP_LOST;
    }
    push(b, &row);
}

/* Runs a CFA program from state s over [pc, pc_end), emitting a row per location change. With
 * emit_rows 0 it only computes the initial state (the CIE's instructions). */
static void run_program(rowbuf *b, const cie *c, const uint8_t *p, const uint8_t *end,
                        regstate *s, const regstate *initial, uint64_t pc, uint64_t pc_end,
                        int emit_rows, const uint8_t *sec, uint64_t sec_vaddr)
{
    regstate stack[STATE_STACK];
    int depth = 0;
    rd r = { p, end, 0 };
    uint64_t loc = pc, seq = 0;
    while (r.p < r.end && !r.bad) {
        uint8_t op = *r.p++;
        uint64_t reg, delta = 0, adv = 0;
        int64_t off;
        switch (op & 0xc0) {
        case 0x40: adv = 1; delta = op & 0x3f; break;
        case 0x80:
            off = (int64_t)rd_uleb(&r) * c->data_align;
            set_rule(s, op & 0x3f, R_OFFSET, off);
            continue;
        case 0xc0:
            reg = op & 0x3f;
            if (reg == REG_RA)
                set_rule(s, reg, initial->ra, initial->ra_off);
            else if (reg == REG_BP)
                set_rule(s, reg, initial->bp, initial->bp_off);
            continue;
        default: break;
        }
        if (!adv) {
            switch (op) {
            case 0x00: break;                                          /* nop */
            case 0x01: {                                               /* set_loc */
                uint64_t to = rd_encoded(&r, c->fde_enc, sec, sec_vaddr);
                if (emit_rows && to > loc) {
                    emit(b, loc, s, seq++);
                    loc = to;
                }
                break;
            }
            case 0x02: adv = 1; delta = rd_fixed(&r, 1); break;
            case 0x03: adv = 1; delta = rd_fixed(&r, 2); break;
            case 0x04: adv = 1; delta = rd_fixed(&r, 4); break;
            case 0x05: reg = rd_uleb(&r); off = (int64_t)rd_uleb(&r) * c->data_align;
                set_rule(s, reg, R_OFFSET, off); break;
            case 0x06: reg = rd_uleb(&r);
                if (reg == REG_RA) set_rule(s, reg, initial->ra, initial->ra_off);
                else if (reg == REG_BP) set_rule(s, reg, initial->bp, initial->bp_off);
                break;
            case 0x07: set_rule(s, rd_uleb(&r), R_UNDEF, 0); break;
            case 0x08: set_rule(s, rd_uleb(&r), R_SAME, 0); break;
            case 0x09: reg = rd_uleb(&r); rd_uleb(&r); set_rule(s, reg, R_OTHER, 0); break;
            case 0x0a:
                if (depth < STATE_STACK)
                    stack[depth++] = *s;
                else
                    r.bad = 1;
                break;
            case 0x0b:
                if (depth > 0) {
                    /* the CFA rule is not part of the remembered state in practice (GCC emits
                     * def_cfa after restore_state when needed), but restoring it is what every
                     * unwinder does too */
                    *s = stack[--depth];
                } else {
                    r.bad = 1;
                }
                break;
            case 0x0c: reg = rd_uleb(&r); s->cfa_off = (int64_t)rd_uleb(&r);
                s->cfa_kind = reg == REG_SP ? CFI_CFA_SP : reg == REG_BP ? CFI_CFA_BP : CFI_UNSUPPORTED;
                break;
            case 0x0d: reg = rd_uleb(&r);
                s->cfa_kind = reg == REG_SP ? CFI_CFA_SP : reg == REG_BP ? CFI_CFA_BP : CFI_UNSUPPORTED;
                break;
            case 0x0e: s->cfa_off = (int64_t)rd_uleb(&r); break;
            case 0x0f: {                                               /* def_cfa_expression */
                uint64_t n = rd_uleb(&r);
                int64_t thr;
                if (n > (uint64_t)(r.end - r.p)) { r.bad = 1; break; }
                if (plt_expression(r.p, n, &thr)) {
                    s->cfa_kind = CFI_CFA_PLT;
                    s->cfa_off = thr;
                } else {
                    s->cfa_kind = CFI_UNSUPPORTED;
                }
                r.p += n;
                break;
            }
            case 0x10: case 0x16: {                                    /* (val_)expression */
                reg = rd_uleb(&r);
                uint64_t n = rd_uleb(&r);
                if (n > (uint64_t)(r.end - r.p)) { r.bad = 1; break; }
                r.p += n;
                set_rule(s, reg, R_OTHER, 0);
                break;
            }
            case 0x11: reg = rd_uleb(&r); off = rd_sleb(&r) * c->data_align;
                set_rule(s, reg, R_OFFSET, off); break;
            case 0x12: reg = rd_uleb(&r); s->cfa_off = rd_sleb(&r) * c->data_align;
                s->cfa_kind = reg == REG_SP ? CFI_CFA_SP : reg == REG_BP ? CFI_CFA_BP : CFI_UNSUPPORTED;
                break;
            case 0x13: s->cfa_off = rd_sleb(&r) * c->data_align; break;
            case 0x14: case 0x15: reg = rd_uleb(&r);
                if (op == 0x14) rd_uleb(&r); else rd_sleb(&r);
                set_rule(s, reg, R_OTHER, 0); break;
            case 0x2d: break;                                          /* AARCH64_negate_ra_state */
            case 0x2e: rd_uleb(&r); break;                             /* GNU_args_size */
            case 0x2f: reg = rd_uleb(&r); off = -(int64_t)rd_uleb(&r) * c->data_align;
                set_rule(s, reg, R_OFFSET, off); break;
            default: r.bad = 1; break;                                 /* unknown: stop here */
            }
        }
        if (adv && emit_rows) {
            uint64_t to = loc + delta * c->code_align;
            if (to > loc && to <= pc_end) {
                emit(b, loc, s, seq++);
                loc = to;
            }
        }
    }
    if (emit_rows && loc < pc_end) {
        if (r.bad)
            s->cfa_kind = CFI_UNSUPPORTED;   /* the rest of this FDE is not trustworthy */
        emit(b, loc, s, seq);
    }
}

/* Parses a CIE at p (after its length and id fields). 0 on success. */
static int parse_cie(const uint8_t *p, const uint8_t *end, cie *c)
{
    rd r = { p, end, 0 };
    memset(c, 0, sizeof(*c));
    uint8_t version = (uint8_t)rd_fixed(&r, 1);
    const char *aug = (const char *)r.p;
    while (r.p < r.end && *r.p)
        r.p++;
    if (r.p >= r.end)
        return -1;
    size_t aug_len = (size_t)((const char *)r.p - aug);
    r.p++;
    if (version == 4) {
        /* .debug_frame v4: address_size, segment_selector_size */
        if (rd_fixed(&r, 1) != 8 || rd_fixed(&r, 1) != 0)
            return -1;
    }
    if (aug_len >= 2 && aug[0] == 'e' && aug[1] == 'h')
        rd_fixed(&r, 8);
    c->code_align = rd_uleb(&r);
    c->data_align = rd_sleb(&r);
    c->ra_reg = version == 1 ? rd_fixed(&r, 1) : rd_uleb(&r);
    c->fde_enc = 0;   /* absptr */
    const uint8_t *after_aug = NULL;
    for (size_t i = 0; i < aug_len && !r.bad; i++) {
        switch (aug[i]) {
        case 'z': {
            uint64_t n = rd_uleb(&r);
            c->has_aug_len = 1;
            if (n > (uint64_t)(r.end - r.p))
                return -1;
            after_aug = r.p + n;
            break;
        }
        case 'L': rd_fixed(&r, 1); break;
        case 'R': c->fde_enc = (uint8_t)rd_fixed(&r, 1); break;
        case 'P': {
            uint8_t enc = (uint8_t)rd_fixed(&r, 1);
            rd_encoded(&r, enc & 0x7f, p, 0);
            break;
        }
        case 'S': case 'B': case 'e': case 'h': break;
        default:
            if (!after_aug)
                return -1;                    /* unknown augmentation without 'z': cannot skip */
            i = aug_len;
            break;
        }
    }
    if (after_aug)
        r.p = after_aug;
    if (r.bad || c->code_align == 0 || c->ra_reg != REG_RA)
        return -1;
    c->insns = r.p;
    c->insns_end = end;
    return 0;
}

static int row_cmp(const void *a, const void *b)
{
    const cfi_row *x = a, *y = b;
    if (x->pc != y->pc)
        return x->pc < y->pc ? -1 : 1;
    /* at one address a real row sorts before the end marker of the FDE before it */
    return (x->kind == CFI_NONE) - (y->kind == CFI_NONE);
}

int cfi_compile(const uint8_t *sec, size_t len, uint64_t sec_vaddr, size_t max_rows,
                cfi_table *out)
{
    return cfi_compile_section(sec, len, sec_vaddr, max_rows, 0, out);
}

int cfi_compile_section(const uint8_t *sec, size_t len, uint64_t sec_vaddr, size_t max_rows,
                        int debug_frame, cfi_table *out)
{
    /* .eh_frame: a CIE has id 0 and an FDE's id is the distance back to its CIE; .debug_frame:
     * a CIE has id 0xffffffff and an FDE's id is its CIE's offset in the section (and pointers
     * are absolute, 8 bytes, unless an augmentation says otherwise) */
    const uint32_t cie_id = debug_frame ? 0xffffffffu : 0;
    rowbuf b = { NULL, 0, 0, max_rows ? max_rows : ((size_t)1 << 24), 0 };
    memset(out, 0, sizeof(*out));
    size_t off = 0;
    const uint8_t *cached_cie_at = NULL;
    cie c;
    int cie_ok = 0;
    while (off + 4 <= len && !b.full) {
        uint64_t length;
        uint32_t l32;
        memcpy(&l32, sec + off, 4);
        size_t hdr = 4;
        if (l32 == 0)
            break;                                      /* terminator */
        if (l32 == 0xffffffffu) {
            if (off + 12 > len)
                break;
            memcpy(&length, sec + off + 4, 8);
            hdr = 12;
        } else {
            length = l32;
        }
        if (length > len - off - hdr || length < 4)
            break;
        const uint8_t *ent = sec + off + hdr, *ent_end = ent + length;
        uint32_t id;
        memcpy(&id, ent, 4);
        size_t next = off + hdr + (size_t)length;
        if (hdr == 12 && debug_frame) {                 /* 64-bit DWARF entries: not supported */
            off = next;
            continue;
        }
        if (id != cie_id) {                             /* an FDE */
            if (debug_frame ? id >= len : id > (size_t)(ent - sec)) {
                off = next;
                continue;
            }
            const uint8_t *cie_at = debug_frame ? sec + id : ent - id;
            if (cie_at != cached_cie_at) {
                uint32_t cl;
                cached_cie_at = cie_at;
                cie_ok = 0;
                if ((size_t)(cie_at - sec) + 8 <= len) {
                    memcpy(&cl, cie_at, 4);
                    uint32_t cid;
                    memcpy(&cid, cie_at + 4, 4);
                    if (cl != 0xffffffffu && cl >= 4 && cl <= len - (size_t)(cie_at - sec) - 4 &&
                        cid == cie_id)
                        cie_ok = parse_cie(cie_at + 8, cie_at + 4 + cl, &c) == 0;
                }
            }
            if (cie_ok) {
                rd r = { ent + 4, ent_end, 0 };
                uint64_t pc = rd_encoded(&r, c.fde_enc, sec, sec_vaddr);
                uint64_t range = rd_encoded(&r, c.fde_enc & 0x0f, sec, sec_vaddr);
                if (c.has_aug_len) {
                    uint64_t n = rd_uleb(&r);
                    if (n > (uint64_t)(r.end - r.p))
                        r.bad = 1;
                    else
                        r.p += n;
                }
                if (!r.bad && range > 0 && pc < ((uint64_t)1 << 32) &&
                    pc + range < ((uint64_t)1 << 32)) {
                    regstate init = { CFI_UNSUPPORTED, 0, R_SAME, R_SAME, 0, 0 };
                    run_program(&b, &c, c.insns, c.insns_end, &init, &init, pc, pc, 0, sec,
                                sec_vaddr);
                    regstate s = init;
                    run_program(&b, &c, r.p, ent_end, &s, &init, pc, pc + range, 1, sec,
                                sec_vaddr);
                    cfi_row endrow;
                    memset(&endrow, 0, sizeof(endrow));
                    endrow.pc = (uint32_t)(pc + range);
                    endrow.kind = CFI_NONE;
                    push(&b, &endrow);
                    out->fdes++;
                }
            }
        }
        off = next;
    }
    if (b.n) {
        qsort(b.v, b.n, sizeof(*b.v), row_cmp);
        /* keep the first row per address (real before end marker), drop rows equal to the one
         * before. "First" is judged on the sorted input, not on what was kept: a row dropped as
         * equal to its predecessor still owns its address, so the end marker of the FDE before
         * (same address) must not take its place (that lost every leaf whose FDE starts with the
         * rule the previous function ends with, e.g. Rust's frameless functions) */
        size_t w = 0;
        for (size_t i = 0; i < b.n; i++) {
            if (i && b.v[i - 1].pc == b.v[i].pc)
                continue;
            if (w && b.v[w - 1].kind == b.v[i].kind && b.v[w - 1].cfa_off == b.v[i].cfa_off &&
                b.v[w - 1].ra_off == b.v[i].ra_off && b.v[w - 1].bp_off == b.v[i].bp_off &&
                b.v[w - 1].flags == b.v[i].flags)
                continue;
            b.v[w++] = b.v[i];
        }
        b.n = w;
        cfi_row *shrunk = realloc(b.v, b.n * sizeof(*b.v));
        if (shrunk)
            b.v = shrunk;
    }
    out->rows = b.v;
    out->n = b.n;
    out->truncated = b.full;
    return 0;
}

void cfi_free(cfi_table *t)
{
    free(t->rows);
    memset(t, 0, sizeof(*t));
}

const cfi_row *cfi_find(const cfi_table *t, uint64_t pc)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->rows[mid].pc <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    const cfi_row *r = &t->rows[lo - 1];
    return r->kind == CFI_NONE ? NULL : r;
}
