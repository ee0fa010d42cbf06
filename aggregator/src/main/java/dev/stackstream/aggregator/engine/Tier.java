package dev.stackstream.aggregator.engine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One resolution of the count store: buckets of {@code size}, kept for {@code retention}.
 * Tier 0 is written on ingest; each coarser tier is rolled up from the one below it when its
 * buckets close, so a long time range reads few buckets.
 *
 * @param size bucket width
 * @param retention how long buckets are kept (by their start time, against the newest data seen)
 */
public record Tier(Duration size, Duration retention) {

    /** The default tiers: 10 s for 24 h, 1 min for 7 days, 1 h for 90 days. */
    public static final List<Tier> DEFAULTS = List.of(
            new Tier(Duration.ofSeconds(10), Duration.ofHours(24)),
            new Tier(Duration.ofMinutes(1), Duration.ofDays(7)),
            new Tier(Duration.ofHours(1), Duration.ofDays(90)));

    public Tier {
        if (size.toMillis() < 1000) {
            throw new IllegalArgumentException("a tier's bucket size must be at least 1s, got " + size);
        }
        if (retention.compareTo(size) < 0) {
            throw new IllegalArgumentException("a tier's retention (" + DurationText.format(retention)
                    + ") must be at least its bucket size (" + DurationText.format(size) + ")");
        }
    }

    public long sizeMillis() {
        return size.toMillis();
    }

    public long retentionMillis() {
        return retention.toMillis();
    }

    /** Start of the bucket holding t (epoch ms). */
    public long bucketStart(long t) {
        return Math.floorDiv(t, sizeMillis()) * sizeMillis();
    }

    /** Short name used in store names and metrics: {@code 10s}, {@code 1m}, {@code 1h}. */
    public String name() {
        return DurationText.format(size);
    }

    /**
     * Parses {@code 10s:24h,1m:7d,1h:90d}: finest first; each size a multiple of the previous one;
     * each tier's retention long enough to cover the next tier's buckets (it is rolled up from them).
     */
    public static List<Tier> parseList(String text) {
        List<Tier> tiers = new ArrayList<>();
        for (String part : text.split(",")) {
            String[] sr = part.trim().split(":");
            if (sr.length != 2) {
                throw new IllegalArgumentException("tier '" + part.trim() + "' is not SIZE:RETENTION (e.g. 10s:24h)");
            }
            tiers.add(new Tier(DurationText.parse(sr[0]), DurationText.parse(sr[1])));
        }
        validate(tiers);
        return List.copyOf(tiers);
    }

    /** Checks the rules of {@link #parseList(String)}. */
    public static void validate(List<Tier> tiers) {
        if (tiers.isEmpty() || tiers.size() > 8) {
            throw new IllegalArgumentException("between 1 and 8 tiers are needed, got " + tiers.size());
        }
        for (int i = 1; i < tiers.size(); i++) {
            Tier fine = tiers.get(i - 1);
            Tier coarse = tiers.get(i);
            if (coarse.sizeMillis() <= fine.sizeMillis() || coarse.sizeMillis() % fine.sizeMillis() != 0) {
                throw new IllegalArgumentException("tier " + coarse.name() + " must be a larger multiple of "
                        + fine.name() + " (tiers are listed finest first)");
            }
            if (fine.retentionMillis() < 2 * coarse.sizeMillis()) {
                throw new IllegalArgumentException("tier " + fine.name() + " keeps "
                        + DurationText.format(fine.retention()) + ", less than two " + coarse.name()
                        + " buckets: the " + coarse.name() + " rollup would read expired buckets");
            }
        }
    }
}
