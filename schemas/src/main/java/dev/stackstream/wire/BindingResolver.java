package dev.stackstream.wire;

import java.util.HashMap;

/**
 * The one place that reads a collector run's compact windows through its {@link Bindings}: every
 * reader (the collector-side {@code KafkaProfileReader} and {@link WireModel#addBatch}, the
 * aggregator's ingest step) resolves indexes and restores contexts here, whichever implementation
 * keeps the bindings.
 *
 * <p>Order: feed a run's windows in sequence order. A window's context is restored (or remembered)
 * with {@link #restoreContext}; its index definitions are applied, then its entries resolved, with
 * {@link #forEachEntry}. The two steps are separate because the aggregator checks for a replayed
 * window in between (a replay must not count; its bindings equal the first delivery's).
 */
public final class BindingResolver {

    private BindingResolver() {
    }

    /**
     * Remembers the context of a window that carries it; fills the remembered one into a window
     * that left it out ({@code contextOmitted}), in place.
     *
     * @return false when the window left its context out and none is remembered (a reader that
     *     started mid-run): the window's service stays empty and it should not be counted as is
     */
    public static boolean restoreContext(SampleBatch batch, Bindings bindings) {
        if (!batch.getContextOmitted()) {
            ProfileType t = batch.getProfileType();
            WindowContext carried = new WindowContext(batch.getService(), batch.getLabels(), t.getName(), t.getUnit(),
                    t.getPeriod());
            if (!carried.equals(bindings.context())) {
                bindings.context(carried);
            }
            return true;
        }
        WindowContext known = bindings.context();
        if (known == null) {
            return false;
        }
        batch.setService(known.service());
        batch.setLabels(new HashMap<>(known.labels()));
        batch.setProfileType(new ProfileType(known.typeName(), known.typeUnit(), known.typePeriod()));
        return true;
    }

    /** False only when a window left its context out and {@link #restoreContext} knew none. */
    public static boolean contextKnown(SampleBatch restored) {
        return !restored.getService().isEmpty();
    }

    /**
     * Applies the window's index definitions (a later binding of an index replaces the earlier
     * one), then hands every entry to {@code consumer}: v1 entries first, then compact entries with
     * their indexes resolved. A compact entry whose stack index is unbound counts under
     * {@link WireModel#UNBOUND_STACK}; an unbound thread index counts as no thread.
     *
     * @return the compact entries whose stack index was unbound
     */
    public static int forEachEntry(SampleBatch batch, Bindings bindings, WireModel.EntryConsumer consumer) {
        for (StackIndexDefinition d : batch.getNewStacks()) {
            bindings.bindStack(d.getIndex(), WireModel.fromWire(d.getStackId()));
        }
        for (ThreadIndexDefinition d : batch.getNewThreads()) {
            bindings.bindThread(d.getIndex(), d.getName());
        }
        for (StackCount e : batch.getEntries()) {
            consumer.accept(WireModel.fromWire(e.getStackId()), e.getThread(), e.getCount(),
                    e.getInstructions() != null ? e.getInstructions() : -1);
        }
        int unbound = 0;
        for (IndexedStackCount e : PackedEntries.of(batch)) {
            dev.stackstream.profile.StackId id = bindings.stack(e.getStackIndex());
            if (id == null) {
                unbound++;
                id = WireModel.UNBOUND_STACK;
            }
            String thread = e.getThreadIndex() < 0 ? null : bindings.thread(e.getThreadIndex());
            consumer.accept(id, thread, e.getCount(), e.getInstructions() >= 0 ? e.getInstructions() : -1);
        }
        return unbound;
    }
}
