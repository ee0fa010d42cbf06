package dev.stackstream.wire;

import java.util.HashMap;
import java.util.Map;

/**
 * A reader's view of one collector run's index bindings (v2 compact batches): which stack id and
 * which thread name each small index stands for, and (v3) the service, labels and profile type that windows
 * with {@code contextOmitted} leave out. Feed it the run's batches in sequence order with
 * {@link #apply(SampleBatch)}, then resolve that batch's {@link PackedEntries}.
 *
 * <p>Bindings only ever arrive inside the batches that use them (or earlier ones), so a reader that
 * sees every window of the run in order resolves every index. A reader that starts in the middle of
 * a run, or misses the defining window, gets {@code null} for an unbound index and must count the
 * samples as an unknown stack rather than drop them. Not thread-safe.
 */
public final class CollectorIndex {
    private final Map<Integer, StackId> stacks = new HashMap<>();
    private final Map<Integer, String> threads = new HashMap<>();
    private String service;
    private Map<String, String> labels;
    private ProfileType profileType;

    /**
     * Applies the batch's index definitions (a later binding of an index replaces the earlier one)
     * and its context: a batch that carries service, labels and profile type sets them; one with
     * {@code contextOmitted} gets them filled in, in place, when they are known (see
     * {@link #contextKnown}).
     */
    public CollectorIndex apply(SampleBatch batch) {
        if (!batch.getContextOmitted()) {
            service = batch.getService();
            labels = batch.getLabels();
            profileType = batch.getProfileType();
        } else if (service != null) {
            batch.setService(service);
            batch.setLabels(new HashMap<>(labels));
            batch.setProfileType(ProfileType.newBuilder(profileType).build());
        }
        for (StackIndexDefinition d : batch.getNewStacks()) {
            stacks.put(d.getIndex(), d.getStackId());
        }
        for (ThreadIndexDefinition d : batch.getNewThreads()) {
            threads.put(d.getIndex(), d.getName());
        }
        return this;
    }

    /** The stack id bound to {@code index}, or null when unbound. */
    public StackId stack(int index) {
        return stacks.get(index);
    }

    /**
     * The thread name bound to {@code index}; null for -1 (no thread) and for an unbound index
     * (see {@link #threadBound}).
     */
    public String thread(int index) {
        return index < 0 ? null : threads.get(index);
    }

    /** True for -1 (no thread) and for bound indexes. */
    public boolean threadBound(int index) {
        return index < 0 || threads.containsKey(index);
    }

    /** False only when a batch omits its context and no earlier batch of the run carried it. */
    public static boolean contextKnown(SampleBatch appliedBatch) {
        return !appliedBatch.getService().isEmpty();
    }

    /** Bound stack indexes. */
    public int stackCount() {
        return stacks.size();
    }
}
