package dev.stackstream.symbols.kernel;

import dev.stackstream.symbols.Addresses;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Kernel text symbols from /proc/kallsyms. Symbols have no sizes there: each extends to the next
 * one (as perf assumes). When every address reads as zero (no CAP_SYSLOG, or kptr_restrict=2),
 * the table is {@linkplain #readable() unreadable} and kernel frames stay unresolved.
 */
public final class KernelSymbols {
    // Compact layout: a kernel has 100k-200k text symbols, and one String each would cost the
    // sidecar ~10 MB of heap. Names stay UTF-8 in one blob (symbol i spans nameStart[i] to
    // nameStart[i + 1]) and are decoded on first use; modules are a handful, referenced by index.
    private final long[] starts;
    private final byte[] nameBytes;
    private final int[] nameStart;
    private final short[] moduleIndex;
    private final String[] moduleNames;
    private final String[] decoded;
    private final boolean readable;
    private final int zeroLines;

    private KernelSymbols(long[] starts, byte[] nameBytes, int[] nameStart, short[] moduleIndex,
                          String[] moduleNames, boolean readable, int zeroLines) {
        this.starts = starts;
        this.nameBytes = nameBytes;
        this.nameStart = nameStart;
        this.moduleIndex = moduleIndex;
        this.moduleNames = moduleNames;
        this.decoded = new String[starts.length];
        this.readable = readable;
        this.zeroLines = zeroLines;
    }

    /**
     * Reads and sorts kallsyms (100k-200k lines; 100-300 ms). Streams line by line: the file is
     * ~5 MB of text, and reading it whole would be the sidecar's largest heap peak.
     */
    public static KernelSymbols load(Path kallsyms) throws IOException {
        int cap = 1 << 16;
        long[] starts = new long[cap];
        int[] nameFrom = new int[cap];
        short[] mods = new short[cap];
        byte[] names = new byte[1 << 20];
        int namesLength = 0;
        Map<String, Short> moduleIds = new HashMap<>();
        List<String> moduleNames = new ArrayList<>();
        moduleNames.add(null);  // index 0: the core kernel
        int n = 0;
        int zeros = 0;
        byte[] line = new byte[512];
        try (InputStream in = new BufferedInputStream(Files.newInputStream(kallsyms), 1 << 16)) {
            int lineEnd;
            while ((lineEnd = readLine(in, line)) >= 0) {
                if (lineEnd > line.length) {
                    continue;  // longer than any symbol line: skipped whole
                }
                // "ffffffff81000000 T _stext" or "ffffffffc0a01000 t ext4_fill_super\t[ext4]"
                int sp1 = indexOf(line, (byte) ' ', 0, lineEnd);
                if (sp1 <= 0 || sp1 + 3 > lineEnd) {
                    continue;
                }
                byte type = line[sp1 + 1];
                if (type != 't' && type != 'T' && type != 'w' && type != 'W') {
                    continue;
                }
                long addr = parseHex(line, 0, sp1);
                if (addr == -1L) {
                    continue;
                }
                if (addr == 0) {
                    zeros++;
                    continue;
                }
                int nameBegin = sp1 + 3;
                int tab = indexOf(line, (byte) '\t', nameBegin, lineEnd);
                int nameEnd = tab < 0 ? lineEnd : tab;
                short module = 0;
                if (tab >= 0) {
                    String m = new String(line, tab + 1, lineEnd - tab - 1, StandardCharsets.UTF_8).trim();
                    String bracketed = m.startsWith("[") ? m : "[" + m + "]";
                    module = moduleIds.computeIfAbsent(bracketed, k -> {
                        moduleNames.add(k);
                        return (short) (moduleNames.size() - 1);
                    });
                }
                if (n + 1 >= starts.length) {
                    starts = Arrays.copyOf(starts, starts.length * 2);
                    nameFrom = Arrays.copyOf(nameFrom, nameFrom.length * 2);
                    mods = Arrays.copyOf(mods, mods.length * 2);
                }
                int len = nameEnd - nameBegin;
                if (namesLength + len > names.length) {
                    names = Arrays.copyOf(names, Math.max(names.length * 2, namesLength + len));
                }
                System.arraycopy(line, nameBegin, names, namesLength, len);
                starts[n] = addr;
                nameFrom[n] = namesLength;
                mods[n] = module;
                namesLength += len;
                n++;
                nameFrom[n] = namesLength;
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        long[] s0 = starts;
        Arrays.sort(order, (a, b) -> Long.compareUnsigned(s0[a], s0[b]));
        long[] s = new long[n];
        int[] offsets = new int[n + 1];
        short[] md = new short[n];
        byte[] blob = new byte[namesLength];
        int at = 0;
        for (int i = 0; i < n; i++) {
            int k = order[i];
            s[i] = starts[k];
            md[i] = mods[k];
            offsets[i] = at;
            int len = nameFrom[k + 1] - nameFrom[k];
            System.arraycopy(names, nameFrom[k], blob, at, len);
            at += len;
        }
        offsets[n] = at;
        return new KernelSymbols(s, blob, offsets, md, moduleNames.toArray(new String[0]), n > 0, zeros);
    }

    /**
     * Reads one line (without its newline) into buf; returns its length, a length greater than
     * buf.length for a line that did not fit (its rest is consumed), or -1 at the end of input.
     */
    private static int readLine(InputStream in, byte[] buf) throws IOException {
        int len = 0;
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (len < buf.length) {
                buf[len] = (byte) c;
            }
            len++;
        }
        if (c < 0 && len == 0) {
            return -1;
        }
        return len;
    }

    private static int indexOf(byte[] b, byte wanted, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == wanted) {
                return i;
            }
        }
        return -1;
    }

    /** Unsigned hex in b[from, to), or -1 when malformed (no kallsyms line has address ~0). */
    private static long parseHex(byte[] b, int from, int to) {
        if (to <= from || to - from > 16) {
            return -1L;
        }
        long v = 0;
        for (int i = from; i < to; i++) {
            int d = Character.digit(b[i], 16);
            if (d < 0) {
                return -1L;
            }
            v = (v << 4) | d;
        }
        return v;
    }

    /** False when kallsyms showed only zero addresses (CAP_SYSLOG missing). */
    public boolean readable() {
        return readable;
    }

    /** Lines hidden as zero addresses. */
    public int zeroLines() {
        return zeroLines;
    }

    public int size() {
        return starts.length;
    }

    /** Highest symbol address known (addresses above it may belong to a module loaded later). */
    public long lastAddress() {
        return starts.length == 0 ? 0 : starts[starts.length - 1];
    }

    /**
     * Index of the symbol at or below address, or -1. Kernel addresses are compared unsigned
     * (they have the top bit set).
     */
    public int indexOf(long address) {
        return Addresses.floorIndex(starts, address);
    }

    /** The symbol's name, decoded once and kept (only symbols that get sampled are decoded). */
    public String name(int i) {
        String name = decoded[i];
        if (name == null) {
            name = new String(nameBytes, nameStart[i], nameStart[i + 1] - nameStart[i], StandardCharsets.UTF_8);
            decoded[i] = name;
        }
        return name;
    }

    /** The module ({@code [ext4]}) for module symbols, null for the core kernel. */
    public String module(int i) {
        return moduleNames[moduleIndex[i]];
    }

    public long start(int i) {
        return starts[i];
    }
}
