package dev.stackstream.aggregator.engine;

import dev.stackstream.profile.ProfileStats;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Predicate;

/**
 * Merged sample counts: per (stack id, thread) a count and the instructions retired (when measured),
 * plus the window statistics and how many collector windows went in. One of these is the value of
 * every bucket in every tier, and the partial answer one instance gives to a query. Mutable, not
 * thread-safe; merging is a sum, so buckets, tiers and instances combine in any order.
 *
 * <p>Stored form (version 1): a thread-name table, then per entry the 16-byte stack id, the thread
 * index (0 = none), the count and instructions + 1 (0 = not measured) as varints, then the stats.
 */
public final class StackCounts {
    private static final byte VERSION = 1;

    /**
     * The stack id under which {@link #foldSmallest} sums the entries it folds: reserved (real ids
     * are content hashes), rendered as one frame {@code [other]} by the stack dictionary.
     */
    public static final long OTHER_HIGH = 0;
    public static final long OTHER_LOW = 1;

    /** (stack id, thread) of one entry; thread is null when the window was not taken per thread. */
    public record Key(long stackHigh, long stackLow, String thread) { }

    private final Map<Key, long[]> entries;
    private long lost;
    private long throttled;
    private long tableOverflow;
    private long truncatedStacks;
    private long cpuNanos = -1;
    private long maxRssBytes = -1;
    private long instructions = -1;
    private long windows;

    public StackCounts() {
        this(16);
    }

    private StackCounts(int expected) {
        entries = new HashMap<>(Math.max(16, expected * 4 / 3 + 1));
    }

    /** Adds count samples (and instructions, -1 when not measured) of a stack on a thread. */
    public void add(long stackHigh, long stackLow, String thread, long count, long instr) {
        long[] v = entries.computeIfAbsent(new Key(stackHigh, stackLow, thread), k -> new long[] {0, -1});
        v[0] = plus(v[0], count);
        if (instr >= 0) {
            v[1] = v[1] < 0 ? instr : plus(v[1], instr);
        }
    }

    /**
     * Bounds the number of entries: when there are more than {@code maxEntries}, the smallest ones
     * (by count, ties by key) are summed into one {@code [other]} entry without a thread, so the
     * total is kept while the stored bucket stays below the broker's record size limit.
     *
     * @return how many entries were folded (0 when within the bound)
     */
    public int foldSmallest(int maxEntries) {
        return foldToFit(maxEntries, Integer.MAX_VALUE);
    }

    /**
     * Bounds the entries and the stored form: the smallest entries (by count, ties by key) are summed
     * into one {@code [other]} entry without a thread until at most {@code maxEntries} remain and
     * {@link #encode()} takes at most {@code maxBytes} (a changelog's record limit; thread names make
     * entries differ in size, so a count of entries alone cannot promise that). The total is kept.
     *
     * @return how many entries were folded (0 when within both bounds)
     */
    public int foldToFit(int maxEntries, int maxBytes) {
        if (entries.size() <= maxEntries && (maxBytes == Integer.MAX_VALUE || encodedSizeAtMost(maxBytes))) {
            return 0;
        }
        List<Map.Entry<Key, long[]>> sorted = new ArrayList<>(entries.entrySet());
        sorted.sort((a, b) -> {
            int c = Long.compare(b.getValue()[0], a.getValue()[0]);
            if (c != 0) {
                return c;
            }
            c = Long.compare(a.getKey().stackHigh(), b.getKey().stackHigh());
            c = c != 0 ? c : Long.compare(a.getKey().stackLow(), b.getKey().stackLow());
            return c != 0 ? c : String.valueOf(a.getKey().thread()).compareTo(String.valueOf(b.getKey().thread()));
        });
        Key other = new Key(OTHER_HIGH, OTHER_LOW, null);
        long[] kept = entries.get(other);
        long count = kept == null ? 0 : kept[0];
        long instr = kept == null ? -1 : kept[1];
        // Keep maxEntries - 1 entries besides [other] itself, the largest first, while their stored
        // size (worst case for the header, the statistics and [other]'s growing count) fits.
        int keep = Math.max(0, maxEntries - 1);
        long bytes = FIXED_BYTES_BOUND + ENTRY_BYTES_BOUND;
        java.util.Set<String> threadsKept = new java.util.HashSet<>();
        int seen = 0;
        int folded = 0;
        boolean full = false;
        for (Map.Entry<Key, long[]> e : sorted) {
            if (e.getKey().equals(other)) {
                continue;
            }
            if (!full && seen < keep) {
                String t = e.getKey().thread();
                long size = entryBytes(e.getValue()) + (t == null || threadsKept.contains(t) ? 0 : threadBytes(t));
                if (bytes + size <= maxBytes) {
                    bytes += size;
                    if (t != null) {
                        threadsKept.add(t);
                    }
                    seen++;
                    continue;
                }
                // Smaller entries after this one might still fit, but folding stays "the smallest
                // go": a bucket's kept entries are always its largest ones.
                full = true;
            }
            count = plus(count, e.getValue()[0]);
            if (e.getValue()[1] >= 0) {
                instr = instr < 0 ? e.getValue()[1] : plus(instr, e.getValue()[1]);
            }
            entries.remove(e.getKey());
            folded++;
        }
        entries.put(other, new long[] {count, instr});
        return folded;
    }

