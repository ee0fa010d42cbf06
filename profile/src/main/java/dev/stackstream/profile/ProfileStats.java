package dev.stackstream.profile;

import java.util.OptionalLong;

/**
 * What the sampler knows about how complete a profile is, and what it measured about the target
 * beside the stacks. Absent optionals mean "not measured" and are printed as "not available",
 * never as zero.
 *
 * @param lost samples the kernel dropped (ring buffer full)
 * @param throttled times the kernel throttled sampling
 * @param tableOverflow samples not counted because the stack table was full
 * @param truncatedStacks stacks cut at the depth limit
 * @param targetCpuNanos CPU time the target used in the profile's time range (from /proc)
 * @param targetMaxRssBytes the target's largest resident set seen (from /proc)
 * @param instructions instructions retired, from a hardware counter; absent without a PMU
 */
public record ProfileStats(long lost, long throttled, long tableOverflow, long truncatedStacks,
                           OptionalLong targetCpuNanos, OptionalLong targetMaxRssBytes,
                           OptionalLong instructions) {

    public static final ProfileStats EMPTY = new ProfileStats(0, 0, 0, 0,
            OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty());

    /** Counters add; measurements add (cpu, instructions) or take the max (rss) when both have them. */
    public ProfileStats plus(ProfileStats o) {
        return new ProfileStats(lost + o.lost, throttled + o.throttled,
                tableOverflow + o.tableOverflow, truncatedStacks + o.truncatedStacks,
                sum(targetCpuNanos, o.targetCpuNanos), max(targetMaxRssBytes, o.targetMaxRssBytes),
                sum(instructions, o.instructions));
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
