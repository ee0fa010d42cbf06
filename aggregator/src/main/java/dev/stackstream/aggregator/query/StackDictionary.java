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
import java.util.LinkedHashMap;
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
 * [other]} id stands for the entries ingest folded to keep a bucket within its limit.
 */
public final class StackDictionary {
    private static final int CACHE_ENTRIES = 200_000;

    private final KafkaStreams streams;
    private final AggregatorMetrics metrics;
    private final Map<StackId, Stack> cache = new LinkedHashMap<>(1024, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<StackId, Stack> eldest) {
            return size() > CACHE_ENTRIES;
        }
    };

    public StackDictionary(KafkaStreams streams, AggregatorMetrics metrics) {
        this.streams = streams;
        this.metrics = metrics;
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
