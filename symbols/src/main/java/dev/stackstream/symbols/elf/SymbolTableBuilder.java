package dev.stackstream.symbols.elf;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Collects function symbols from ELF .symtab/.dynsym sections (and synthesized {@code name@plt}
 * entries) and builds a {@link SymbolTable}.
 *
 * <p>Where several symbols start at the same address (aliases such as {@code memcpy} and
 * {@code __memcpy_avx_unaligned}), one name is kept by the same preferences perf applies, so our
 * names match perf's: a sized symbol over a zero-sized one, non-weak over weak, global over local, fewer
 * leading underscores, then the longer name. Zero-sized symbols extend to the next symbol (as perf
 * does), bounded by their section.
 */
public final class SymbolTableBuilder {
    private static final int STT_FUNC = 2;
    private static final int STT_GNU_IFUNC = 10;
    private static final int STB_LOCAL = 0;
    private static final int STB_GLOBAL = 1;
    private static final int STB_WEAK = 2;
    private static final int MAX_SYMBOLS = 20_000_000;
    private static final int R_X86_64_IRELATIVE = 37;
    private static final int R_AARCH64_IRELATIVE = 1032;
    private static final byte[] PLT = "@plt".getBytes(StandardCharsets.US_ASCII);
    /** PLT entries lose against any real symbol at the same address. */
    private static final int PLT_RANK = 3 << 24;

    private long[] starts = new long[256];
    private long[] sizes = new long[256];
    private long[] limits = new long[256];
    private int[] ranks = new int[256];
    private int[] nameOff = new int[256];
    private int[] nameLen = new int[256];
    private byte[] names = new byte[4096];
    private int count;
    private int nameBytes;
    /** IRELATIVE PLT entries {address, addend}, named once all symbols are in. */
    private final List<long[]> pendingPlt = new ArrayList<>();

    /**
     * Adds the STT_FUNC / STT_GNU_IFUNC symbols of a symbol section (SHT_SYMTAB or SHT_DYNSYM).
     *
     * @param priority 0 for the preferred source (a .symtab), higher for fallbacks: on equal starts
     *     a lower priority wins only after the perf-like preferences tie
     * @return number of symbols added
     */
    public int addSymbols(ElfFile elf, ElfFile.Section symSection, int priority) throws ElfFormatException {
        ElfFile.Section strSection = elf.section(symSection.link());
        if (strSection == null) {
            throw new ElfFormatException("symbol section " + symSection.name() + " links to no string table");
        }
        ByteBuffer syms = elf.sectionBytes(symSection);
        ByteBuffer strs = elf.sectionBytes(strSection);
        long ent = symSection.entSize() == 0 ? 24 : symSection.entSize();
        if (ent < 24) {
            throw new ElfFormatException("symbol entry size " + ent + " < 24 in " + symSection.name());
        }
        long n = syms.capacity() / ent;
        if (n > MAX_SYMBOLS) {
            throw new ElfFormatException("implausible symbol count " + n + " in " + symSection.name());
        }
        int added = 0;
        for (int i = 1; i < n; i++) {
            int at = (int) (i * ent);
            int info = Byte.toUnsignedInt(syms.get(at + 4));
            int stype = info & 0xf;
            int bind = info >>> 4;
            int shndx = Short.toUnsignedInt(syms.getShort(at + 6));
            long value = syms.getLong(at + 8);
            long size = syms.getLong(at + 16);
            if ((stype != STT_FUNC && stype != STT_GNU_IFUNC) || shndx == 0 || shndx >= 0xff00 || value == 0) {
                continue;
            }
            long nameIdx = Integer.toUnsignedLong(syms.getInt(at));
            int len = nameLength(strs, nameIdx);
            if (len <= 0) {
                continue;
            }
            ElfFile.Section home = elf.section(shndx);
            long limit = home != null && home.size() > 0 ? home.addr() + home.size() : Long.MAX_VALUE;
            add(value, size < 0 ? 0 : size, limit, rank(bind, size, strs, nameIdx, len, priority), strs,
                    (int) nameIdx, len);
            added++;
        }
        return added;
    }

