package dev.stackstream.profile.folded;

import dev.stackstream.profile.io.ProfileFormatException;
import dev.stackstream.profile.io.InputFiles;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Reads flamegraph.pl's collapsed ("folded") format: {@code frame;frame;frame count} per line,
 * root first. Blank lines are skipped; any other line without a stack and a non-negative integer
 * count fails with the line number. Frame names ending {@code _[k]} become {@link FrameKind#KERNEL}
 * frames and {@code _[j]} {@link FrameKind#JIT} frames (the suffix moves into the kind, and the
 * collapsed writer puts it back). Equal stacks on several lines are summed.
 */
public final class FoldedReader {
    private final ProfileType type;

    /** A reader whose profiles have the given type (counts are samples of that type). */
    public FoldedReader(ProfileType type) {
        this.type = type;
    }

    /** A reader for plain sample counts: type {@code samples}, unit {@code count}, period 1. */
    public FoldedReader() {
        this(new ProfileType("samples", "count", 1));
    }

    /** Reads a collapsed file (gzip allowed). */
    public Profile read(Path file) throws IOException {
        return toProfile(readFolded(file));
    }

    /** Reads collapsed text; source names the input in error messages. */
    public Profile read(Reader reader, String source) throws IOException {
        return toProfile(readFolded(reader, source));
    }

    /**
     * Reads a collapsed file (gzip allowed) as folded lines only: stack text to summed count, in
     * string order, validated exactly as {@link #read(Path)} validates. Renderers that only need
     * folded lines (collapsed, SVG, HTML) take this directly, skipping the frame model; the map is
     * a {@link FoldedLines}, which they walk as bytes.
     */
    public static SortedMap<String, Long> readFolded(Path file) throws IOException {
        return parse(InputFiles.readAllBytes(file), file.toString());
    }

    /**
     * As {@link #readFolded(Path)}, from bytes (UTF-8; malformed bytes become U+FFFD). The whole
     * input is held as one byte array and lines are cut, checked and compared as bytes: no String
     * per line, which on a 60 MB input is most of the work and most of the garbage.
     */
    public static SortedMap<String, Long> readFolded(InputStream in, String source) throws IOException {
        return parse(in.readAllBytes(), source);
    }

    private static FoldedLines parse(byte[] bytes, String source) throws ProfileFormatException {
        LineParser p = new LineParser(bytes, source);
        if (p.parse()) {
            return p.lines();
        }
        // non-ASCII bytes: make the text valid UTF-8 (malformed bytes become U+FFFD, as String
        // decoding does) so byte comparisons agree with String comparisons, then parse that
        byte[] valid = new String(bytes, java.nio.charset.StandardCharsets.UTF_8)
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (Arrays.equals(valid, bytes)) {
            return p.lines();
        }
        LineParser again = new LineParser(valid, source);
        again.parse();
        return again.lines();
    }

    /**
     * Cuts collapsed text into validated folded lines. Collapsed files are usually sorted
     * (stackcollapse-perf.pl and our writer sort them): while lines arrive in order they are only
     * appended (equal neighbours summed); the first line out of order means a sort at the end.
     */
    private static final class LineParser {
        private final byte[] b;
        private final String source;
        private int[] from = new int[1024];
        private int[] to = new int[1024];
        private long[] counts = new long[1024];
        private int n;
        private boolean sorted = true;

        LineParser(byte[] b, String source) {
            this.b = b;
            this.source = source;
        }

        /** Parses every line; false when the text holds non-ASCII bytes (the caller checks them). */
        boolean parse() throws ProfileFormatException {
            byte[] t = b;
            int len = t.length;
            int pos = 0;
            int high = 0;
            while (true) {
                while (pos < len && (t[pos] & 0xff) <= ' ') {
                    pos++;
                }
                if (pos >= len) {
                    break;
                }
                int s = pos;
                // the part equal to the previous line's stack holds no newline and no empty
                // frame (it was checked there): compare it in one go, scan only the rest
                int i = s;
                if (n > 0) {
                    int prevLen = to[n - 1] - from[n - 1];
                    int m = Arrays.mismatch(t, s, Math.min(len, s + prevLen), t, from[n - 1], to[n - 1]);
                    i = s + (m < 0 ? Math.min(len - s, prevLen) : m);
                }
                int empty = -1;
                for (; i < len; i++) {
                    byte c = t[i];
                    if (c == '\n') {
                        break;
                    }
                    high |= c;
                    if (c == ';' && empty < 0 && (i == s || t[i - 1] == ';')) {
                        empty = i;
                    }
                }
                line(s, i, empty);
                pos = i + 1;
            }
            if (!sorted) {
                sortAndMerge();
            }
            return high >= 0;
        }

        private void line(int s, int lineEnd, int empty) throws ProfileFormatException {
            byte[] t = b;
            int e = lineEnd;
            while (e > s && (t[e - 1] & 0xff) <= ' ') {
                e--;
            }
            int space = e - 1;
            while (space >= s && t[space] != ' ' && t[space] != '\t') {
                space--;
            }
            if (space <= s) {
                throw error(s, "expected 'frame;frame;... count', found no count: " + ProfileFormatException.quote(text(t, s, e)));
            }
            long count = 0;
            if (e - space - 1 > 18) {
                throw error(s, "count '" + text(t, space + 1, e) + "' is not a whole number: "
                        + ProfileFormatException.quote(text(t, s, e)));
            }
            for (int i = space + 1; i < e; i++) {
                int c = t[i] - '0';
                if (c < 0 || c > 9) {
                    throw error(s, "count '" + text(t, space + 1, e) + "' is not a non-negative whole number: "
                            + ProfileFormatException.quote(text(t, s, e)));
                }
                count = count * 10 + c;
            }
            int stackEnd = space;
            while (stackEnd > s && (t[stackEnd - 1] == ' ' || t[stackEnd - 1] == '\t')) {
                stackEnd--;
            }
            // an empty frame: leading ';', ';;' (found while scanning) or a trailing ';'
            if (empty >= 0 && empty < stackEnd) {
                throw error(s, "empty frame name at column " + (empty - s + 1) + ": " + ProfileFormatException.quote(text(t, s, e)));
            }
            if (stackEnd == s || t[stackEnd - 1] == ';') {
                throw error(s, "empty frame name at column " + (stackEnd - s + 1) + ": " + ProfileFormatException.quote(text(t, s, e)));
            }
            add(s, stackEnd, count);
        }

        private void add(int s, int e, long count) {
            if (sorted && n > 0) {
                int c = FoldedLines.compare(b, s, e, from[n - 1], to[n - 1]);
                if (c == 0) {
                    counts[n - 1] += count;
                    return;
                }
                if (c < 0) {
                    sorted = false;
                }
            }
            if (n == from.length) {
                from = Arrays.copyOf(from, n * 2);
                to = Arrays.copyOf(to, n * 2);
                counts = Arrays.copyOf(counts, n * 2);
            }
            from[n] = s;
            to[n] = e;
            counts[n++] = count;
        }

        private void sortAndMerge() {
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (x, y) -> FoldedLines.compare(b, from[x], to[x], from[y], to[y]));
            int[] f = new int[n];
            int[] e = new int[n];
            long[] c = new long[n];
            int k = 0;
            for (int j = 0; j < n; j++) {
                int i = order[j];
                if (k > 0 && FoldedLines.compare(b, from[i], to[i], f[k - 1], e[k - 1]) == 0) {
                    c[k - 1] += counts[i];
                    continue;
                }
                f[k] = from[i];
                e[k] = to[i];
                c[k++] = counts[i];
            }
            from = f;
            to = e;
            counts = c;
            n = k;
        }

        FoldedLines lines() {
            return new FoldedLines(b, from, to, counts, n);
        }

        private ProfileFormatException error(int at, String message) {
            long line = 1;
            for (int i = 0; i < at; i++) {
                if (b[i] == '\n') {
                    line++;
                }
            }
            return new ProfileFormatException(source, line, message);
        }
    }

    private static String text(byte[] b, int from, int to) {
        return new String(b, from, to - from, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** As {@link #readFolded(Path)}, from text; source names the input in error messages. */
    public static TreeMap<String, Long> readFolded(Reader reader, String source) throws IOException {
        BufferedReader in = reader instanceof BufferedReader b ? b : new BufferedReader(reader, 1 << 16);
        HashMap<String, Long> lines = new HashMap<>();
        String line;
        long lineNo = 0;
        while ((line = in.readLine()) != null) {
            lineNo++;
            String t = line.strip();
            if (t.isEmpty()) {
                continue;
            }
            int space = lastWhitespace(t);
            if (space <= 0) {
                throw new ProfileFormatException(source, lineNo,
                        "expected 'frame;frame;... count', found no count: " + ProfileFormatException.quote(t));
            }
            long count = parseCount(t.substring(space + 1), source, lineNo, t);
            String stackText = t.substring(0, space).stripTrailing();
            int empty = emptyFrameAt(stackText);
            if (empty >= 0) {
                throw new ProfileFormatException(source, lineNo, "empty frame name at column "
                        + (empty + 1) + ": " + ProfileFormatException.quote(t));
            }
            lines.merge(stackText, count, Long::sum);
        }
        return new TreeMap<>(lines);
    }

    /** The profile of folded lines: one sample per line, frames from the names. */
    private Profile toProfile(Map<String, Long> folded) {
        ProfileBuilder builder = Profile.builder(type);
        Map<String, Frame> frames = new HashMap<>();
        List<Frame> stack = new ArrayList<>(64);
        for (Map.Entry<String, Long> e : folded.entrySet()) {
            String text = e.getKey();
            stack.clear();
            int from = 0;
            while (true) {
                int semi = text.indexOf(';', from);
                stack.add(frames.computeIfAbsent(text.substring(from, semi < 0 ? text.length() : semi),
                        FoldedReader::frame));
                if (semi < 0) {
                    break;
                }
                from = semi + 1;
            }
            builder.add(new Stack(stack, false), null, e.getValue());
        }
        return builder.build();
    }

    /** Index where an empty frame name starts (leading, trailing or doubled ';'), or -1. */
    private static int emptyFrameAt(String stack) {
        if (stack.isEmpty() || stack.charAt(0) == ';') {
            return 0;
        }
        for (int i = stack.indexOf(';'); i >= 0; i = stack.indexOf(';', i + 1)) {
            if (i + 1 == stack.length() || stack.charAt(i + 1) == ';') {
                return i + 1;
            }
        }
        return -1;
    }

    private static final FrameKind[] ANNOTATED = {FrameKind.KERNEL, FrameKind.JIT};

    /** The frame a collapsed name stands for: the kind suffix becomes the kind. */
    static Frame frame(String name) {
        for (FrameKind kind : ANNOTATED) {
            String suffix = kind.suffix();
            if (name.length() > suffix.length() && name.endsWith(suffix)) {
                return Frame.named(name.substring(0, name.length() - suffix.length()), kind);
            }
        }
        return Frame.named(name, FrameKind.USER);
    }

    private static int lastWhitespace(String s) {
        for (int i = s.length() - 1; i >= 0; i--) {
            if (Character.isWhitespace(s.charAt(i))) {
                return i;
            }
        }
        return -1;
    }

    private static long parseCount(String s, String source, long lineNo, String line) throws ProfileFormatException {
        if (s.isEmpty() || s.length() > 18) {
            throw new ProfileFormatException(source, lineNo, "count '" + s + "' is not a whole number: " + ProfileFormatException.quote(line));
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                throw new ProfileFormatException(source, lineNo,
                        "count '" + s + "' is not a non-negative whole number: " + ProfileFormatException.quote(line));
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }
}
