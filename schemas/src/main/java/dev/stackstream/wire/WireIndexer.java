package dev.stackstream.wire;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.stackstream.profile.Profile;

/**
 * The writer's side of the v2 compact wire format (the reader's is {@link BindingResolver}): gives
 * every distinct stack id and thread
 * name of one collector run a small index, rewrites a window's {@code entries} as
 * {@code packedEntries}, and attaches the bindings ({@code newStacks}, {@code newThreads}) the
 * window needs.
 *
 * <p>Rule: a window carries the binding of every index it uses whose binding has not yet been
 * acknowledged by the broker inside an earlier window. Windows reach the samples topic in sequence
 * order (one partition per collector id, one window in flight), so once a window carrying a binding
 * is acknowledged, every later window is read after it. Until then each window that uses the index
 * repeats the binding, which is what makes the drop-oldest buffer policy safe: a dropped window is
 * never acknowledged, so its bindings travel again in the next window that uses them, and no
 * reader ever meets an index that was not bound before or in the same record. (Repeats only happen
 * while windows queue up during an outage; in steady state a window is acknowledged long before the
 * next one is cut.)
 *
 * <p>The same rule covers the window's context (v3): service, labels and profile type are left out
 * ({@code contextOmitted}) once a window carrying the same ones was acknowledged, and carried again
 * at least every {@link #CONTEXT_EVERY} windows for readers that start mid-run. A reader fills an
 * omitted context from the latest window that carried one, so a window leaves its context out only
 * when the reader is sure to hold that very context: the latest acknowledged context is this one and
 * every window indexed since the last acknowledged one has it too. A run that interleaves contexts
 * (a sidecar sampling cpu, wall and offcpu of one target publishes their windows in turn) carries
 * the context whenever it changes; leaving it out after the acknowledgement of an older window with
 * the same context let readers file a wall window under the offcpu type indexed just before it.
 *
 * <p>Bounded: at most {@code maxStacks} stack and {@code maxThreads} thread bindings are kept (or
 * as many as the largest single window used, if that is more); the
 * least recently used binding that the window being indexed does not use is forgotten and its
 * index reused for a new binding, which that window then carries (readers apply bindings in
 * sequence order, so a rebinding takes effect from that window on). Not thread-safe: the publisher guards it.
 *
 * <p>In schemas rather than in the collector's publisher because it is the other half of the
 * binding rules, and it builds the generated records, which stay inside this module.
 */
public final class WireIndexer {
    /**
     * A window carries its context in full at least every this many windows, so a reader that
     * starts mid-run learns service and labels within 10 minutes at the default 10-s window.
     */
    public static final int CONTEXT_EVERY = 60;

    /**
     * Service, labels and profile type: what a window may leave out once a window carrying them
     * was acknowledged.
     */
    record Context(String service, Map<String, String> labels, ProfileType profileType) {
        long bytes() {
            long n = 32 + service.length() + profileType.getName().length() + profileType.getUnit().length();
            for (Map.Entry<String, String> e : labels.entrySet()) {
                n += 16 + e.getKey().length() + e.getValue().length();
            }
            return n;
        }
    }

    /**
     * The bindings (and the context, or null) one window carries; acknowledged as a whole when the
     * window is ({@link #acknowledged}). Opaque outside this module.
     */
    public static final class Carried {
        /** What a window in the legacy (v1) form carries. */
        public static final Carried NONE = new Carried(Map.of(), Map.of(), null, -1);

        private final Map<Integer, StackId> stacks;
        private final Map<Integer, String> threads;
        private final Context context;
        /** The window's place in the order the indexer saw windows of its run (-1: none). */
        private final long indexed;

        Carried(Map<Integer, StackId> stacks, Map<Integer, String> threads, Context context, long indexed) {
            this.stacks = stacks;
            this.threads = threads;
            this.context = context;
            this.indexed = indexed;
        }