    /** Version, thread and entry counts (5-byte varints), four counters and three optionals (10 each), windows. */
    private static final long FIXED_BYTES_BOUND = 1 + 5 + 5 + 8 * 10 + 10;
    /** An entry at most: the id, a thread index (5), count and instructions (10 each). */
    private static final long ENTRY_BYTES_BOUND = 16 + 5 + 10 + 10;

    private static long entryBytes(long[] v) {
        return 16 + 5 + varLength(v[0]) + varLength(v[1] + 1);
    }

    private static long threadBytes(String thread) {
        int n = thread.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        return varLength(n) + n;
    }

    private static int varLength(long v) {
        int n = 1;
        while ((v & ~0x7FL) != 0) {
            v >>>= 7;
            n++;
        }
        return n;
    }

    /** True when the stored form takes at most maxBytes, by the same worst-case sizes folding uses. */
    private boolean encodedSizeAtMost(int maxBytes) {
        long bytes = FIXED_BYTES_BOUND;
        java.util.Set<String> threads = new java.util.HashSet<>();
        for (Map.Entry<Key, long[]> e : entries.entrySet()) {
            bytes += entryBytes(e.getValue());
            String t = e.getKey().thread();
            if (t != null && threads.add(t)) {
                bytes += threadBytes(t);
            }
            if (bytes > maxBytes) {
                return false;
            }
        }
        return true;
    }

    /** Adds one collector window's statistics. Absent measurements are passed as -1. */
    public void addWindow(long lost, long throttled, long tableOverflow, long truncated, long cpuNanos,
                          long rssBytes, long instructions) {
        this.lost = plus(this.lost, lost);
        this.throttled = plus(this.throttled, throttled);
        this.tableOverflow = plus(this.tableOverflow, tableOverflow);
        this.truncatedStacks = plus(this.truncatedStacks, truncated);
        this.cpuNanos = sum(this.cpuNanos, cpuNanos);
        this.maxRssBytes = Math.max(this.maxRssBytes, rssBytes);
        this.instructions = sum(this.instructions, instructions);
        this.windows++;
    }

    /** Adds everything in other; entries whose thread fails the filter (null = keep all) are skipped. */
    public void merge(StackCounts other, Predicate<String> threadFilter) {
        for (Map.Entry<Key, long[]> e : other.entries.entrySet()) {
            Key k = e.getKey();
            if (threadFilter == null || threadFilter.test(k.thread())) {
                add(k.stackHigh(), k.stackLow(), k.thread(), e.getValue()[0], e.getValue()[1]);
            }
        }
        mergeStats(other);
    }

    /** Adds other's statistics only. */
    public void mergeStats(StackCounts o) {
        lost = plus(lost, o.lost);
        throttled = plus(throttled, o.throttled);
        tableOverflow = plus(tableOverflow, o.tableOverflow);
        truncatedStacks = plus(truncatedStacks, o.truncatedStacks);
        cpuNanos = sum(cpuNanos, o.cpuNanos);
        maxRssBytes = Math.max(maxRssBytes, o.maxRssBytes);
        instructions = sum(instructions, o.instructions);
        windows = plus(windows, o.windows);
    }

    private static long sum(long a, long b) {
        if (a < 0) {
            return b;
        }
        return b < 0 ? a : plus(a, b);
    }

    /**
     * a + b for non-negative counts, saturating at {@link Long#MAX_VALUE}: counts from hostile or
     * absurd windows must never wrap negative (a negative total made its whole range answer 500).
     */
    static long plus(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }

    /** Unmodifiable view: key to {count, instructions or -1}. */
    public Map<Key, long[]> entries() {
        return java.util.Collections.unmodifiableMap(entries);
    }

    public boolean isEmpty() {
        return entries.isEmpty() && windows == 0;
    }

    /** Sum of all counts. */
    public long total() {
        long t = 0;
        for (long[] v : entries.values()) {
            t = plus(t, v[0]);
        }
        return t;
    }

