package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.AggregatorMetrics;
import dev.stackstream.aggregator.engine.StackCounts;
import dev.stackstream.aggregator.engine.StoreNames;
import dev.stackstream.aggregator.engine.UndecodableRecordException;
import dev.stackstream.aggregator.engine.WireDecoding;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Stack;
import dev.stackstream.profile.StackId;
import dev.stackstream.wire.WireModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Stack id to Stack, from the global store every instance keeps of the compacted stacks topic.
 * Decoded stacks are kept in a bounded LRU map (definitions never change for an id: the id is their
 * content hash). A stack whose definition has not arrived yet renders as one frame
 * {@code [unknown stack <id>]} so its samples still count; one whose definition does not decode
 * renders as {@code [undecodable stack <id>]} and is counted in a metric, and one stored under a
 * key that is not its own id renders as unknown (counted too). The reserved {@link StackCounts#OTHER_HIGH
 * [other]} id stands for the entries ingest folded to keep a bucket within its limit. A stack of
 * more than {@link #DEFAULT_MAX_FRAMES} frames is cut to its leaf-most ones under {@code [truncated]}.
 */
public final class StackDictionary {
    private static final int CACHE_ENTRIES = 200_000;
    /**
     * Frames a stack shows (default): a longer definition keeps its leaf-most frames under a
     * {@code [truncated]} root, as the collector marks the stacks its unwinder cut, so a hostile
     * definition of a million frames neither fills the cache nor reaches a renderer. The native
     * unwinder stops at 512 frames; inlined frames can add to that, hence the room.
     */
    public static final int DEFAULT_MAX_FRAMES = 2_048;
    private static final Frame TRUNCATED = Frame.named("[truncated]", FrameKind.USER);

    private final KafkaStreams streams;
    private final AggregatorMetrics metrics;
    private final int maxFrames;
    private final Map<StackId, Stack> cache = new LinkedHashMap<>(1024, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<StackId, Stack> eldest) {
            return size() > CACHE_ENTRIES;
        }
    };

    public StackDictionary(KafkaStreams streams, AggregatorMetrics metrics, int maxFrames) {
        if (maxFrames < 2) {
            throw new IllegalArgumentException("a stack must be allowed at least 2 frames, got " + maxFrames);
        }
        this.streams = streams;
        this.metrics = metrics;
        this.maxFrames = maxFrames;
    }

    /** Where ingest folded the smallest entries of a bucket that reached its entry limit. */
    private static final StackId OTHER = new StackId(StackCounts.OTHER_HIGH, StackCounts.OTHER_LOW);
    private static final Stack OTHER_STACK = placeholder("[other]");

    /** The stack for id; never null (see the class comment for missing ones). */
    public Stack resolve(StackId id) {
        if (id.equals(OTHER)) {
            return OTHER_STACK;
        }
        synchronized (cache) {
            Stack s = cache.get(id);
            if (s != null) {
                return s;
            }
        }
        byte[] def;
        try {
            ReadOnlyKeyValueStore<Bytes, byte[]> store = streams.store(StoreQueryParameters
                    .fromNameAndType(StoreNames.STACKS, QueryableStoreTypes.<Bytes, byte[]>keyValueStore()));
            def = store.get(Bytes.wrap(id.toBytes()));
        } catch (InvalidStateStoreException e) {
            throw ApiException.unavailable("the stack dictionary is not queryable right now; retry shortly", e);
        }
        if (def == null) {
            return WireModel.unknownStack(id);
        }
        try {
            Stack s = WireDecoding.stack(def);
            if (!s.id().equals(id)) {
                // Its frames hash to another id: a definition written under a key that is not its
                // own would rename every sample of the stack it squats on. Refused, not cached.
                metrics.forgedStackDefinition();
                return WireModel.unknownStack(id);
            }
            if (s.depth() > maxFrames) {
                List<Frame> kept = new ArrayList<>(maxFrames);
                kept.add(TRUNCATED);
                kept.addAll(s.frames().subList(s.depth() - (maxFrames - 1), s.depth()));
                s = new Stack(kept, true);
                metrics.stackTruncated();
            }
            synchronized (cache) {
                cache.put(id, s);
            }
            return s;
        } catch (UndecodableRecordException e) {
            metrics.badStackDefinition();
            return placeholder("[undecodable stack " + id.toHex() + "]");
        }
    }

    private static Stack placeholder(String name) {
        return Stack.of(Frame.named(name, FrameKind.USER));
    }
}
