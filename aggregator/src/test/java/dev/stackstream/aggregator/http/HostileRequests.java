package dev.stackstream.aggregator.http;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Deterministic hostile query strings for the API fuzzer: every parameter at and past its limits,
 * times beyond the epoch-millisecond range, huge steps and tiers, odd encodings, and regexes that
 * backtrack exponentially in a backtracking engine.
 */
public final class HostileRequests {
    private static final String[] PATHS = {"/api/v1/profile", "/api/v1/summary", "/api/v1/timeline", "/api/v1/diff",
        "/api/v1/labels", "/api/v1/labels/pod/values", "/api/v1/profile-types", "/api/v1/internal/partial"};
    private static final String[] PARAMS = {"service", "type", "from", "to", "labels", "step", "format", "max_nodes",
        "baseline_from", "baseline_to", "baseline_labels", "normalize", "from_ms", "to_ms", "step_ms", "max_tier"};
    private static final String[] VALUES = {
        "", " ", "checkout", "now", "now-1h", "now-110000000000d", "now-99999999999d", "now-999999999999w",
        "now+1h", "now--1h", "-1", "0", "1", "-9223372036854775808", "9223372036854775807", "9223372036854775808",
        "999999999999w", "1ms", "10s", "0s", "1e9", "NaN", "+292278994-08-17T07:12:55.807Z",
        "-292275055-05-16T16:47:04.192Z", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59Z", "2026-13-45T99:99:99Z",
        "{pod=~\"(a+)+$\"}", "{pod=~\"(a|aa)*b\"}", "{pod=~\"" + "a".repeat(5000) + "\"}",
        "{thread=~\"((((((((((x*)*)*)*)*)*)*)*)*)*)y\"}", "{pod=~\"[\"}", "{pod=\"unterminated}", "{", "}",
        "{pod!~\"\\\\\"}", "{=\"x\"}", "{pod=\"a\",,}", "svg", "html", "json", "pprof", "speedscope", "collapsed",
        "bogus", "true", "false", "yes", "%00", "\u0000", "\uFFFF", "\uD800", "\u00FF", "a\r\nb", "../../etc/passwd",
        "<script>alert(1)</script>", "x".repeat(70_000)};

    private HostileRequests() {
    }

    /** count path-and-query strings (URL-encoded), the same for the same seed. */
    public static List<String> generate(int count, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            StringBuilder q = new StringBuilder(PATHS[r.nextInt(PATHS.length)]).append('?');
            int n = 1 + r.nextInt(5);
            for (int k = 0; k < n; k++) {
                if (k > 0) {
                    q.append('&');
                }
                String name = PARAMS[r.nextInt(PARAMS.length)];
                String value = r.nextInt(4) == 0 ? "checkout" : VALUES[r.nextInt(VALUES.length)];
                q.append(name).append('=').append(URLEncoder.encode(value, StandardCharsets.UTF_8));
            }
            if (r.nextInt(3) == 0) {
                q.append("&service=checkout");
            }
            out.add(q.toString());
        }
        return out;
    }
}