    /**
     * Synthesizes {@code name@plt} symbols for the PLT entries of an x86-64 or aarch64 binary from
     * .rela.plt, as perf does; returns how many. On x86-64 each entry's {@code jmp *GOT(%rip)} is
     * decoded to find its GOT slot and so its relocation (IRELATIVE relocations, for calls to ifuncs
     * such as memcpy inside libc, are not in PLT order); elsewhere, and when decoding fails, entries
     * follow .rela.plt order. An IRELATIVE entry is named after the ifunc its addend points to, else
     * {@code *ABS*+0xADDEND@plt} (perf's name).
     */
    public int addPltSymbols(ElfFile elf) throws ElfFormatException {
        ElfFile.Section rela = elf.section(".rela.plt");
        ElfFile.Section plt = elf.section(".plt.sec");
        boolean x86 = elf.machine() == ElfFile.EM_X86_64;
        long first;
        if (plt != null) {
            first = plt.addr();
        } else {
            plt = elf.section(".plt");
            if (plt == null) {
                return 0;
            }
            first = plt.addr() + (x86 ? 16 : 32);
        }
        if (rela == null || rela.type() != ElfFile.SHT_RELA) {
            return 0;
        }
        ElfFile.Section dynsym = elf.section(rela.link());
        if (dynsym == null || dynsym.type() != ElfFile.SHT_DYNSYM) {
            return 0;
        }
        ElfFile.Section dynstr = elf.section(dynsym.link());
        if (dynstr == null) {
            return 0;
        }
        ByteBuffer r = elf.sectionBytes(rela);
        ByteBuffer syms = elf.sectionBytes(dynsym);
        ByteBuffer strs = elf.sectionBytes(dynstr);
        ByteBuffer code = plt.type() == ElfFile.SHT_NOBITS ? null : elf.sectionBytes(plt);
        int n = r.capacity() / 24;
        Map<Long, Integer> bySlot = new HashMap<>();
        for (int i = 0; i < n; i++) {
            bySlot.putIfAbsent(r.getLong(i * 24), i);
        }
        long entry = 16;
        long pltEnd = plt.addr() + plt.size();
        int added = 0;
        for (int k = 0; first + (k + 1) * entry <= pltEnd && k < 1_000_000; k++) {
            long addr = first + k * entry;
            int relaIdx = k < n ? k : -1;
            if (x86 && code != null) {
                long slot = x86JumpSlot(code, addr - plt.addr(), addr);
                Integer idx = slot == Long.MIN_VALUE ? null : bySlot.get(slot);
                if (idx != null) {
                    relaIdx = idx;
                }
            }
            if (relaIdx < 0) {
                continue;
            }
            long info = r.getLong(relaIdx * 24 + 8);
            long symIdx = info >>> 32;
            int type = (int) info;
            if (symIdx == 0) {
                if (type == R_X86_64_IRELATIVE && x86 || type == R_AARCH64_IRELATIVE && !x86) {
                    pendingPlt.add(new long[] {addr, r.getLong(relaIdx * 24 + 16)});
                    added++;
                }
                continue;
            }
            long at = symIdx * 24;
            if (at + 24 > syms.capacity()) {
                continue;
            }
            long nameIdx = Integer.toUnsignedLong(syms.getInt((int) at));
            int len = nameLength(strs, nameIdx);
            if (len <= 0) {
                continue;
            }
            byte[] name = new byte[len + 4];
            strs.get((int) nameIdx, name, 0, len);
            System.arraycopy(PLT, 0, name, len, 4);
            add(addr, entry, pltEnd, PLT_RANK, ByteBuffer.wrap(name), 0, name.length);
            added++;
        }
        return added;
    }

