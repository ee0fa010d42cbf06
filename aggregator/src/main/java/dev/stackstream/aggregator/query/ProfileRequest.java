package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.engine.Tier;
import java.time.Instant;
import java.util.List;

/**
 * What a profile, summary, diff, timeline or Grafana query asks for, parsed and checked by
 * {@link QueryParameters}.
 *
 * @param service service name
 * @param type profile type name
 * @param selector label matchers
 * @param from start (inclusive)
 * @param to end (exclusive)
 */
public record ProfileRequest(String service, String type, LabelSelector selector, Instant from, Instant to) {

    /** The same request over another range and/or label set. */
    public ProfileRequest with(Instant newFrom, Instant newTo, LabelSelector newSelector) {
        return new ProfileRequest(service, type, newSelector, newFrom, newTo);
    }

    /**
     * The count query: range widened to whole finest-tier buckets, and its start clamped to what the
     * coarsest tier can hold before its end (older buckets are gone), so the bucket walk is bounded
     * by retention whatever range is asked for.
     */
    public QuerySpec spec(List<Tier> tiers, long stepMillis, int maxTier) {
        long fine = tiers.get(0).sizeMillis();
        Tier coarsest = tiers.get(tiers.size() - 1);
        long toMs = Math.floorDiv(to.toEpochMilli() + fine - 1, fine) * fine;
        long earliest = toMs - coarsest.retentionMillis() - coarsest.sizeMillis();
        long fromMs = Math.floorDiv(Math.max(from.toEpochMilli(), earliest), fine) * fine;
        return new QuerySpec(service, type, selector, fromMs, toMs, stepMillis, maxTier);
    }
}
