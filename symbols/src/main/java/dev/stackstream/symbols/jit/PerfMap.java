package dev.stackstream.symbols.jit;

import dev.stackstream.symbols.Addresses;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * A parsed perf map ({@code /tmp/perf-PID.map}): lines {@code START SIZE NAME}, START and SIZE in
 * hex with or without {@code 0x} (perf's spec says without; the JVM's {@code Compiler.perfmap}
 * writes it with). Malformed lines are skipped and counted. Where entries overlap (a map that is
 * appended to as code is replaced), the later line wins, as in perf. Immutable: a map that grew is
 * a new instance ({@link #appended}) sharing nothing mutable with the old one.
 */
public final class PerfMap {
    public static final PerfMap EMPTY = new PerfMap(new long[0], new long[0], new String[0], new long[0], 0, 0);

    private final long[] starts;
    private final long[] ends;
    private final String[] names;
    /** Line number in the file of each entry: which of two overlapping entries is later. */
    private final long[] lines;
    private final long lineCount;
    private final int badLines;

    private PerfMap(long[] starts, long[] ends, String[] names, long[] lines, long lineCount, int badLines) {
        this.starts = starts;
        this.ends = ends;
        this.names = names;
        this.lines = lines;
        this.lineCount = lineCount;
        this.badLines = badLines;
    }

    /** Parses a whole map with the default line bound; never throws for bad content, only for I/O errors. */
    public static PerfMap parse(InputStream in) throws IOException {
        PerfMapLines lines = new PerfMapLines(PerfMapLines.DEFAULT_MAX_LINE);
        byte[] buf = new byte[1 << 16];
        int n;
        while ((n = in.read(buf)) > 0) {
            lines.feed(buf, 0, n);
        }
        lines.endOfInput();
        return EMPTY.appended(lines);
    }

    /**
     * This map followed by lines read later from the same file: their entries replace the ones they
     * overlap. The old entries are sorted already, so this is a sort of the new ones and a merge.
     */
    public PerfMap appended(PerfMapLines more) {
        int n = more.size();
        if (n == 0) {
            return more.badLines() == 0 ? this
                    : new PerfMap(starts, ends, names, lines, lineCount, badLines + more.badLines());
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Long.compareUnsigned(more.start(a), more.start(b));
            return c != 0 ? c : Integer.compare(a, b);
        });
        int total = starts.length + n;
        long[] ss = new long[total];
        long[] ee = new long[total];
        String[] nm = new String[total];
        long[] ln = new long[total];
        int m = 0;
        int i = 0;
        int k = 0;
        while (i < starts.length || k < n) {
            boolean takeOld = k >= n || (i < starts.length
                    && Long.compareUnsigned(starts[i], more.start(order[k])) <= 0);
            long s;
            long e;
            String name;
            long line;
            if (takeOld) {
                s = starts[i];
                e = ends[i];
                name = names[i];
                line = lines[i];
                i++;
            } else {
                int j = order[k++];
                s = more.start(j);
                e = s + more.size(j);
                name = more.name(j);
                line = lineCount + j;
            }
            if (m > 0 && ss[m - 1] == s) {
                m--; // same start: the later line (new lines come after old at equal starts) replaces
            }
            ss[m] = s;
            ee[m] = e;
            nm[m] = name;
            ln[m] = line;
            m++;
        }
        // An earlier entry overlapped by a later line is cut where the later one starts.
        for (int j = 0; j + 1 < m; j++) {
            if (Long.compareUnsigned(ee[j], ss[j + 1]) > 0 && ln[j + 1] > ln[j]) {
                ee[j] = ss[j + 1];
            }
        }
        return new PerfMap(Arrays.copyOf(ss, m), Arrays.copyOf(ee, m), Arrays.copyOf(nm, m), Arrays.copyOf(ln, m),
                lineCount + n, badLines + more.badLines());
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

    /** Lines that did not parse (or were longer than the line bound). */
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
