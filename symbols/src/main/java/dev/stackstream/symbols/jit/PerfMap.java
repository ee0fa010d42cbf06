package dev.stackstream.symbols.jit;

import dev.stackstream.symbols.Addresses;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A parsed perf map ({@code /tmp/perf-PID.map}): lines {@code START SIZE NAME}, START and SIZE in
 * hex with or without {@code 0x} (perf's spec says without; the JVM's {@code Compiler.perfmap}
 * writes it with). Malformed lines are skipped and counted. Where entries overlap (a map that is
 * appended to as code is replaced), the later line wins, as in perf.
 */
public final class PerfMap {
    /** A line longer than this is not a perf map line (and protects against binary garbage). */
    private static final int MAX_LINE = 64 * 1024;

    private final long[] starts;
    private final long[] ends;
    private final String[] names;
    private final int badLines;

    private PerfMap(long[] starts, long[] ends, String[] names, int badLines) {
        this.starts = starts;
        this.ends = ends;
        this.names = names;
        this.badLines = badLines;
    }

    /** Parses a whole map; never throws for bad content, only for I/O errors. */
    public static PerfMap parse(InputStream in) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
        int cap = 1024;
        long[] s = new long[cap];
        long[] e = new long[cap];
        String[] nm = new String[cap];
        int n = 0;
        int bad = 0;
        String line;
        while ((line = r.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            long[] parsed = line.length() > MAX_LINE ? null : parseHead(line);
            if (parsed == null) {
                bad++;
                continue;
            }
            if (n == s.length) {
                s = Arrays.copyOf(s, n * 2);
                e = Arrays.copyOf(e, n * 2);
                nm = Arrays.copyOf(nm, n * 2);
            }
            s[n] = parsed[0];
            e[n] = parsed[0] + parsed[1];
            nm[n] = line.substring((int) parsed[2]);
            n++;
        }
        return build(s, e, nm, n, bad);
    }

    /** [start, size, nameIndex] or null. */
    private static long[] parseHead(String line) {
        int p = 0;
        int len = line.length();
        int a0 = p;
        while (p < len && line.charAt(p) != ' ') {
            p++;
        }
        int a1 = p;
        while (p < len && line.charAt(p) == ' ') {
            p++;
        }
        int b0 = p;
        while (p < len && line.charAt(p) != ' ') {
            p++;
        }
        int b1 = p;
        if (p >= len) {
            return null; // no name
        }
        p++;
        if (p >= len) {
            return null;
        }
        long start = hex(line, a0, a1);
        long size = hex(line, b0, b1);
        if (start == -1 || size == -1 || size <= 0 || start + size < start) {
            return null;
        }
        return new long[] {start, size, p};
    }

    /** Hex with optional 0x; -1 when malformed (a perf map never holds an address of all ones). */
    private static long hex(String s, int from, int to) {
        if (to - from > 2 && s.charAt(from) == '0' && (s.charAt(from + 1) == 'x' || s.charAt(from + 1) == 'X')) {
            from += 2;
        }
        if (to <= from || to - from > 16) {
            return -1;
        }
        try {
            return Long.parseUnsignedLong(s, from, to, 16);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static PerfMap build(long[] s, long[] e, String[] nm, int n, int bad) {
        // Sort by start, stably, so later lines come after earlier ones at the same start.
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Long.compareUnsigned(s[a], s[b]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        long[] ss = new long[n];
        long[] ee = new long[n];
        String[] names = new String[n];
        int[] line = new int[n];
        int m = 0;
        for (int k = 0; k < n; k++) {
            int i = order[k];
            if (m > 0 && ss[m - 1] == s[i]) {
                m--; // same start: the later line replaces the earlier
            }
            ss[m] = s[i];
            ee[m] = e[i];
            names[m] = nm[i];
            line[m] = i;
            m++;
        }
        // An earlier entry overlapped by a later one is cut where the later one starts.
        for (int k = 0; k + 1 < m; k++) {
            if (Long.compareUnsigned(ee[k], ss[k + 1]) > 0 && line[k + 1] > line[k]) {
                ee[k] = ss[k + 1];
            }
        }
        return new PerfMap(Arrays.copyOf(ss, m), Arrays.copyOf(ee, m), Arrays.copyOf(names, m), bad);
    }

    /** Name of the JIT code at address, or null. */
    public String nameAt(long address) {
        int hi = Addresses.floorIndex(starts, address);
        for (int k = hi; k >= 0 && k > hi - 4; k--) {
            if (Long.compareUnsigned(address, starts[k]) >= 0 && Long.compareUnsigned(address, ends[k]) < 0) {
                return names[k];
            }
        }
        return null;
    }

    public int size() {
        return starts.length;
    }

    /** Lines that did not parse. */
    public int badLines() {
        return badLines;
    }

    public long start(int i) {
        return starts[i];
    }

    public long end(int i) {
        return ends[i];
    }

    public String name(int i) {
        return names[i];
    }
}
