package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.engine.StackCounts;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What one instance knows for a query: merged counts of the matching series over the range, counts
 * per timeline step, whether the service exists at all and which profile types it has. Partial
 * results from all instances merge by summing. Has a compact binary form for the fan-out.
 */
public final class PartialResult {
    private final StackCounts counts;
    private final SortedMap<Long, Long> timeline;
    private final Set<String> serviceTypes;
    private boolean serviceKnown;
    private int seriesMatched;
    /** Samples-topic partitions this result covers (each read once, by its owner or a caught-up standby). */
    private final java.util.SortedSet<Integer> partitions = new java.util.TreeSet<>();
    // Span of the buckets that contributed samples, epoch ms; Long.MAX_VALUE/MIN_VALUE when none.
    private long dataFrom = Long.MAX_VALUE;
    private long dataTo = Long.MIN_VALUE;

    /** 3: with the partitions covered. */
    private static final int VERSION = 3;

    public PartialResult() {
        this(new StackCounts(), new TreeMap<>(), new LinkedHashSet<>(), false, 0);
    }

    private PartialResult(StackCounts counts, SortedMap<Long, Long> timeline, Set<String> types, boolean known,
                          int matched) {
        this.counts = counts;
        this.timeline = timeline;
        this.serviceTypes = types;
        this.serviceKnown = known;
        this.seriesMatched = matched;
    }

    public StackCounts counts() {
        return counts;
    }

    /** Step start (epoch ms) to sample count. */
    public SortedMap<Long, Long> timeline() {
        return timeline;
    }

    /** Profile types of the service, as {@code name/unit/period}. */
    public Set<String> serviceTypes() {
        return serviceTypes;
    }

    public boolean serviceKnown() {
        return serviceKnown;
    }

    public int seriesMatched() {
        return seriesMatched;
    }

    void markServiceKnown(String typeKey) {
        serviceKnown = true;
        serviceTypes.add(typeKey);
    }

    void seriesMatched(int n) {
        seriesMatched += n;
    }

    /** The samples-topic partitions whose data this result holds. */
    public java.util.SortedSet<Integer> partitions() {
        return java.util.Collections.unmodifiableSortedSet(partitions);
    }

    void covered(int partition) {
        partitions.add(partition);
    }

    /**
     * The time the samples actually cover: from the first to the end of the last bucket that
     * contributed any, or null when none did. A profile over "the last hour" that holds four
     * seconds of samples must report those seconds as its elapsed time, or its rate is wrong.
     */
    public long[] dataSpan() {
        return dataFrom <= dataTo ? new long[] {dataFrom, dataTo} : null;
    }

    void coverBucket(long start, long end) {
        dataFrom = Math.min(dataFrom, start);
        dataTo = Math.max(dataTo, end);
    }

    void addTimeline(long stepStart, long count) {
        timeline.merge(stepStart, count, Long::sum);
    }

    /** Sums other into this. */
    public void merge(PartialResult other) {
        counts.merge(other.counts, null);
        other.timeline.forEach(this::addTimeline);
        serviceTypes.addAll(other.serviceTypes);
        serviceKnown |= other.serviceKnown;
        seriesMatched += other.seriesMatched;
        partitions.addAll(other.partitions);
        dataFrom = Math.min(dataFrom, other.dataFrom);
        dataTo = Math.max(dataTo, other.dataTo);
    }

    public byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(VERSION);
            out.writeBoolean(serviceKnown);
            out.writeLong(dataFrom);
            out.writeLong(dataTo);
            out.writeInt(seriesMatched);
            out.writeInt(partitions.size());
            for (int p : partitions) {
                out.writeInt(p);
            }
            out.writeInt(serviceTypes.size());
            for (String t : serviceTypes) {
                out.writeUTF(t);
            }
            out.writeInt(timeline.size());
            for (var e : timeline.entrySet()) {
                out.writeLong(e.getKey());
                out.writeLong(e.getValue());
            }
            byte[] c = counts.encode();
            out.writeInt(c.length);
            out.write(c);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int bounded(int n, int limit, String what) throws IOException {
        if (n < 0 || n > limit) {
            throw new IOException("partial result declares " + n + " " + what + ", more than its " + limit + " allow");
        }
        return n;
    }

    public static PartialResult decode(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes));
        // Instances of one cluster run the same build; a rolling upgrade answers 503 for a moment.
        if (in.readByte() != VERSION) {
            throw new IOException("unknown partial result version");
        }
        boolean known = in.readBoolean();
        long from = in.readLong();
        long to = in.readLong();
        int matched = in.readInt();
        int nPartitions = bounded(in.readInt(), bytes.length / 4, "partitions");
        java.util.SortedSet<Integer> covered = new java.util.TreeSet<>();
        for (int i = 0; i < nPartitions; i++) {
            covered.add(in.readInt());
        }
        // Counts and lengths come from a peer: each is checked against the bytes that are there
        // before anything is allocated for it.
        int nTypes = bounded(in.readInt(), bytes.length, "profile types");
        Set<String> types = new LinkedHashSet<>();
        for (int i = 0; i < nTypes; i++) {
            types.add(in.readUTF());
        }
        int nPoints = bounded(in.readInt(), bytes.length / 16, "timeline points");
        SortedMap<Long, Long> timeline = new TreeMap<>();
        for (int i = 0; i < nPoints; i++) {
            timeline.put(in.readLong(), in.readLong());
        }
        byte[] c = new byte[bounded(in.readInt(), in.available(), "count bytes")];
        in.readFully(c);
        PartialResult r = new PartialResult(StackCounts.decode(c), timeline, types, known, matched);
        r.dataFrom = from;
        r.dataTo = to;
        r.partitions.addAll(covered);
        return r;
    }
}
