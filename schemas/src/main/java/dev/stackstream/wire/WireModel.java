package dev.stackstream.wire;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.function.Function;

import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileStats;
import dev.stackstream.profile.Sample;
import dev.stackstream.profile.Stack;
import dev.stackstream.profile.Unwinding;

/**
 * Conversions between the profile model ({@code dev.stackstream.profile}) and the wire records.
 * The wire classes share simple names with the model (Frame, StackId, ProfileType, FrameKind), so
 * the model side is written fully qualified here.
 */
public final class WireModel {
    /** The label a decoded profile carries the batch's service in. */
    public static final String SERVICE_LABEL = "service";

    static {
        // Decoding and defaulting instantiate the generated classes through Avro's class check;
        // WireCodec registers them as trusted when it loads.
        WireCodec.trustWireClasses();
    }

    private WireModel() {
    }

    // ---- stacks and frames -------------------------------------------------------------------

    public static StackId toWire(dev.stackstream.profile.StackId id) {
        return new StackId(id.toBytes());
    }

    public static dev.stackstream.profile.StackId fromWire(StackId id) {
        return dev.stackstream.profile.StackId.fromBytes(id.bytes());
    }

    public static Frame toWire(dev.stackstream.profile.Frame f) {
        return Frame.newBuilder()
                .setFunction(f.function())
                .setModule(f.module())
                .setBuildId(f.buildId())
                .setOffset(f.offset())
                .setKind(dev.stackstream.wire.FrameKind.valueOf(f.kind().name()))
                .setFile(f.file())
                .setLine(f.line())
                .build();
    }

    public static dev.stackstream.profile.Frame fromWire(Frame f) {
        return new dev.stackstream.profile.Frame(f.getFunction(), f.getModule(), f.getBuildId(), f.getOffset(),
                FrameKind.valueOf(f.getKind().name()), f.getFile(), f.getLine());
    }

    /** The dictionary entry for a stack: its content-hash id, frames root first, truncated flag. */
    public static StackDefinition toDefinition(Stack stack) {
        List<Frame> frames = new ArrayList<>(stack.depth());
        for (dev.stackstream.profile.Frame f : stack.frames()) {
            frames.add(toWire(f));
        }
        return new StackDefinition(toWire(stack.id()), frames, stack.truncated());
    }

    /**
     * The stack a definition describes.
     *
     * @throws WireFormatException when the id in the definition is not the hash of its frames
     *     (corruption, or a writer that hashes differently)
     */
    public static Stack fromDefinition(StackDefinition definition) throws WireFormatException {
        List<dev.stackstream.profile.Frame> frames = new ArrayList<>(definition.getFrames().size());
        for (Frame f : definition.getFrames()) {
            frames.add(fromWire(f));
        }
        Stack stack = new Stack(frames, definition.getTruncated());
        dev.stackstream.profile.StackId claimed = fromWire(definition.getStackId());
        if (!stack.id().equals(claimed)) {
            throw new WireFormatException("stack definition " + claimed + " does not match its frames (their hash is "
                    + stack.id() + ")");
        }
        return stack;
    }

    /**
     * Placeholder for a stack whose definition has not arrived (yet): one frame naming the id, so
     * counts are never dropped and the flame graph shows where they went.
     */
    public static Stack unknownStack(dev.stackstream.profile.StackId id) {
        return Stack.of(dev.stackstream.profile.Frame.named("[unknown stack " + id.toHex() + "]", FrameKind.USER));
    }

    // ---- profile type and stats ---------------------------------------------------------------

    public static ProfileType toWire(dev.stackstream.profile.ProfileType type) {
        return new ProfileType(type.name(), type.unit(), type.period());
    }

    public static dev.stackstream.profile.ProfileType fromWire(ProfileType type) {
        return new dev.stackstream.profile.ProfileType(type.getName(), type.getUnit(), type.getPeriod());
    }

    public static WindowStats toWire(ProfileStats s) {
        UnwindingStats u = s.unwinding().map(w -> new UnwindingStats(w.method(), w.stackBytes(), w.depthCuts(),
                w.stackCopyCuts(), w.noUnwindInfoCuts(), w.corruptCuts())).orElse(null);
        return new WindowStats(s.lost(), s.throttled(), s.tableOverflow(), s.truncatedStacks(),
                boxed(s.targetCpuNanos()), boxed(s.targetMaxRssBytes()), boxed(s.instructions()), u);
    }

    /**
     * The stats in model types. Unwinding details from a hostile writer (negative counts or copy
     * size) are left out rather than refused: they describe the window, the counts stay usable.
     */
    public static ProfileStats fromWire(WindowStats s) {
        UnwindingStats u = s.getUnwinding();
        Optional<Unwinding> unwinding = Optional.empty();
        if (u != null && u.getStackBytes() >= 0 && u.getDepthCuts() >= 0 && u.getStackCopyCuts() >= 0
                && u.getNoUnwindInfoCuts() >= 0 && u.getCorruptCuts() >= 0) {
            unwinding = Optional.of(new Unwinding(u.getMethod(), u.getStackBytes(), u.getDepthCuts(),
                    u.getStackCopyCuts(), u.getNoUnwindInfoCuts(), u.getCorruptCuts()));
        }
        return new ProfileStats(s.getLost(), s.getThrottled(), s.getTableOverflow(), s.getTruncatedStacks(),
                optional(s.getTargetCpuNanos()), optional(s.getTargetMaxRssBytes()), optional(s.getInstructions()),
                unwinding);
    }

