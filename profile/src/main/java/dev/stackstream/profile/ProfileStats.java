package dev.stackstream.profile;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What the sampler knows about how complete a profile is, and what it measured about the target
 * beside the stacks. Absent optionals mean "not measured" and are printed as "not available",
 * never as zero.
 *
 * @param lost samples the kernel dropped (ring buffer full)
 * @param throttled times the kernel throttled sampling
 * @param tableOverflow samples not counted because the stack table was full
 * @param truncatedStacks samples whose stack does not reach its root: cut at the depth limit, or
 *     (CFI unwinding) where unwinding stopped early; {@link #unwinding()} says why
 * @param targetCpuNanos CPU time the target used in the profile's time range (from /proc)
 * @param targetMaxRssBytes the target's largest resident set seen (from /proc)
 * @param instructions instructions retired, from a hardware counter; absent without a PMU
 * @param unwinding the unwinding method, stack copy size and cuts by reason; absent where the
 *     sampler did not report them (a window of an older collector, a profile read from a file)
 */
public record ProfileStats(long lost, long throttled, long tableOverflow, long truncatedStacks,
                           OptionalLong targetCpuNanos, OptionalLong targetMaxRssBytes,
                           OptionalLong instructions, Optional<Unwinding> unwinding) {

    public static final ProfileStats EMPTY = new ProfileStats(0, 0, 0, 0,
            OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty());

    public ProfileStats {
        Objects.requireNonNull(unwinding, "unwinding");
    }

    /** Stats without unwinding details. */
    public ProfileStats(long lost, long throttled, long tableOverflow, long truncatedStacks,
                        OptionalLong targetCpuNanos, OptionalLong targetMaxRssBytes, OptionalLong instructions) {
        this(lost, throttled, tableOverflow, truncatedStacks, targetCpuNanos, targetMaxRssBytes, instructions,
                Optional.empty());
    }

    /**
     * Counters add; measurements add (cpu, instructions) or take the max (rss) when both have them.
     * Unwinding details add when both have them; when one side has none, the other's are kept only
     * if the side without them cut nothing (else the reasons of its cuts would be missing from the
     * sum, and the details are left out rather than undercounted).
     */
    public ProfileStats plus(ProfileStats o) {
        return new ProfileStats(lost + o.lost, throttled + o.throttled,
                tableOverflow + o.tableOverflow, truncatedStacks + o.truncatedStacks,
                sum(targetCpuNanos, o.targetCpuNanos), max(targetMaxRssBytes, o.targetMaxRssBytes),
                sum(instructions, o.instructions), unwinding(o));
    }

    private Optional<Unwinding> unwinding(ProfileStats o) {
        if (unwinding.isPresent() && o.unwinding.isPresent()) {
            return Optional.of(unwinding.get().plus(o.unwinding.get()));
        }
        if (unwinding.isPresent()) {
            return o.truncatedStacks == 0 ? unwinding : Optional.empty();
        }
        return truncatedStacks == 0 ? o.unwinding : Optional.empty();
    }

    private static OptionalLong sum(OptionalLong a, OptionalLong b) {
        if (a.isEmpty()) {
            return b;
        }
        return b.isEmpty() ? a : OptionalLong.of(a.getAsLong() + b.getAsLong());
    }

    private static OptionalLong max(OptionalLong a, OptionalLong b) {
        if (a.isEmpty()) {
            return b;
        }
        return b.isEmpty() ? a : OptionalLong.of(Math.max(a.getAsLong(), b.getAsLong()));
    }
}
