package dev.stackstream.collector.sampling;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The profile types a command can ask for ({@code --profile NAME}), by the name that also names
 * the type on the wire, in the aggregator's {@code type=} and in the outputs.
 *
 * <ul>
 *   <li>{@code cpu}: on-CPU time, cpu-clock at the frequency;</li>
 *   <li>{@code wall}: on-CPU samples plus off-CPU intervals in one unit (ns);</li>
 *   <li>{@code offcpu}: where threads blocked, weighted by the time until they ran again (ns);</li>
 *   <li>{@code page-faults}: the page-faults software event, one sample every period faults;</li>
 *   <li>{@code alloc}: libc's malloc, calloc and realloc, about one sample every alloc-interval
 *       bytes, weighted by the bytes each stands for.</li>
 * </ul>
 */
public enum ProfileKind {
    CPU("cpu", SamplingOptions.Event.CPU_CLOCK),
    WALL("wall", SamplingOptions.Event.WALL),
    OFF_CPU("offcpu", SamplingOptions.Event.OFF_CPU),
    PAGE_FAULTS("page-faults", SamplingOptions.Event.PAGE_FAULTS),
    ALLOC("alloc", SamplingOptions.Event.ALLOC);

    private final String profileName;
    private final SamplingOptions.Event event;

    ProfileKind(String profileName, SamplingOptions.Event event) {
        this.profileName = profileName;
        this.event = event;
    }

    /** The name on the command line and on the wire. */
    public String profileName() {
        return profileName;
    }

    public SamplingOptions.Event event() {
        return event;
    }

    /** The valid names, comma-separated, for messages. */
    public static String names() {
        return Arrays.stream(values()).map(ProfileKind::profileName).collect(Collectors.joining(", "));
    }

    /**
     * The kind named {@code name} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the valid types when there is none
     */
    public static ProfileKind byName(String name) {
        for (ProfileKind k : values()) {
            if (k.profileName.equals(name.toLowerCase(Locale.ROOT))) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown profile type '" + name + "': valid types are " + names());
    }

    /** User stack copied per page-fault sample: 2 KiB reaches the root in ~91 % of perl's stacks. */
    static final int PAGE_FAULT_STACK_BYTES = 2048;
    /**
     * Ring per thread for page faults: 8 MiB, ~3,600 samples of a burst before the reader drains.
     * Measured (BENCHMARKS.md, profile types): dd faulting in a 64 MiB buffer (16,500 faults in
     * a burst) lost a median 22 % (11-38 %) of its faults with 2 MiB, 1.2 % (0-9 %) with 4 MiB and
     * none in any run with 8 MiB, on a machine with other load.
     */
    static final int PAGE_FAULT_RING_PAGES = 2048;

    /** User stack copied per allocation sample: half the default; an allocation is rarely deep in a stack
     * the default would reach and the smaller copy halves each sample's cost in the kernel. */
    static final int ALLOC_STACK_BYTES = 8192;
    /**
     * Ring per thread for allocation samples: 4 MiB, ~500 samples of 8 KiB. The native test saw a 512 KiB
     * ring lose 1,446 of ~3,800 samples taken at ~10,000 per second (16 KiB of stack each); at the default
     * interval a target allocating 1 GB/s makes ~2,000 per second.
     */
    static final int ALLOC_RING_PAGES = 1024;

    /**
     * The builder set to sample this kind: its event (the frequency and period stay as set). Page
     * faults come in bursts (a fresh buffer faults in thousands of pages within a millisecond) that
     * the default 512 KiB ring with 16 KiB of stack per sample would cut to ~30 samples: they copy
     * {@value #PAGE_FAULT_STACK_BYTES} bytes of stack into a ring of {@value #PAGE_FAULT_RING_PAGES}
     * pages instead. Beyond that a burst loses samples (counted as lost): raise the period.
     */
    public SamplingOptions.Builder applyTo(SamplingOptions.Builder b) {
        b.event(event);
        if (this == PAGE_FAULTS) {
            b.stackBytes(PAGE_FAULT_STACK_BYTES).ringPages(PAGE_FAULT_RING_PAGES);
        } else if (this == ALLOC) {
            b.stackBytes(ALLOC_STACK_BYTES).ringPages(ALLOC_RING_PAGES);
        }
        return b;
    }
}
