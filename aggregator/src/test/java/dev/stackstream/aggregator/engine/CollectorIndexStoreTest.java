package dev.stackstream.aggregator.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import dev.stackstream.wire.Bindings;
import dev.stackstream.wire.InMemoryBindings;
import dev.stackstream.wire.WireIndexer;
import dev.stackstream.wire.WireWindow;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The store-backed bindings read a run exactly as the in-memory ones do, and forget silent collectors. */
class CollectorIndexStoreTest {
    private static final Instant T0 = Instant.parse("2026-11-26T12:00:00Z");
    private KeyValueStore<Bytes, byte[]> kv;

    @BeforeEach
    void open() {
        kv = Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(StoreNames.COLLECTOR_INDEX), Serdes.Bytes(),
                Serdes.ByteArray()).withLoggingDisabled().build();
        kv.init(new MockProcessorContext<>().getStateStoreContext(), kv);
    }

    /** Window n: stacks n..n+4 (a sliding set, so a small index table forgets and rebinds). */
    private static Profile window(int n) {
        ProfileBuilder b = Profile.builder(ProfileType.cpu(99)).timeRange(T0.plusSeconds(10L * n),
                T0.plusSeconds(10L * n + 10));
        for (int i = n; i < n + 5; i++) {
            b.add(Stack.of(Frame.named("main", FrameKind.USER), Frame.named("f" + i, FrameKind.USER)),
                    "thread-" + (i % 3), i + 1);
        }
        return b.build();
    }

    private static List<Object> read(WireWindow w, Bindings bindings) {
        List<Object> out = new ArrayList<>();
        assertTrue(w.restoreContext(bindings), "context of window " + w.sequence());
        out.add(w.context());
        int unbound = w.forEachEntry(bindings, (id, thread, count, instr) -> out.add(id.toHex() + "@" + thread
                + "=" + count + "/" + instr));
        out.add("unbound " + unbound);
        return out;
    }

    @Test
    void aRunReadsTheSameThroughTheStoreAsInMemoryAcrossRebindingsAndOmittedContexts() throws Exception {
        WireIndexer indexer = new WireIndexer(6, 2);      // fewer stacks and threads than the run uses
        CollectorIndexStore store = new CollectorIndexStore(kv);
        Bindings memory = new InMemoryBindings();
        int omitted = 0;
        for (int n = 0; n < 20; n++) {
            WireIndexer.Encoded e = indexer.encode(window(n), "checkout", Map.of("pod", "p-1"), "c-1", n);
            indexer.acknowledged("c-1", e.carried());
            WireWindow viaStore = WireWindow.decode(e.value());
            omitted += viaStore.contextOmitted() ? 1 : 0;
            assertEquals(read(WireWindow.decode(e.value()), memory), read(viaStore, store.collector("c-1", 0)),
                    "window " + n);
        }
        assertTrue(omitted > 10, "the run left its context out: " + omitted);
    }

    @Test
    void aCollectorSilentPastTheHorizonIsForgottenAndOneStillUsedIsKept() {
        CollectorIndexStore store = new CollectorIndexStore(kv);
        Bindings old = store.collector("old", 1_000);
        old.bindStack(0, new dev.stackstream.profile.StackId(1, 2));
        Bindings fresh = store.collector("fresh", 1_000);
        fresh.bindThread(0, "main");
        store.collector("fresh", 500_000).thread(0);     // used again later: activity refreshed
        assertEquals(1, store.expire(100_000));
        assertNull(store.collector("old", 600_000).stack(0));
        assertEquals("main", store.collector("fresh", 600_000).thread(0));
        assertEquals(0, store.expire(100_000), "nothing else to forget");
    }
}
