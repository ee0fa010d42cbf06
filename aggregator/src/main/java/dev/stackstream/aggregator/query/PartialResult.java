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
    }

    public byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(1);
            out.writeBoolean(serviceKnown);
            out.writeInt(seriesMatched);
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

    public static PartialResult decode(byte[] bytes) throws IOException {
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes));
        if (in.readByte() != 1) {
            throw new IOException("unknown partial result version");
        }
        boolean known = in.readBoolean();
        int matched = in.readInt();
        int nTypes = in.readInt();
        Set<String> types = new LinkedHashSet<>();
        for (int i = 0; i < nTypes; i++) {
            types.add(in.readUTF());
        }
        int nPoints = in.readInt();
        SortedMap<Long, Long> timeline = new TreeMap<>();
        for (int i = 0; i < nPoints; i++) {
            timeline.put(in.readLong(), in.readLong());
        }
        byte[] c = new byte[in.readInt()];
        in.readFully(c);
        return new PartialResult(StackCounts.decode(c), timeline, types, known, matched);
    }
}