    /**
     * Names x86-64 {@code .plt.got} entries (calls through GOT slots bound at load time, e.g. of
     * functions also referenced by address): each entry's {@code jmp *GOT(%rip)} slot is matched
     * with its GLOB_DAT relocation in .rela.dyn; the name is {@code symbol@plt}, as perf shows them.
     */
    public int addPltGotSymbols(ElfFile elf) throws ElfFormatException {
        ElfFile.Section pltGot = elf.section(".plt.got");
        ElfFile.Section rela = elf.section(".rela.dyn");
        if (elf.machine() != ElfFile.EM_X86_64 || pltGot == null || pltGot.type() == ElfFile.SHT_NOBITS
                || rela == null || rela.type() != ElfFile.SHT_RELA) {
            return 0;
        }
        ElfFile.Section dynsym = elf.section(rela.link());
        ElfFile.Section dynstr = dynsym == null ? null : elf.section(dynsym.link());
        if (dynsym == null || dynsym.type() != ElfFile.SHT_DYNSYM || dynstr == null) {
            return 0;
        }
        ByteBuffer code = elf.sectionBytes(pltGot);
        ByteBuffer r = elf.sectionBytes(rela);
        ByteBuffer syms = elf.sectionBytes(dynsym);
        ByteBuffer strs = elf.sectionBytes(dynstr);
        Map<Long, Long> symBySlot = new HashMap<>();
        for (int i = 0; i + 24 <= r.capacity(); i += 24) {
            long symIdx = r.getLong(i + 8) >>> 32;
            if (symIdx != 0) {
                symBySlot.putIfAbsent(r.getLong(i), symIdx);
            }
        }
        long entry = pltGot.entSize() == 16 ? 16 : 8;
        int added = 0;
        for (long off = 0; off + entry <= code.capacity(); off += entry) {
            long addr = pltGot.addr() + off;
            long slot = x86JumpSlot(code, off, addr);
            Long symIdx = slot == Long.MIN_VALUE ? null : symBySlot.get(slot);
            if (symIdx == null || symIdx * 24 + 24 > syms.capacity()) {
                continue;
            }
            long nameIdx = Integer.toUnsignedLong(syms.getInt((int) (symIdx * 24)));
            int len = nameLength(strs, nameIdx);
            if (len <= 0) {
                continue;
            }
            byte[] name = new byte[len + 4];
            strs.get((int) nameIdx, name, 0, len);
            System.arraycopy(PLT, 0, name, len, 4);
            add(addr, entry, pltGot.addr() + pltGot.size(), PLT_RANK, ByteBuffer.wrap(name), 0, name.length);
            added++;
        }
        return added;
    }

    /** The GOT slot an x86-64 PLT entry jumps through ({@code [f2] ff 25 disp32}), or MIN_VALUE. */
    private static long x86JumpSlot(ByteBuffer code, long entryOffset, long entryAddr) {
        for (int j = 0; j < 10; j++) {
            long p = entryOffset + j;
            if (p < 0 || p + 6 > code.capacity()) {
                return Long.MIN_VALUE;
            }
            if ((code.get((int) p) & 0xff) == 0xff && code.get((int) p + 1) == 0x25) {
                return entryAddr + j + 6 + code.getInt((int) p + 2);
            }
        }
        return Long.MIN_VALUE;
    }

    /** Names the IRELATIVE PLT entries after the ifunc symbol at their addend, before sorting. */
    private void resolvePendingPlt() {
        if (pendingPlt.isEmpty()) {
            return;
        }
        Map<Long, Integer> best = new HashMap<>();
        for (long[] p : pendingPlt) {
            best.put(p[1], -1);
        }
        int symbols = count;
        for (int i = 0; i < symbols; i++) {
            Integer cur = best.get(starts[i]);
            if (cur != null && (cur < 0 || ranks[i] < ranks[cur])) {
                best.put(starts[i], i);
            }
        }
        for (long[] p : pendingPlt) {
            int i = best.get(p[1]);
            byte[] name;
            if (i >= 0) {
                int len = nameLen[i];
                for (int k = 0; k < nameLen[i]; k++) {
                    if (names[nameOff[i] + k] == '@') {
                        len = k; // memcpy@@GLIBC_2.14 -> memcpy@plt
                        break;
                    }
                }
                name = Arrays.copyOf(Arrays.copyOfRange(names, nameOff[i], nameOff[i] + len), len + 4);
                System.arraycopy(PLT, 0, name, len, 4);
            } else {
                name = ("*ABS*+0x" + Long.toHexString(p[1]) + "@plt").getBytes(StandardCharsets.US_ASCII);
            }
            add(p[0], 16, p[0] + 16, PLT_RANK, ByteBuffer.wrap(name), 0, name.length);
        }
        pendingPlt.clear();
    }

    private static int nameLength(ByteBuffer strs, long idx) {
        if (idx <= 0 || idx >= strs.capacity()) {
            return -1;
        }
        int p = (int) idx;
        int limit = strs.capacity();
        while (p < limit && strs.get(p) != 0) {
            p++;
        }
        return p >= limit ? -1 : p - (int) idx;
    }

    /** Lower is better: sized, then binding (global, local, weak), then fewer leading underscores, then longer name. */
    private static int rank(int bind, long size, ByteBuffer strs, long nameIdx, int len, int priority) {
        int sized = size > 0 ? 0 : 1;
        int b = bind == STB_GLOBAL ? 0 : bind == STB_LOCAL ? 1 : bind == STB_WEAK ? 2 : 3;
        int underscores = 0;
        while (underscores < len && underscores < 7 && strs.get((int) nameIdx + underscores) == '_') {
            underscores++;
        }
        int lengthScore = 4095 - Math.min(len, 4095);
        return (sized << 23) | (b << 20) | (underscores << 16) | (lengthScore << 4) | Math.min(priority, 15);
    }

