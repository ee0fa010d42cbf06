package dev.stackstream.wire;

import java.time.Instant;
import java.util.function.Function;

import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileStats;
import dev.stackstream.profile.Stack;
import dev.stackstream.profile.StackId;

/**
 * One decoded window of the samples topic, for readers outside this module: the generated Avro
 * record stays inside schemas, readers see the window's fields in model types and read its entries
 * through {@link Bindings} (rules in {@link BindingResolver}). Feed one collector run's windows to
 * {@link #restoreContext} and {@link #forEachEntry} in sequence order. Not thread-safe (restoring a
 * context fills it in, in place).
 */
public final class WireWindow {
    private final SampleBatch batch;

    private WireWindow(SampleBatch batch) {
        this.batch = batch;
    }

    /**
     * Decodes a samples-topic record value.
     *
     * @throws WireFormatException when the bytes are not a SampleBatch of a released version (the
     *     message says what they look like)
     */
    public static WireWindow decode(byte[] value) throws WireFormatException {
        return new WireWindow(WireCodec.decodeSampleBatch(value));
    }

    public String collectorId() {
        return batch.getCollectorId();
    }

    /** Window number of the collector run, from 0 without gaps. */
    public long sequence() {
        return batch.getSequence();
    }

    public Instant windowStart() {
        return batch.getWindowStart();
    }

    public Instant windowEnd() {
        return batch.getWindowEnd();
    }

    /** True when the writer left service, labels and profile type out (v3); see {@link #restoreContext}. */
    public boolean contextOmitted() {
        return batch.getContextOmitted();
    }

    /**
     * Service, labels and profile type as the window has them now: as carried, or as restored; empty
     * ({@code ""}, no labels, {@code ("", "", 0)}) when omitted and not (yet) restored.
     */
    public WindowContext context() {
        ProfileType t = batch.getProfileType();
        return new WindowContext(batch.getService(), batch.getLabels(), t.getName(), t.getUnit(), t.getPeriod());
    }

    /** The window's counters and measurements. */
    public ProfileStats stats() {
        return WireModel.fromWire(batch.getStats());
    }

    /** {@link BindingResolver#restoreContext}: false when omitted and no earlier window of the run carried it. */
    public boolean restoreContext(Bindings bindings) {
        return BindingResolver.restoreContext(batch, bindings);
    }

    /** False only when the window left its context out and {@link #restoreContext} knew none. */
    public boolean contextKnown() {
        return BindingResolver.contextKnown(batch);
    }

    /**
     * {@link BindingResolver#forEachEntry}: applies the window's bindings, then hands over every entry.
     *
     * @return the compact entries whose stack index was unbound
     */
    public int forEachEntry(Bindings bindings, WireModel.EntryConsumer consumer) {
        return BindingResolver.forEachEntry(batch, bindings, consumer);
    }

    /** {@link WireModel#addBatch(ProfileBuilder, SampleBatch, Bindings, Function)} for this window. */
    public ProfileBuilder addTo(ProfileBuilder builder, Bindings bindings, Function<StackId, Stack> dictionary) {
        return WireModel.addBatch(builder, batch, bindings, dictionary);
    }

    /**
     * What is wrong with the window that the schema cannot express, or null: an empty service or
     * profile type where the context is carried, an empty collector id, a negative sequence, an end
     * before the start, a non-positive period, a negative count or index definition. (Corrupt
     * {@code packedEntries} fail decoding already.)
     */
    public String problem() {
        SampleBatch b = batch;
        boolean carried = !b.getContextOmitted();
        if (b.getService() == null || (b.getService().isBlank() && carried)) {
            return "service is empty";
        }
        if (b.getCollectorId() == null || b.getCollectorId().isEmpty()) {
            return "collectorId is empty";
        }
        if (b.getSequence() < 0) {
            return "sequence " + b.getSequence() + " is negative";
        }
        if (b.getWindowEnd().isBefore(b.getWindowStart())) {
            return "windowEnd " + b.getWindowEnd() + " is before windowStart " + b.getWindowStart();
        }
        if (b.getProfileType().getPeriod() <= 0 && carried) {
            return "profile type period " + b.getProfileType().getPeriod() + " is not positive";
        }
        if (b.getProfileType().getName().isBlank() && carried) {
            return "profile type name is empty";
        }
        for (StackCount e : b.getEntries()) {
            if (e.getCount() < 0) {
                return "entry count " + e.getCount() + " is negative";
            }
        }
        for (StackIndexDefinition d : b.getNewStacks()) {
            if (d.getIndex() < 0) {
                return "stack index definition " + d.getIndex() + " is negative";
            }
        }
        for (ThreadIndexDefinition d : b.getNewThreads()) {
            if (d.getIndex() < 0) {
                return "thread index definition " + d.getIndex() + " is negative";
            }
        }
        return null;
    }
}
