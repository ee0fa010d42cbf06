package dev.stackstream.aggregator.query;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/**
 * A resolved count query, the same on every instance: absolute times (so instances agree on "now"),
 * [fromMillis, toMillis) widened to whole finest-tier buckets.
 *
 * @param service service name
 * @param type profile type name, or null for every type of the service
 * @param selector label matchers
 * @param fromMillis start, inclusive
 * @param toMillis end, exclusive
 * @param stepMillis timeline step, 0 for no timeline
 * @param maxTier coarsest tier the plan may read (a timeline uses buckets no wider than its step)
 */
public record QuerySpec(String service, String type, LabelSelector selector, long fromMillis, long toMillis,
                        long stepMillis, int maxTier) {

    /** Query-string form for the internal fan-out endpoint. */
    public String toQueryString() {
        StringBuilder sb = new StringBuilder();
        sb.append("service=").append(enc(service));
        if (type != null) {
            sb.append("&type=").append(enc(type));
        }
        sb.append("&labels=").append(enc(selector.text()));
        sb.append("&from_ms=").append(fromMillis).append("&to_ms=").append(toMillis);
        sb.append("&step_ms=").append(stepMillis).append("&max_tier=").append(maxTier);
        return sb.toString();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}
