package dev.stackstream.aggregator.engine;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import dev.stackstream.wire.PackedEntries;
import dev.stackstream.wire.ProfileType;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.StackIndexDefinition;
import dev.stackstream.wire.ThreadIndexDefinition;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The v2 index bindings of the collectors whose windows one ingest task counts, kept in a
 * changelogged key-value store so they survive a crash or a task move exactly like the counts
 * (every write belongs to the task's transaction).
 *
 * <p>A collector's windows are keyed by its collector id, so one task sees all of them, in order:
 * applying each counted batch's {@code newStacks}/{@code newThreads} before resolving its
 * {@code packedEntries} resolves every index the collector bound. A replayed window is skipped
 * before it gets here; its bindings equal the first delivery's.
 *
 * <p>Also (v3) each collector's context: the service, labels and profile type of its latest window
 * that carried them, for the windows that leave them out ({@code contextOmitted}).
 *
 * <p>Keys: {@code 'C' cid} → context (UTF-8 service, label count, then key and value per label,
 * each as a 2-byte length and UTF-8 bytes, then profile type name and unit the same way and the
 * 8-byte period); {@code 'A' cid} → last time the collector sent a v2 batch (8 bytes, refreshed at most
 * once a minute); {@code 'S' len cid index} → 16-byte stack id; {@code 'T' len cid index} → UTF-8
 * thread name ({@code len}: 2-byte length of the UTF-8 collector id, {@code index}: 4 bytes big
 * endian, so one collector's bindings are one contiguous range). {@link #expire} forgets collectors
 * silent for longer than the horizon.
 */
final class CollectorIndexStore {
    private static final byte ACTIVITY = 'A';
    private static final byte STACK = 'S';
    private static final byte THREAD = 'T';
    private static final byte CONTEXT = 'C';
    private static final long TOUCH_MILLIS = 60_000;

    private final KeyValueStore<Bytes, byte[]> store;

    CollectorIndexStore(KeyValueStore<Bytes, byte[]> store) {
        this.store = store;
    }

    /** One collector's bindings, as the ingest step resolves them. */
    final class Collector {
        private final byte[] cid;

        private Collector(String collectorId) {
            this.cid = collectorId.getBytes(StandardCharsets.UTF_8);
        }

        /** The 16-byte stack id bound to {@code index}, or null. */
        byte[] stack(int index) {
            return store.get(key(STACK, cid, index));
        }

        /** The thread name bound to {@code index}; null for -1 and for an unbound index. */
        String thread(int index) {
            if (index < 0) {
                return null;
            }
            byte[] v = store.get(key(THREAD, cid, index));
            return v == null ? null : new String(v, StandardCharsets.UTF_8);
        }
    }

    /**
     * Stores the context of a batch that carries it, or fills it into one that left it out.
     *
     * @return false when the batch left its context out and none is stored for its collector
     */
    boolean restoreContext(SampleBatch batch) {
        Bytes key = contextKey(batch.getCollectorId().getBytes(StandardCharsets.UTF_8));
        byte[] stored = store.get(key);
        if (!batch.getContextOmitted()) {
            byte[] encoded = encodeContext(batch.getService(), batch.getLabels(), batch.getProfileType());
            if (stored == null || !Arrays.equals(stored, encoded)) {
                store.put(key, encoded);
            }
            return true;
        }
        if (stored == null) {
            return false;
        }
        ByteBuffer in = ByteBuffer.wrap(stored);
        batch.setService(readString(in));
        int n = in.getShort() & 0xFFFF;
        Map<String, String> labels = new HashMap<>();
        for (int i = 0; i < n; i++) {
            labels.put(readString(in), readString(in));
        }
        batch.setLabels(labels);
        batch.setProfileType(new ProfileType(readString(in), readString(in), in.getLong()));
        return true;
    }

    private static byte[] encodeContext(String service, Map<String, String> labels, ProfileType type) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeString(out, service);
        out.write(labels.size() >>> 8);
        out.write(labels.size());
        new TreeMap<>(labels).forEach((k, v) -> {
            writeString(out, k);
            writeString(out, v);
        });
        writeString(out, type.getName());
        writeString(out, type.getUnit());
        out.writeBytes(ByteBuffer.allocate(8).putLong(type.getPeriod()).array());
        return out.toByteArray();
    }

    private static void writeString(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.write(b.length >>> 8);
        out.write(b.length);
        out.write(b, 0, b.length);
    }

    private static String readString(ByteBuffer in) {
        byte[] b = new byte[in.getShort() & 0xFFFF];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Stores the batch's bindings and marks its collector active; returns the resolver for its entries. */
    Collector apply(SampleBatch batch, long now) {
        Collector c = new Collector(batch.getCollectorId());
        boolean v2 = !batch.getNewStacks().isEmpty() || !batch.getNewThreads().isEmpty()
                || batch.getPackedEntries().hasRemaining();
        if (!v2) {
            return c;
        }
        for (StackIndexDefinition d : batch.getNewStacks()) {
            store.put(key(STACK, c.cid, d.getIndex()), d.getStackId().bytes());
        }
        for (ThreadIndexDefinition d : batch.getNewThreads()) {
            store.put(key(THREAD, c.cid, d.getIndex()), d.getName().getBytes(StandardCharsets.UTF_8));
        }
        Bytes activity = activityKey(c.cid);
        byte[] seen = store.get(activity);
        if (seen == null || ByteBuffer.wrap(seen).getLong() < now - TOUCH_MILLIS) {
            store.put(activity, ByteBuffer.allocate(8).putLong(now).array());
        }
        return c;
    }

    /**
     * Forgets every collector that sent no v2 batch since {@code horizon} (epoch millis).
     *
     * @return collectors forgotten
     */
    int expire(long horizon) {
        List<byte[]> silent = new ArrayList<>();
        byte[] from = {ACTIVITY};
        byte[] to = {ACTIVITY, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF};
        try (KeyValueIterator<Bytes, byte[]> it = store.range(Bytes.wrap(from), Bytes.wrap(to))) {
            while (it.hasNext()) {
                KeyValue<Bytes, byte[]> kv = it.next();
                byte[] k = kv.key.get();
                if (k.length > 0 && k[0] == ACTIVITY && ByteBuffer.wrap(kv.value).getLong() < horizon) {
                    silent.add(Arrays.copyOfRange(k, 1, k.length));
                }
            }
        }
        for (byte[] cid : silent) {
            for (byte kind : new byte[] {STACK, THREAD}) {
                List<Bytes> keys = new ArrayList<>();
                try (KeyValueIterator<Bytes, byte[]> it = store.range(key(kind, cid, 0),
                        key(kind, cid, Integer.MAX_VALUE))) {
                    while (it.hasNext()) {
                        keys.add(it.next().key);
                    }
                }
                keys.forEach(store::delete);
            }
            store.delete(activityKey(cid));
            store.delete(contextKey(cid));
        }
        return silent.size();
    }

    private static Bytes activityKey(byte[] cid) {
        return collectorKey(ACTIVITY, cid);
    }

    private static Bytes contextKey(byte[] cid) {
        return collectorKey(CONTEXT, cid);
    }

    private static Bytes collectorKey(byte kind, byte[] cid) {
        return Bytes.wrap(ByteBuffer.allocate(1 + cid.length).put(kind).put(cid).array());
    }

    private static Bytes key(byte kind, byte[] cid, int index) {
        return Bytes.wrap(ByteBuffer.allocate(1 + 2 + cid.length + 4).put(kind).putShort((short) cid.length)
                .put(cid).putInt(index).array());
    }
}
