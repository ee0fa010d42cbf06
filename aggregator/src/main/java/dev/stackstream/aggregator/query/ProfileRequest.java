package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.engine.Tier;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;

/**
 * The common parameters of profile, summary, diff and timeline queries, parsed and checked:
 * {@code service} (required), {@code type} (default cpu), {@code from} (default now-1h),
 * {@code to} (default now), {@code labels} (default: all).
 *
 * @param service service name
 * @param type profile type name
 * @param selector label matchers
 * @param from start (inclusive)
 * @param to end (exclusive)
 */
public record ProfileRequest(String service, String type, LabelSelector selector, Instant from, Instant to) {

    /** Parses the request's parameters; names prefixed with prefix (e.g. {@code baseline_}) override. */
    public static ProfileRequest parse(Function<String, String> params, Instant now) {
        String service = params.apply("service");
        if (service == null || service.isBlank()) {
            throw ApiException.badParameter("service", "is required (a service name, see /api/v1/services)");
        }
        String type = params.apply("type");
        if (type != null && type.isBlank()) {
            throw ApiException.badParameter("type", "is empty (e.g. cpu; see /api/v1/profile-types)");
        }
        Instant from = TimeExpression.parse("from", orDefault(params.apply("from"), "now-1h"), now);
        Instant to = TimeExpression.parse("to", orDefault(params.apply("to"), "now"), now);
        if (!from.isBefore(to)) {
            throw ApiException.badParameter("from", "must be before 'to' (from=" + from + ", to=" + to + ")");
        }
        LabelSelector selector = LabelSelector.parse("labels", params.apply("labels"));
        return new ProfileRequest(service.trim(), type == null ? "cpu" : type.trim(), selector, from, to);
    }

    static String orDefault(String v, String d) {
        return v == null || v.isBlank() ? d : v;
    }

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