    private static Long boxed(OptionalLong v) {
        return v.isPresent() ? v.getAsLong() : null;
    }

    private static OptionalLong optional(Long v) {
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    // ---- windows --------------------------------------------------------------------------------

    /**
     * One window's profile as a batch. Samples with a zero count are left out (they carry nothing).
     *
     * @param window the window's profile; its time range becomes the window's
     * @param service service name
     * @param labels target labels ({@code service} among them is ignored: it has its own field)
     * @param collectorId this collector run's id
     * @param sequence window number, from 0 without gaps
     */
    public static SampleBatch toBatch(Profile window, String service, Map<String, String> labels,
                                      String collectorId, long sequence) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(collectorId, "collectorId");
        Map<String, String> wireLabels = new TreeMap<>(labels);
        wireLabels.remove(SERVICE_LABEL);
        List<StackCount> entries = new ArrayList<>(window.samples().size());
        for (Sample s : window.samples()) {
            if (s.count() == 0) {
                continue;
            }
            entries.add(new StackCount(toWire(s.stack().id()), s.count(), s.thread(),
                    s.instructions() >= 0 ? s.instructions() : null));
        }
        return SampleBatch.newBuilder()
                .setService(service)
                .setLabels(wireLabels)
                .setProfileType(toWire(window.type()))
                .setWindowStart(truncateToMillis(window.start()))
                .setWindowEnd(truncateToMillis(window.end()))
                .setCollectorId(collectorId)
                .setSequence(sequence)
                .setEntries(entries)
                .setStats(toWire(window.stats()))
                // Set, not defaulted: Avro would build defaults of record arrays reflectively.
                .setNewStacks(new ArrayList<>())
                .setNewThreads(new ArrayList<>())
                .setPackedEntries(java.nio.ByteBuffer.allocate(0))
                .build();
    }

    /**
     * Adds a batch to a builder (several batches merge into one profile): counts per (stack, thread),
     * the window's time range and stats. Stacks come from {@code dictionary}; a null answer gives
     * {@link #unknownStack}. The batch is read on its own: compact entries it does not bind itself
     * count under {@link #UNBOUND_STACK}'s placeholder.
     */
    public static ProfileBuilder addBatch(ProfileBuilder builder, SampleBatch batch,
                                          Function<dev.stackstream.profile.StackId, Stack> dictionary) {
        return addBatch(builder, batch, new InMemoryBindings(), dictionary);
    }

    /**
     * {@link #addBatch(ProfileBuilder, SampleBatch, Function)} for one of a collector run's batches,
     * taken in sequence order: the batch's context and index definitions go through
     * {@link BindingResolver} and {@code bindings} first, then both its v1 entries and its compact
     * entries are added.
     */
    public static ProfileBuilder addBatch(ProfileBuilder builder, SampleBatch batch, Bindings bindings,
                                          Function<dev.stackstream.profile.StackId, Stack> dictionary) {
        BindingResolver.restoreContext(batch, bindings);
        BindingResolver.forEachEntry(batch, bindings, (id, thread, count, instructions) -> {
            Stack stack = dictionary.apply(id);
            builder.add(stack != null ? stack : unknownStack(id), thread, count, instructions);
        });
        builder.extend(batch.getWindowStart(), batch.getWindowEnd());
        builder.addStats(fromWire(batch.getStats()));
        return builder;
    }

    /** Receives one resolved entry of a batch ({@link BindingResolver#forEachEntry}). */
    @FunctionalInterface
    public interface EntryConsumer {
        /**
         * @param stack the stack id (v1 entry, or a compact entry's bound index; {@link #UNBOUND_STACK} when unbound)
         * @param thread thread name, or null
         * @param count samples
         * @param instructions instructions retired, or -1 when not measured
         */
        void accept(dev.stackstream.profile.StackId stack, String thread, long count, long instructions);
    }

    /**
     * Id counted for a compact entry whose stack index was never bound for its collector (a reader
     * that missed the defining window): all zero bits, which no content hash is expected to give.
     */
    public static final dev.stackstream.profile.StackId UNBOUND_STACK =
            dev.stackstream.profile.StackId.fromBytes(new byte[16]);

    /** One batch as a profile labelled with its service and labels. */
    public static Profile toProfile(SampleBatch batch, Function<dev.stackstream.profile.StackId, Stack> dictionary) {
        ProfileBuilder b = Profile.builder(fromWire(batch.getProfileType()))
                .labels(batch.getLabels())
                .label(SERVICE_LABEL, batch.getService());
        return addBatch(b, batch, dictionary).build();
    }

    private static Instant truncateToMillis(Instant t) {
        return Instant.ofEpochMilli(t.toEpochMilli());
    }
}
