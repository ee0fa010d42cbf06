package dev.stackstream.aggregator;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import dev.stackstream.wire.IndexedStackCount;
import dev.stackstream.wire.PackedEntries;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.StackCount;
import dev.stackstream.wire.StackId;
import dev.stackstream.wire.StackIndexDefinition;
import dev.stackstream.wire.ThreadIndexDefinition;
import dev.stackstream.wire.WireModel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A deterministic synthetic workload: a fixed set of stacks, and windows whose counts are a pure
 * function of (collector, sequence, stack), so a test knows exactly what the aggregator must show.
 */
final class Workload {
    static final ProfileType CPU = ProfileType.cpu(99);

    final List<Stack> stacks = new ArrayList<>();
    final String[] threads = {"main", "worker-1", "worker-2"};

    Workload(int stackCount) {
        for (int i = 0; i < stackCount; i++) {
            List<Frame> frames = new ArrayList<>();
            frames.add(Frame.named("main", FrameKind.USER));
            frames.add(Frame.named("run_" + (i % 7), FrameKind.USER));
            frames.add(Frame.named("step_" + (i % 13), FrameKind.USER));
            frames.add(Frame.named("leaf_" + i, FrameKind.USER));
            stacks.add(new Stack(frames, false));
        }
    }

    /** Count of stack i in window (collector, seq): 0 for some, so windows differ. */
    long count(int collector, long seq, int i) {
        long h = (collector * 31L + seq * 17L + i * 7L) % 11;
        return h < 3 ? 0 : h;
    }

    String thread(int i) {
        return threads[i % threads.length];
    }

    /** The window as a profile (thread names per entry). */
    Profile window(int collector, long seq, Instant start, Instant end) {
        ProfileBuilder b = Profile.builder(CPU).timeRange(start, end);
        for (int i = 0; i < stacks.size(); i++) {
            long c = count(collector, seq, i);
            if (c > 0) {
                b.add(stacks.get(i), thread(i), c);
            }
        }
        return b.build();
    }

    SampleBatch batch(String service, Map<String, String> labels, int collector, String collectorId, long seq,
                      Instant start, Instant end) {
        return WireModel.toBatch(window(collector, seq, start, end), service, labels, collectorId, seq);
    }

    /** How a test collector writes its batches. */
    enum Format {
        /** v1 entries: 16-byte stack id and thread name per entry. */
        V1,
        /**
         * v2 compact entries with per-collector indexes, each bound once, and (v3) service and
         * labels carried only by a collector's window 0 (as the collector's default).
         */
        V2,
        /** Both kinds in one batch: even stacks as v1 entries, odd ones compact. */
        MIXED
    }

    private final Map<String, Map<StackId, Integer>> stackIndexes = new HashMap<>();
    private final Map<String, Map<String, Integer>> threadIndexes = new HashMap<>();
    private final Map<String, SampleBatch> written = new HashMap<>();

    /**
     * The batch of window (collector, seq) in the given format. Indexes are bound in the first window
     * that uses them (windows must be asked for in sequence order per collector id); asking again for
     * a window gives the very same batch, bindings included, as a replay would.
     */
    synchronized SampleBatch batch(Format format, String service, Map<String, String> labels, int collector,
                                   String collectorId, long seq, Instant start, Instant end) {
        SampleBatch b = batch(service, labels, collector, collectorId, seq, start, end);
        if (format == Format.V1) {
            return b;
        }
        SampleBatch earlier = written.get(collectorId + "#" + seq);
        if (earlier != null) {
            return SampleBatch.newBuilder(earlier).build();
        }
        Map<StackId, Integer> stacksOf = stackIndexes.computeIfAbsent(collectorId, k -> new HashMap<>());
        Map<String, Integer> threadsOf = threadIndexes.computeIfAbsent(collectorId, k -> new HashMap<>());
        List<StackCount> keep = new ArrayList<>();
        List<IndexedStackCount> compact = new ArrayList<>();
        List<StackIndexDefinition> newStacks = new ArrayList<>();
        List<ThreadIndexDefinition> newThreads = new ArrayList<>();
        int n = 0;
        for (StackCount e : b.getEntries()) {
            if (format == Format.MIXED && n++ % 2 == 0) {
                keep.add(e);
                continue;
            }
            Integer si = stacksOf.get(e.getStackId());
            if (si == null) {
                si = stacksOf.size();
                stacksOf.put(e.getStackId(), si);
                newStacks.add(new StackIndexDefinition(si, e.getStackId()));
            }
            int ti = -1;
            if (e.getThread() != null) {
                Integer t = threadsOf.get(e.getThread());
                if (t == null) {
                    t = threadsOf.size();
                    threadsOf.put(e.getThread(), t);
                    newThreads.add(new ThreadIndexDefinition(t, e.getThread()));
                }
                ti = t;
            }
            compact.add(new IndexedStackCount(si, e.getCount(), ti, e.getInstructions() == null ? -1 : e.getInstructions()));
        }
        b.setEntries(keep);
        PackedEntries.set(b, compact);
        b.setNewStacks(newStacks);
        b.setNewThreads(newThreads);
        if (format == Format.V2 && seq > 0) {
            b.setContextOmitted(true);
            b.setService("");
            b.setLabels(Map.of());
            b.setProfileType(new dev.stackstream.wire.ProfileType("", "", 0L));
        }
        written.put(collectorId + "#" + seq, SampleBatch.newBuilder(b).build());
        return b;
    }

    /** Adds window (collector, seq) to expected collapsed totals (threads merged). */
    void addExpected(Map<String, Long> expected, int collector, long seq) {
        for (int i = 0; i < stacks.size(); i++) {
            long c = count(collector, seq, i);
            if (c > 0) {
                expected.merge(stacks.get(i).collapsed(), c, Long::sum);
            }
        }
    }

    static Map<String, Long> parseCollapsed(String text) {
        Map<String, Long> out = new TreeMap<>();
        for (String line : text.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            int sp = line.lastIndexOf(' ');
            out.merge(line.substring(0, sp), Long.parseLong(line.substring(sp + 1).trim()), Long::sum);
        }
        return out;
    }
}