        Map<Integer, StackId> stacks() {
            return stacks;
        }

        Map<Integer, String> threads() {
            return threads;
        }

        Context context() {
            return context;
        }

        /** Memory held, roughly, for the publisher's buffer bound. */
        public long bytes() {
            long n = 20L * stacks.size() + (context == null ? 0 : context.bytes());
            for (String t : threads.values()) {
                n += 8 + t.length();
            }
            return n;
        }
    }

    private final Table<StackId> stacks;
    private final Table<String> threads;
    private String collectorId;
    /** The context readers hold after the latest acknowledged window (null: none carried yet). */
    private Context acknowledgedContext;
    private int windowsSinceContext;
    /** Windows of this run indexed so far; the latest acknowledged one's number (-1: none). */
    private long indexedWindows;
    private long lastAcknowledged = -1;
    /** The context of the latest indexed window, and the number of the first window since it is this one. */
    private Context indexedContext;
    private long indexedContextSince;

    /**
     * @param maxStacks stack bindings kept (least recently used forgotten beyond)
     * @param maxThreads thread bindings kept
     */
    public WireIndexer(int maxStacks, int maxThreads) {
        this.stacks = new Table<>(maxStacks);
        this.threads = new Table<>(maxThreads);
    }

    /** A samples-topic record value and the bindings it carries. */
    public record Encoded(byte[] value, Carried carried) {
    }

    /**
     * One window of the collector run {@code collectorId} in the compact form (arguments as
     * {@link WireModel#toBatch}), with the bindings and context it must carry.
     */
    public Encoded encode(Profile window, String service, Map<String, String> labels, String collectorId,
                          long sequence) {
        SampleBatch batch = WireModel.toBatch(window, service, labels, collectorId, sequence);
        Carried carried = compact(batch);
        return new Encoded(WireCodec.encode(batch), carried);
    }

    /**
     * Rewrites {@code batch} (built with v1 entries) in the compact form, in place.
     *
     * @return the bindings the batch now carries
     */
    Carried compact(SampleBatch batch) {
        if (!batch.getCollectorId().equals(collectorId)) {
            // Indexes are scoped to a collector id: another run starts from nothing.
            stacks.clear();
            threads.clear();
            acknowledgedContext = null;
            indexedWindows = 0;
            lastAcknowledged = -1;
            indexedContext = null;
            collectorId = batch.getCollectorId();
        }
        long indexed = indexedWindows++;
        Context context = omitContextIfAcknowledged(batch, indexed);
        stacks.beginWindow();
        threads.beginWindow();
        Map<Integer, StackId> newStacks = new LinkedHashMap<>();
        Map<Integer, String> newThreads = new LinkedHashMap<>();
        List<IndexedStackCount> compact = new ArrayList<>(batch.getEntries().size());
        for (StackCount e : batch.getEntries()) {
            int s = stacks.indexOf(e.getStackId(), newStacks);
            int t = e.getThread() == null ? -1 : threads.indexOf(e.getThread(), newThreads);
            compact.add(new IndexedStackCount(s, e.getCount(), t, e.getInstructions() == null ? -1 : e.getInstructions()));
        }
        List<StackIndexDefinition> stackDefs = new ArrayList<>(newStacks.size());
        newStacks.forEach((i, id) -> stackDefs.add(new StackIndexDefinition(i, id)));
        List<ThreadIndexDefinition> threadDefs = new ArrayList<>(newThreads.size());
        newThreads.forEach((i, name) -> threadDefs.add(new ThreadIndexDefinition(i, name)));
        batch.setEntries(List.of());
        PackedEntries.set(batch, compact);
        batch.setNewStacks(stackDefs);
        batch.setNewThreads(threadDefs);
        return new Carried(newStacks, newThreads, context, indexed);
    }

