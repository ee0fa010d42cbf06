package dev.stackstream.symbols.kernel;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Kernel text symbols from /proc/kallsyms. Symbols have no sizes there: each extends to the next
 * one (as perf assumes). When every address reads as zero (no CAP_SYSLOG, or kptr_restrict=2),
 * the table is {@linkplain #readable() unreadable} and kernel frames stay unresolved.
 */
public final class KernelSymbols {
    private final long[] starts;
    private final String[] names;
    private final String[] modules;
    private final boolean readable;
    private final int zeroLines;

    private KernelSymbols(long[] starts, String[] names, String[] modules, boolean readable, int zeroLines) {
        this.starts = starts;
        this.names = names;
        this.modules = modules;
        this.readable = readable;
        this.zeroLines = zeroLines;
    }

    /** Reads and sorts kallsyms (about 200k lines; 100-300 ms). */
    public static KernelSymbols load(Path kallsyms) throws IOException {
        int cap = 1 << 16;
        long[] starts = new long[cap];
        String[] names = new String[cap];
        String[] modules = new String[cap];
        int n = 0;
        int zeros = 0;
        try (BufferedReader r = Files.newBufferedReader(kallsyms, StandardCharsets.UTF_8)) {
            String line;
            while ((line = r.readLine()) != null) {
                int sp1 = line.indexOf(' ');
                if (sp1 <= 0 || sp1 + 3 > line.length()) {
                    continue;
                }
                char type = line.charAt(sp1 + 1);
                if (type != 't' && type != 'T' && type != 'w' && type != 'W') {
                    continue;
                }
                long addr;
                try {
                    addr = Long.parseUnsignedLong(line, 0, sp1, 16);
                } catch (NumberFormatException e) {
                    continue;
                }
                if (addr == 0) {
                    zeros++;
                    continue;
                }
                int nameStart = sp1 + 3;
                int tab = line.indexOf('\t', nameStart);
                String name = tab < 0 ? line.substring(nameStart) : line.substring(nameStart, tab);
                String module = null;
                if (tab >= 0) {
                    module = line.substring(tab + 1).trim();
                    if (!module.startsWith("[")) {
                        module = "[" + module + "]";
                    }
                    module = module.intern();
                }
                if (n == starts.length) {
                    starts = Arrays.copyOf(starts, n * 2);
                    names = Arrays.copyOf(names, n * 2);
                    modules = Arrays.copyOf(modules, n * 2);
                }
                starts[n] = addr;
                names[n] = name;
                modules[n] = module;
                n++;
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        long[] s0 = starts;
        Arrays.sort(order, (a, b) -> Long.compareUnsigned(s0[a], s0[b]));
        long[] s = new long[n];
        String[] nm = new String[n];
        String[] md = new String[n];
        for (int i = 0; i < n; i++) {
            s[i] = starts[order[i]];
            nm[i] = names[order[i]];
            md[i] = modules[order[i]];
        }
        return new KernelSymbols(s, nm, md, n > 0, zeros);
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
        int lo = 0;
        int hi = starts.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(starts[mid], address) <= 0) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return hi;
    }

    public String name(int i) {
        return names[i];
    }

    /** The module ({@code [ext4]}) for module symbols, null for the core kernel. */
    public String module(int i) {
        return modules[i];
    }

    public long start(int i) {
        return starts[i];
    }
}
