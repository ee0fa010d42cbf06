package dev.stackstream.symbols.elf;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * Function symbols of one binary: sorted (start, end) arrays searched by binary search, names kept
 * as UTF-8 bytes in one array and turned into (demangled) Strings only when first looked up.
 * Immutable apart from that lazy name cache; safe to share between processes and threads.
 */
public final class SymbolTable {
    /** An empty table: the module has no symbols we can read. */
    public static final SymbolTable EMPTY = new SymbolTable(new long[0], new long[0], new int[0], new int[0],
            new byte[0], UnaryOperator.identity());

    private final long[] starts;
    private final long[] ends;
    private final int[] nameOffsets;
    private final int[] nameLengths;
    private final byte[] names;
    private final String[] decoded;
    private final UnaryOperator<String> demangler;

    SymbolTable(long[] starts, long[] ends, int[] nameOffsets, int[] nameLengths, byte[] names,
                UnaryOperator<String> demangler) {
        this.starts = starts;
        this.ends = ends;
        this.nameOffsets = nameOffsets;
        this.nameLengths = nameLengths;
        this.names = names;
        this.decoded = new String[starts.length];
        this.demangler = demangler;
    }

    public int size() {
        return starts.length;
    }

    /**
     * Index of the symbol covering a link-time virtual address, or -1. Symbols may nest (a local
     * label inside a function); the innermost covering one wins, looking back a few entries.
     */
    public int indexOf(long vaddr) {
        int i = Arrays.binarySearch(starts, vaddr);
        if (i < 0) {
            i = -i - 2;
        } else {
            // Equal starts were merged at build time, so this is the only one.
        }
        for (int k = i; k >= 0 && k > i - 4; k--) {
            if (vaddr >= starts[k] && vaddr < ends[k]) {
                return k;
            }
        }
        return -1;
    }

    /** Demangled name of the function covering vaddr, or null. */
    public String nameAt(long vaddr) {
        int i = indexOf(vaddr);
        return i < 0 ? null : name(i);
    }

    public long start(int i) {
        return starts[i];
    }

    public long end(int i) {
        return ends[i];
    }

    /** Demangled name of symbol i (decoded once, then cached; benign race). */
    public String name(int i) {
        String s = decoded[i];
        if (s == null) {
            String raw = new String(names, nameOffsets[i], nameLengths[i], StandardCharsets.UTF_8);
            s = demangler.apply(raw).intern();
            decoded[i] = s;
        }
        return s;
    }

    /** The raw (mangled) name of symbol i. */
    public String rawName(int i) {
        return new String(names, nameOffsets[i], nameLengths[i], StandardCharsets.UTF_8);
    }

    /** Estimated heap footprint, for the memory-bounded cache. */
    public long memoryBytes() {
        return 64L + starts.length * (8L + 8 + 4 + 4 + 8) + names.length;
    }
}