    /**
     * Leaves service, labels and profile type out of the batch (contextOmitted) when readers are
     * sure to hold the same ones (see the class comment) and fewer than {@link #CONTEXT_EVERY}
     * windows passed since one carried them.
     *
     * @param indexed the window's number in this run
     * @return the context the batch carries, or null when it was left out
     */
    private Context omitContextIfAcknowledged(SampleBatch batch, long indexed) {
        Context context = new Context(batch.getService(), Map.copyOf(batch.getLabels()),
                ProfileType.newBuilder(batch.getProfileType()).build());
        if (!context.equals(indexedContext)) {
            indexedContext = context;
            indexedContextSince = indexed;
        }
        // Windows before indexedContextSince had another context; once one at or after the last of
        // them is acknowledged, each of them was either read or dropped for good.
        boolean onlyThisContextPending = lastAcknowledged >= indexedContextSince - 1;
        if (onlyThisContextPending && context.equals(acknowledgedContext)
                && windowsSinceContext < CONTEXT_EVERY - 1) {
            windowsSinceContext++;
            batch.setContextOmitted(true);
            batch.setService("");
            batch.setLabels(Map.of());
            batch.setProfileType(new ProfileType("", "", 0L));
            return null;
        }
        windowsSinceContext = 0;
        return context;
    }

    /** A window carrying {@code bindings} was acknowledged: later windows need not repeat them. */
    public void acknowledged(String collectorId, Carried carried) {
        if (!collectorId.equals(this.collectorId)) {
            return;
        }
        // Acknowledgements come in the order windows were indexed: a dropped window never gets one.
        lastAcknowledged = Math.max(lastAcknowledged, carried.indexed);
        carried.stacks().forEach(stacks::acknowledged);
        carried.threads().forEach(threads::acknowledged);
        if (carried.context() != null) {
            acknowledgedContext = carried.context();
        }
    }

    /** Stack bindings kept now. */
    public int stackBindings() {
        return stacks.size();
    }

    /** Key -> index with LRU reuse of indexes and an acknowledged flag per binding. */
    private static final class Table<K> {
        private static final class Slot {
            final int index;
            boolean acknowledged;
            long usedInWindow = -1;

            Slot(int index) {
                this.index = index;
            }
        }

        private final int max;
        private final LinkedHashMap<K, Slot> byKey = new LinkedHashMap<>(256, 0.75f, true);
        private final Map<Integer, K> byIndex = new HashMap<>();
        private final Deque<Integer> free = new ArrayDeque<>();
        private int next;
        private long window;

        Table(int max) {
            this.max = max;
        }

        /** Starts a window: bindings used from now on must not be reused within it. */
        void beginWindow() {
            window++;
        }

        int indexOf(K key, Map<Integer, K> unacknowledgedUsed) {
            Slot slot = byKey.get(key);
            if (slot == null) {
                while (byKey.size() >= max) {
                    var eldest = byKey.entrySet().iterator().next();
                    // Access order: if even the eldest was used by this window, all were, and one
                    // index cannot mean two stacks in one batch; grow past the bound for this
                    // window (later windows shrink the table back).
                    if (eldest.getValue().usedInWindow == window) {
                        break;
                    }
                    byKey.remove(eldest.getKey());
                    byIndex.remove(eldest.getValue().index);
                    free.push(eldest.getValue().index);
                }
                slot = new Slot(free.isEmpty() ? next++ : free.pop());
                byKey.put(key, slot);
                byIndex.put(slot.index, key);
            }
            slot.usedInWindow = window;
            if (!slot.acknowledged) {
                unacknowledgedUsed.put(slot.index, key);
            }
            return slot.index;
        }

        void acknowledged(int index, K key) {
            // Only the binding that was delivered: the index may have been rebound since.
            if (key.equals(byIndex.get(index))) {
                byKey.get(key).acknowledged = true;
            }
        }

        void clear() {
            byKey.clear();
            byIndex.clear();
            free.clear();
            next = 0;
        }

        int size() {
            return byKey.size();
        }
    }
}
