package dev.stackstream.profile.io;

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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads flamegraph.pl's collapsed ("folded") format: {@code frame;frame;frame count} per line,
 * root first. Blank lines are skipped; any other line without a stack and a non-negative integer
 * count fails with the line number. Frame names ending {@code _[k]} become {@link FrameKind#KERNEL}
 * frames and {@code _[j]} {@link FrameKind#JIT} frames (the suffix moves into the kind, and the
 * collapsed writer puts it back). Equal stacks on several lines are summed.
 */
public final class CollapsedReader {
    private final ProfileType type;

    /** A reader whose profiles have the given type (counts are samples of that type). */
    public CollapsedReader(ProfileType type) {
        this.type = type;
    }

    /** A reader for plain sample counts: type {@code samples}, unit {@code count}, period 1. */
    public CollapsedReader() {
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
     * folded lines (collapsed, SVG, HTML) take this directly, skipping the frame model.
     */
    public static TreeMap<String, Long> readFolded(Path file) throws IOException {
        try (InputStream in = InputFiles.stream(file)) {
            return readFolded(in, file.toString());
        }
    }

    /**
     * As {@link #readFolded(Path)}, from bytes (UTF-8; malformed bytes become U+FFFD). Lines are
     * cut and checked as bytes and only the stack part becomes a String: on a 60 MB input this
     * reads several times faster, with a fraction of the garbage, than decoding lines as text.
     */
    public static TreeMap<String, Long> readFolded(InputStream in, String source) throws IOException {
        Lines lines = new Lines();
        byte[] buf = new byte[1 << 16];
        int len = 0;
        int pos = 0;
        long lineNo = 0;
        boolean eof = false;
        while (true) {
            int nl = -1;
            for (int i = pos; i < len; i++) {
                if (buf[i] == '\n') {
                    nl = i;
                    break;
                }
            }
            if (nl < 0 && !eof) {
                // keep the partial line, make room, read more
                if (pos > 0) {
                    System.arraycopy(buf, pos, buf, 0, len - pos);
                    len -= pos;
                    pos = 0;
                }
                if (len == buf.length) {
                    buf = java.util.Arrays.copyOf(buf, buf.length * 2);
                }
                int n = in.read(buf, len, buf.length - len);
                if (n < 0) {
                    eof = true;
                } else {
                    len += n;
                }
                continue;
            }
            int end = nl < 0 ? len : nl;
            if (nl < 0 && pos >= len) {
                break;
            }
            lineNo++;
            parseLine(buf, pos, end, lines, source, lineNo);
            pos = nl < 0 ? len : nl + 1;
        }
        return lines.sorted();
    }

    /**
     * Collects folded lines. Collapsed files are usually already sorted (stackcollapse-perf.pl and
     * our writer sort them): while lines keep arriving in order they are only appended; the first
     * line out of order switches to a hash map and a sort at the end.
     */
    private static final class Lines {
        private final java.util.ArrayList<String> keys = new java.util.ArrayList<>();
        private long[] counts = new long[1024];
        private HashMap<String, Long> unsorted;

        void add(String key, long count) {
            if (unsorted != null) {
                unsorted.merge(key, count, Long::sum);
                return;
            }
            int n = keys.size();
            int c = n == 0 ? 1 : key.compareTo(keys.get(n - 1));
            if (c > 0) {
                if (n == counts.length) {
                    counts = java.util.Arrays.copyOf(counts, n * 2);
                }
                keys.add(key);
                counts[n] = count;
            } else if (c == 0) {
                counts[n - 1] += count;
            } else {
                unsorted = new HashMap<>(n * 2);
                for (int i = 0; i < n; i++) {
                    unsorted.put(keys.get(i), counts[i]);
                }
                keys.clear();
                unsorted.merge(key, count, Long::sum);
            }
        }

        TreeMap<String, Long> sorted() {
            if (unsorted == null) {
                return new TreeMap<>(new SortedKeys(keys.toArray(new String[0]), counts));
            }
            String[] sortedKeys = unsorted.keySet().toArray(new String[0]);
            java.util.Arrays.sort(sortedKeys);
            long[] values = new long[sortedKeys.length];
            for (int i = 0; i < sortedKeys.length; i++) {
                values[i] = unsorted.get(sortedKeys[i]);
            }
            return new TreeMap<>(new SortedKeys(sortedKeys, values));
        }
    }

    private static void parseLine(byte[] b, int from, int to, Lines lines, String source, long lineNo)
            throws ProfileFormatException {
        int s = from;
        int e = to;
        while (s < e && (b[s] & 0xff) <= ' ') {
            s++;
        }
        while (e > s && (b[e - 1] & 0xff) <= ' ') {
            e--;
        }
        if (s == e) {
            return;
        }
        int space = e - 1;
        while (space >= s && b[space] != ' ' && b[space] != '\t') {
            space--;
        }
        if (space <= s) {
            throw new ProfileFormatException(source, lineNo,
                    "expected 'frame;frame;... count', found no count: " + abbreviate(text(b, s, e)));
        }
        long count = 0;
        if (e - space - 1 > 18) {
            throw new ProfileFormatException(source, lineNo, "count '" + text(b, space + 1, e)
                    + "' is not a whole number: " + abbreviate(text(b, s, e)));
        }
        for (int i = space + 1; i < e; i++) {
            int c = b[i] - '0';
            if (c < 0 || c > 9) {
                throw new ProfileFormatException(source, lineNo, "count '" + text(b, space + 1, e)
                        + "' is not a non-negative whole number: " + abbreviate(text(b, s, e)));
            }
            count = count * 10 + c;
        }
        int stackEnd = space;
        while (stackEnd > s && (b[stackEnd - 1] == ' ' || b[stackEnd - 1] == '\t')) {
            stackEnd--;
        }
        for (int i = s; i <= stackEnd; i++) {
            // an empty frame: leading ';', trailing ';' or ';;'
            boolean boundary = i == s || b[i - 1] == ';';
            if (boundary && (i == stackEnd || b[i] == ';')) {
                throw new ProfileFormatException(source, lineNo, "empty frame name at column "
                        + (i - s + 1) + ": " + abbreviate(text(b, s, e)));
            }
        }
        lines.add(text(b, s, stackEnd), count);
    }

    private static String text(byte[] b, int from, int to) {
        return new String(b, from, to - from, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Sorted keys seen as a SortedMap, so TreeMap builds itself from them in linear time. */
    private static final class SortedKeys extends java.util.AbstractMap<String, Long>
            implements java.util.SortedMap<String, Long> {
        private final String[] keys;
        private final long[] values;

        SortedKeys(String[] keys, long[] values) {
            this.keys = keys;
            this.values = values;
        }

        @Override
        public java.util.Comparator<? super String> comparator() {
            return null;
        }

        @Override
        public int size() {
            return keys.length;
        }

        @Override
        public java.util.Set<Map.Entry<String, Long>> entrySet() {
            return new java.util.AbstractSet<>() {
                @Override
                public java.util.Iterator<Map.Entry<String, Long>> iterator() {
                    return new java.util.Iterator<>() {
                        private int i;

                        @Override
                        public boolean hasNext() {
                            return i < keys.length;
                        }

                        @Override
                        public Map.Entry<String, Long> next() {
                            int at = i++;
                            return Map.entry(keys[at], values[at]);
                        }
                    };
                }

                @Override
                public int size() {
                    return keys.length;
                }
            };
        }

        @Override
        public java.util.SortedMap<String, Long> subMap(String fromKey, String toKey) {
            throw new UnsupportedOperationException();
        }

        @Override
        public java.util.SortedMap<String, Long> headMap(String toKey) {
            throw new UnsupportedOperationException();
        }

        @Override
        public java.util.SortedMap<String, Long> tailMap(String fromKey) {
            throw new UnsupportedOperationException();
        }

        @Override
        public String firstKey() {
            return keys[0];
        }

        @Override
        public String lastKey() {
            return keys[keys.length - 1];
        }
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
                        "expected 'frame;frame;... count', found no count: " + abbreviate(t));
            }
            long count = parseCount(t.substring(space + 1), source, lineNo, t);
            String stackText = t.substring(0, space).stripTrailing();
            int empty = emptyFrameAt(stackText);
            if (empty >= 0) {
                throw new ProfileFormatException(source, lineNo, "empty frame name at column "
                        + (empty + 1) + ": " + abbreviate(t));
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
                        CollapsedReader::frame));
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

    /** The frame a collapsed name stands for: the kind suffix becomes the kind. */
    static Frame frame(String name) {
        if (name.length() > 4 && name.endsWith("_[k]")) {
            return Frame.named(name.substring(0, name.length() - 4), FrameKind.KERNEL);
        }
        if (name.length() > 4 && name.endsWith("_[j]")) {
            return Frame.named(name.substring(0, name.length() - 4), FrameKind.JIT);
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
            throw new ProfileFormatException(source, lineNo, "count '" + s + "' is not a whole number: " + abbreviate(line));
        }
        long v = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                throw new ProfileFormatException(source, lineNo,
                        "count '" + s + "' is not a non-negative whole number: " + abbreviate(line));
            }
            v = v * 10 + (c - '0');
        }
        return v;
    }

    static String abbreviate(String line) {
        return line.length() <= 120 ? "'" + line + "'" : "'" + line.substring(0, 117) + "...'";
    }
}
