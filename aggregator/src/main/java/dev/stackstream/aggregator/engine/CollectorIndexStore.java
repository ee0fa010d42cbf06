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

import dev.stackstream.profile.StackId;
import dev.stackstream.wire.Bindings;
import dev.stackstream.wire.WindowContext;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The store-backed {@link Bindings} of the collectors whose windows one ingest task counts, kept in
 * a changelogged key-value store so they survive a crash or a task move exactly like the counts
 * (every write belongs to the task's transaction). The rules of applying and resolving bindings
 * are {@code BindingResolver}'s (schemas); this class only keeps them, and forgets collectors.
 *
 * <p>Why here and not in schemas over a key-value port: the writes must go through the Streams
 * store to join the task's transaction, and the key layout and the expiry below are the
 * aggregator's retention policy; a port in schemas would only restate {@code KeyValueStore}.
 *
 * <p>A collector's windows are keyed by its collector id, so one task sees all of them, in order.
 *
 * <p>Keys: {@code 'C' cid} → context (UTF-8 service, label count, then key and value per label,
 * each as a 2-byte length and UTF-8 bytes, then profile type name and unit the same way and the
 * 8-byte period); {@code 'A' cid} → last time the collector's bindings or context were used (8 bytes,
 * refreshed at most once a minute); {@code 'S' len cid index} → 16-byte stack id; {@code 'T' len cid index} → UTF-8
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

    /**
     * One collector's bindings, for one window at time {@code now}: the first read or write marks the
     * collector active (so {@link #expire} keeps it).
     */
    Bindings collector(String collectorId, long now) {
        return new Collector(collectorId.getBytes(StandardCharsets.UTF_8), now);
    }

    private final class Collector implements Bindings {
        private final byte[] cid;
        private final long now;
        private boolean touched;

        private Collector(byte[] cid, long now) {
            this.cid = cid;
            this.now = now;
        }

        @Override
        public StackId stack(int index) {
            touch();
            byte[] v = store.get(key(STACK, cid, index));
            return v == null ? null : StackId.fromBytes(v);
        }

        @Override
        public String thread(int index) {
            touch();
            byte[] v = store.get(key(THREAD, cid, index));
            return v == null ? null : new String(v, StandardCharsets.UTF_8);
        }

        @Override
        public void bindStack(int index, StackId stack) {
            touch();
            store.put(key(STACK, cid, index), stack.toBytes());
        }

        @Override
        public void bindThread(int index, String name) {
            touch();
            store.put(key(THREAD, cid, index), name.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public WindowContext context() {
            touch();
            byte[] stored = store.get(contextKey(cid));
            return stored == null ? null : decodeContext(stored);
        }

        @Override
        public void context(WindowContext context) {
            touch();
            store.put(contextKey(cid), encodeContext(context));
        }

        private void touch() {
            if (touched) {
                return;
            }
            touched = true;
            Bytes activity = activityKey(cid);
            byte[] seen = store.get(activity);
            if (seen == null || ByteBuffer.wrap(seen).getLong() < now - TOUCH_MILLIS) {
                store.put(activity, ByteBuffer.allocate(8).putLong(now).array());
            }
        }
    }

    private static byte[] encodeContext(WindowContext c) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeString(out, c.service());
        out.write(c.labels().size() >>> 8);
        out.write(c.labels().size());
        new TreeMap<>(c.labels()).forEach((k, v) -> {
            writeString(out, k);
            writeString(out, v);
        });
        writeString(out, c.typeName());
        writeString(out, c.typeUnit());
        out.writeBytes(ByteBuffer.allocate(8).putLong(c.typePeriod()).array());
        return out.toByteArray();
    }

    private static WindowContext decodeContext(byte[] stored) {
        ByteBuffer in = ByteBuffer.wrap(stored);
        String service = readString(in);
        int n = in.getShort() & 0xFFFF;
        Map<String, String> labels = new HashMap<>();
        for (int i = 0; i < n; i++) {
            labels.put(readString(in), readString(in));
        }
        return new WindowContext(service, labels, readString(in), readString(in), in.getLong());
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

    /**
     * Forgets every collector whose bindings and context were not used since {@code horizon} (epoch millis).
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