    private void add(long start, long size, long limit, int rank, ByteBuffer strs, int nameIdx, int len) {
        if (count == starts.length) {
            int cap = count * 2;
            starts = Arrays.copyOf(starts, cap);
            sizes = Arrays.copyOf(sizes, cap);
            limits = Arrays.copyOf(limits, cap);
            ranks = Arrays.copyOf(ranks, cap);
            nameOff = Arrays.copyOf(nameOff, cap);
            nameLen = Arrays.copyOf(nameLen, cap);
        }
        if (nameBytes + len > names.length) {
            names = Arrays.copyOf(names, Math.max(names.length * 2, nameBytes + len));
        }
        strs.get(nameIdx, names, nameBytes, len);
        starts[count] = start;
        sizes[count] = size;
        limits[count] = limit;
        ranks[count] = rank;
        nameOff[count] = nameBytes;
        nameLen[count] = len;
        nameBytes += len;
        count++;
    }

    public int count() {
        return count;
    }

    /** Sorts, merges aliases, fixes zero sizes, and builds the table. */
    public SymbolTable build(UnaryOperator<String> demangler) {
        resolvePendingPlt();
        int[] order = new int[count];
        for (int i = 0; i < count; i++) {
            order[i] = i;
        }
        sort(order, 0, count - 1);
        List<Integer> kept = new ArrayList<>(count);
        for (int k = 0; k < count; k++) {
            int i = order[k];
            if (!kept.isEmpty() && starts[kept.get(kept.size() - 1)] == starts[i]) {
                continue; // an alias that ranks lower
            }
            kept.add(i);
        }
        int n = kept.size();
        long[] s = new long[n];
        long[] e = new long[n];
        int[] off = new int[n];
        int[] len = new int[n];
        ByteBufferBuilder nb = new ByteBufferBuilder(nameBytes);
        for (int k = 0; k < n; k++) {
            int i = kept.get(k);
            s[k] = starts[i];
            long size = sizes[i];
            if (size == 0) {
                long next = k + 1 < n ? starts[kept.get(k + 1)] : limits[i];
                long end = Math.min(next, limits[i]);
                e[k] = end > s[k] ? end : s[k] + 1;
            } else {
                e[k] = s[k] + size;
            }
            off[k] = nb.append(names, nameOff[i], nameLen[i]);
            len[k] = nameLen[i];
        }
        return new SymbolTable(s, e, off, len, nb.toArray(), demangler);
    }

    /** Orders symbol indices by (start, rank): a primitive quicksort, no boxing (tables reach 100k+). */
    private void sort(int[] a, int lo, int hi) {
        while (lo < hi) {
            if (hi - lo < 16) {
                for (int i = lo + 1; i <= hi; i++) {
                    int v = a[i];
                    int j = i - 1;
                    while (j >= lo && less(v, a[j])) {
                        a[j + 1] = a[j];
                        j--;
                    }
                    a[j + 1] = v;
                }
                return;
            }
            int pivot = a[(lo + hi) >>> 1];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (less(a[i], pivot)) {
                    i++;
                }
                while (less(pivot, a[j])) {
                    j--;
                }
                if (i <= j) {
                    int t = a[i];
                    a[i] = a[j];
                    a[j] = t;
                    i++;
                    j--;
                }
            }
            // Recurse into the smaller half, loop on the larger: stack depth stays O(log n).
            if (j - lo < hi - i) {
                sort(a, lo, j);
                lo = i;
            } else {
                sort(a, i, hi);
                hi = j;
            }
        }
    }

    private boolean less(int x, int y) {
        int c = Long.compare(starts[x], starts[y]);
        if (c != 0) {
            return c < 0;
        }
        c = Integer.compare(ranks[x], ranks[y]);
        return c != 0 ? c < 0 : x < y;
    }

    /** Compacts the names of kept symbols into one array. */
    private static final class ByteBufferBuilder {
        private byte[] data;
        private int size;

        ByteBufferBuilder(int capacity) {
            data = new byte[Math.max(16, capacity)];
        }

        int append(byte[] src, int off, int len) {
            if (size + len > data.length) {
                data = Arrays.copyOf(data, Math.max(data.length * 2, size + len));
            }
            System.arraycopy(src, off, data, size, len);
            int at = size;
            size += len;
            return at;
        }

        byte[] toArray() {
            return Arrays.copyOf(data, size);
        }
    }
}