    /** Sum of counts of entries whose thread passes the filter (null = all). */
    public long total(Predicate<String> threadFilter) {
        if (threadFilter == null) {
            return total();
        }
        long t = 0;
        for (Map.Entry<Key, long[]> e : entries.entrySet()) {
            if (threadFilter.test(e.getKey().thread())) {
                t = plus(t, e.getValue()[0]);
            }
        }
        return t;
    }

    /** Collector windows merged in. */
    public long windows() {
        return windows;
    }

    public ProfileStats stats() {
        return new ProfileStats(lost, throttled, tableOverflow, truncatedStacks, opt(cpuNanos), opt(maxRssBytes),
                opt(instructions));
    }

    private static OptionalLong opt(long v) {
        return v < 0 ? OptionalLong.empty() : OptionalLong.of(v);
    }

    /** The stored form; see the class comment. */
    public byte[] encode() {
        Map<String, Integer> threadIndex = new HashMap<>();
        List<String> threads = new ArrayList<>();
        for (Key k : entries.keySet()) {
            if (k.thread() != null && !threadIndex.containsKey(k.thread())) {
                threadIndex.put(k.thread(), threads.size() + 1);
                threads.add(k.thread());
            }
        }
        VarCodec.Out out = new VarCodec.Out(32 + entries.size() * 22);
        out.write(VERSION);
        out.varLong(threads.size());
        for (String t : threads) {
            out.string(t);
        }
        out.varLong(entries.size());
        for (Map.Entry<Key, long[]> e : entries.entrySet()) {
            Key k = e.getKey();
            out.fixedLong(k.stackHigh()).fixedLong(k.stackLow());
            out.varLong(k.thread() == null ? 0 : threadIndex.get(k.thread()));
            out.varLong(e.getValue()[0]);
            out.optional(e.getValue()[1], e.getValue()[1] >= 0);
        }
        out.varLong(lost).varLong(throttled).varLong(tableOverflow).varLong(truncatedStacks);
        out.optional(cpuNanos, cpuNanos >= 0).optional(maxRssBytes, maxRssBytes >= 0)
                .optional(instructions, instructions >= 0);
        out.varLong(windows);
        return out.toByteArray();
    }

    /** Reads the stored form; throws IllegalStateException for bytes this class did not write. */
    public static StackCounts decode(byte[] bytes) {
        StackCounts c = new StackCounts(0);
        c.decodeInto(bytes, null);
        return c;
    }

    /**
     * Adds the stored counts in bytes to this one without an intermediate copy, keeping only entries
     * whose thread passes the filter (null = all); the window statistics are always added.
     *
     * @return the sum of the counts added
     */
    public long mergeEncoded(byte[] bytes, Predicate<String> threadFilter) {
        return decodeInto(bytes, threadFilter);
    }

    private long decodeInto(byte[] bytes, Predicate<String> threadFilter) {
        try {
            ByteBuffer in = ByteBuffer.wrap(bytes);
            byte version = in.get();
            if (version != VERSION) {
                throw new IllegalArgumentException("unknown version " + version);
            }
            int nThreads = VarCodec.varInt(in, in.remaining());
            String[] threads = new String[nThreads + 1];
            for (int i = 1; i <= nThreads; i++) {
                threads[i] = VarCodec.string(in);
            }
            boolean[] keep = new boolean[nThreads + 1];
            for (int i = 0; i <= nThreads; i++) {
                keep[i] = threadFilter == null || threadFilter.test(threads[i]);
            }
            int n = VarCodec.varInt(in, in.remaining() / 17);
            long added = 0;
            for (int i = 0; i < n; i++) {
                long hi = in.getLong();
                long lo = in.getLong();
                int t = VarCodec.varInt(in, nThreads);
                long count = VarCodec.varLong(in);
                long instr = VarCodec.varLong(in) - 1;
                if (keep[t]) {
                    add(hi, lo, threads[t], count, instr);
                    added = plus(added, count);
                }
            }
            lost = plus(lost, VarCodec.varLong(in));
            throttled = plus(throttled, VarCodec.varLong(in));
            tableOverflow = plus(tableOverflow, VarCodec.varLong(in));
            truncatedStacks = plus(truncatedStacks, VarCodec.varLong(in));
            cpuNanos = sum(cpuNanos, VarCodec.varLong(in) - 1);
            maxRssBytes = Math.max(maxRssBytes, VarCodec.varLong(in) - 1);
            instructions = sum(instructions, VarCodec.varLong(in) - 1);
            windows = plus(windows, VarCodec.varLong(in));
            return added;
        } catch (RuntimeException e) {
            throw VarCodec.corrupt("bucket", e);
        }
    }
}
