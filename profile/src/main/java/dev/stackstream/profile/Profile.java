package dev.stackstream.profile;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * An aggregated profile: unique (stack, thread) pairs with their counts over a time range.
 * Immutable; build one with {@link ProfileBuilder}. Every renderer and report takes one of these.
 */
public final class Profile {
    private final ProfileType type;
    private final Instant start;
    private final Instant end;
    private final SortedMap<String, String> labels;
    private final List<Sample> samples;
    private final ProfileStats stats;
    private final long totalCount;

    Profile(ProfileType type, Instant start, Instant end, Map<String, String> labels,
            List<Sample> samples, ProfileStats stats) {
        this.type = Objects.requireNonNull(type, "type");
        this.start = Objects.requireNonNull(start, "start");
        this.end = Objects.requireNonNull(end, "end");
        if (end.isBefore(start)) {
            throw new IllegalArgumentException("profile ends (" + end + ") before it starts (" + start + ")");
        }
        this.labels = new TreeMap<>(labels);
        this.samples = List.copyOf(samples);
        this.stats = Objects.requireNonNull(stats, "stats");
        long total = 0;
        for (Sample s : this.samples) {
            total += s.count();
        }
        this.totalCount = total;
    }

    public static ProfileBuilder builder(ProfileType type) {
        return new ProfileBuilder(type);
    }

    public ProfileType type() {
        return type;
    }

    public Instant start() {
        return start;
    }

    public Instant end() {
        return end;
    }

    public Duration duration() {
        return Duration.between(start, end);
    }

    /** Labels common to every sample (service, pod, host...), sorted by name; unmodifiable. */
    public SortedMap<String, String> labels() {
        return java.util.Collections.unmodifiableSortedMap(labels);
    }

    /** Unique (stack, thread) pairs; order is the builder's insertion order. */
    public List<Sample> samples() {
        return samples;
    }

    public ProfileStats stats() {
        return stats;
    }

    /** Sum of all sample counts. */
    public long totalCount() {
        return totalCount;
    }

    /** Number of distinct stacks, threads ignored. */
    public long uniqueStacks() {
        return samples.stream().map(Sample::stack).distinct().count();
    }

    /** The same profile with threads merged away: one sample per distinct stack. */
    public Profile withoutThreads() {
        ProfileBuilder b = new ProfileBuilder(type).timeRange(start, end).labels(labels).stats(stats);
        for (Sample s : samples) {
            b.add(s.stack(), null, s.count(), s.instructions());
        }
        return b.build();
    }
}
