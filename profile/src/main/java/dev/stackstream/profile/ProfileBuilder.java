package dev.stackstream.profile;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Accumulates samples into a {@link Profile}, merging equal (stack, thread) pairs. Not thread-safe.
 */
public final class ProfileBuilder {
    private record Key(Stack stack, String thread) { }

    private final ProfileType type;
    private final Map<Key, long[]> counts = new LinkedHashMap<>();
    private final Map<String, String> labels = new TreeMap<>();
    private Instant start;
    private Instant end;
    private ProfileStats stats = ProfileStats.EMPTY;

    ProfileBuilder(ProfileType type) {
        this.type = Objects.requireNonNull(type, "type");
    }

    /** Adds count samples of stack on thread (null when not per thread). */
    public ProfileBuilder add(Stack stack, String thread, long count) {
        return add(stack, thread, count, -1);
    }

    /** As {@link #add(Stack, String, long)}, with instructions summed ({@code -1} = not measured). */
    public ProfileBuilder add(Stack stack, String thread, long count, long instructions) {
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, got " + count);
        }
        long[] v = counts.computeIfAbsent(new Key(Objects.requireNonNull(stack, "stack"), thread),
                k -> new long[] {0, -1});
        v[0] += count;
        if (instructions >= 0) {
            v[1] = v[1] < 0 ? instructions : v[1] + instructions;
        }
        return this;
    }

    public ProfileBuilder add(Sample sample) {
        return add(sample.stack(), sample.thread(), sample.count(), sample.instructions());
    }

    /** Adds every sample of another profile, widening the time range and summing the stats. */
    public ProfileBuilder merge(Profile other) {
        for (Sample s : other.samples()) {
            add(s);
        }
        extend(other.start(), other.end());
        stats = stats.plus(other.stats());
        return this;
    }

    public ProfileBuilder timeRange(Instant start, Instant end) {
        this.start = start;
        this.end = end;
        return this;
    }

    /** Widens the time range to include [from, to]. */
    public ProfileBuilder extend(Instant from, Instant to) {
        start = start == null || from.isBefore(start) ? from : start;
        end = end == null || to.isAfter(end) ? to : end;
        return this;
    }

    public ProfileBuilder label(String name, String value) {
        labels.put(Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
        return this;
    }

    public ProfileBuilder labels(Map<String, String> all) {
        all.forEach(this::label);
        return this;
    }

    public ProfileBuilder stats(ProfileStats stats) {
        this.stats = Objects.requireNonNull(stats, "stats");
        return this;
    }

    public ProfileBuilder addStats(ProfileStats more) {
        this.stats = stats.plus(more);
        return this;
    }

    /** Builds; a profile with no time range set gets [epoch, epoch]. */
    public Profile build() {
        var samples = new java.util.ArrayList<Sample>(counts.size());
        counts.forEach((k, v) -> samples.add(new Sample(k.stack(), k.thread(), v[0], v[1])));
        Instant s = start == null ? Instant.EPOCH : start;
        Instant e = end == null ? s : end;
        return new Profile(type, s, e, labels, samples, stats);
    }
}
