package dev.stackstream.aggregator.http;

import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Deterministic hostile request targets for the API fuzzer: every parameter at and past its limits,
 * times beyond the epoch-millisecond range, huge steps, tiers and widths, odd encodings, and regexes
 * that backtrack exponentially in a backtracking engine. {@link #generate} gives URL-encoded query
 * strings; {@link #raw} gives request targets byte for byte as no well-behaved client would send
 * them: malformed, overlong and invalid UTF-8 percent-escapes, raw bytes above 0x7F, double encoding,
 * duplicated and nameless parameters, request lines far past the server's header limit.
 */
public final class HostileRequests {
    private static final String[] PATHS = {"/api/v1/profile", "/api/v1/summary", "/api/v1/timeline", "/api/v1/diff",
        "/api/v1/labels", "/api/v1/labels/pod/values", "/api/v1/profile-types", "/api/v1/internal/partial",
        "/api/v1/services", "/", "/healthz"};
    private static final String[] PARAMS = {"service", "type", "from", "to", "labels", "step", "format", "max_nodes",
        "baseline_from", "baseline_to", "baseline_labels", "normalize", "from_ms", "to_ms", "step_ms", "max_tier",
        "timeout", "partitions", "threads", "inverted", "palette", "width"};
    /** A selector of exactly n characters: a regex matcher on pod padded with 'a'. */
    private static String selectorOf(int n) {
        String head = "{pod=~\"";
        return head + "a".repeat(n - head.length() - 2) + "\"}";
    }
    /** Numbers, times, steps and lists at, just past and far past the limits each parameter has. */
    private static final String[] AT_LIMITS = {
        "", " ", "now", "now-1h", "now-110000000000d", "now-99999999999d", "now-999999999999w",
        "now+1h", "now--1h", "-1", "0", "1", "-9223372036854775808", "9223372036854775807", "9223372036854775808",
        "2147483647", "2147483648", "-2147483649", "99", "100", "1500", "1501",
        "999999999999w", "1ms", "10s", "0s", "-1s", "3600000h", "1e9", "NaN", "Infinity", "0x10",
        "+292278994-08-17T07:12:55.807Z", "-292275055-05-16T16:47:04.192Z", "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2026-13-45T99:99:99Z", "now+366d", "now+367d",
        // Times at and one past the 64-character limit.
        "now-" + "0".repeat(58) + "1h", "now-" + "0".repeat(59) + "1h",
        // Selectors at and one past the 4,096-character limit.
        selectorOf(4096), selectorOf(4097), "0,1,2", "-1,99999", "1,".repeat(3000)};
    /**
     * Selectors whose regexes take exponential time in a backtracking engine on a value such as
     * "aaaa...a!" (the test's data has one), or that are huge, deeply nested or invalid.
     */
    private static final String[] BACKTRACKING = {
        // JDK 17's backtracking engine takes more than 15 s for each of the first two on the bait
        // (measured); it has shortcuts for the classic (a+)+$ forms, RE2's linear engine needs none.
        "{pod=~\"(.*a){20}\"}", "{pod=~\"(.*a){12}\"}", "{pod=~\"(a+)+$\"}", "{pod=~\"(a|aa)*b\"}", "{pod=~\"(a|a?)+b\"}",
        "{pod=~\"(a+)+b\"}", "{pod!~\"(a*)*b\"}", "{pod=~\"(" + "a?".repeat(40) + ")" + "a".repeat(40) + "\"}",
        "{thread=~\"((((((((((x*)*)*)*)*)*)*)*)*)*)y\"}", "{thread=~\"(\\\\w+\\\\s?)+$\"}",
        "{pod=~\"(?:a|b|ab)*c\"}", "{pod=~\"(a*)*\\\\1\"}", "{pod=~\"(?=a)a\"}",
        // Deep nesting and many groups, short enough encoded (%28 per parenthesis) to pass the
        // server's 8 KiB request-line limit and reach the selector parser.
        "{pod=~\"" + "(".repeat(2000) + "\"}", "{pod=~\"" + "(".repeat(1000) + "a" + ")".repeat(1000) + "\"}",
        "{pod=~\"" + "(a)".repeat(700) + "\"}",
        "{pod=~\"" + "a".repeat(4000) + "\"}", "{pod=~\"[\"}", "{pod=\"unterminated}", "{", "}",
        "{pod!~\"\\\\\"}", "{=\"x\"}", "{pod=\"a\",,}", "{pod=\"a\"," + "x=\"1\",".repeat(600) + "}"};
    private static final String[] ODD = {
        "checkout", "svg", "html", "json", "pprof", "speedscope", "collapsed", "bogus", "true", "false", "yes",
        "%00", "\u0000", "\uFFFF", "\uD800", "\uDC00\uD800", "\u00FF", "\u202Eevil", "a\r\nb", "../../etc/passwd",
        "<script>alert(1)</script>", "x".repeat(70_000)};
    private static final String[] VALUES = java.util.stream.Stream.of(AT_LIMITS, BACKTRACKING, ODD)
            .flatMap(java.util.Arrays::stream).toArray(String[]::new);
    /** The routes that evaluate a label selector. */
    private static final String[] SELECTING = {"/api/v1/profile", "/api/v1/summary", "/api/v1/timeline",
        "/api/v1/diff", "/api/v1/labels", "/api/v1/labels/pod/values"};

    /** Query values as sent, percent-escapes and all: malformed, overlong and invalid UTF-8. */
    private static final String[] RAW_VALUES = {
        "%", "%2", "%zz", "%%", "%%%", "%C0%AF", "%C0%80", "%E0%80%AF", "%F0%80%80%AF", "%ED%A0%80", "%ED%BF%BF",
        "%F4%90%80%80", "%FF", "%FE%FF", "%C3", "%C3%28", "%E2%82", "%2525", "%252e%252e%252f", "%00", "a+b+c",
        "%u0041", "&", "=", "==", "%0d%0aX-Injected:%20yes", "%7Bpod%3D~%22%C0%AF%22%7D",
        "%7Bpod%3D~%22(a%2B)%2B%24%22%7D", "%7Bpod%3D%22%ED%A0%80%22%7D", "now-1h%00", "2026-01-01T00:00:00Z%FF"};
    /** Bytes no client encodes: raw high bytes and invalid UTF-8 sequences straight in the request line. */
    private static final byte[][] RAW_BYTES = {{(byte) 0xFF}, {(byte) 0xC0, (byte) 0xAF}, {(byte) 0x80},
        {(byte) 0xC3, (byte) 0xA9}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xF8, (byte) 0x88, (byte) 0x80},
        {0x09}, {0x7F}};

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

    /**
     * Every parameter at and past its limits, each on a different route in turn, and every
     * backtracking selector as labels and as baseline_labels on every route that evaluates one:
     * URL-encoded path-and-query strings, always with service=checkout so the value is what is wrong.
     */
    public static List<String> systematic() {
        List<String> out = new ArrayList<>();
        int i = 0;
        for (String p : PARAMS) {
            for (String v : AT_LIMITS) {
                out.add(PATHS[i++ % PATHS.length] + "?service=checkout&" + p + "=" + URLEncoder.encode(v,
                        StandardCharsets.UTF_8));
            }
        }
        for (String sel : BACKTRACKING) {
            for (String path : SELECTING) {
                String e = URLEncoder.encode(sel, StandardCharsets.UTF_8);
                out.add(path + "?service=checkout&from=now-2d&labels=" + e);
                out.add(path + "?service=checkout&from=now-2d&baseline_from=now-3d&baseline_to=now-1d"
                        + "&baseline_labels=" + e);
            }
        }
        return out;
    }

    /**
     * Request targets as raw bytes: each raw value under each parameter (with a service, so the
     * value is what is wrong), in a label-name path segment, and as a parameter name; raw bytes in
     * query and path; duplicated and nameless parameters; percent-encoded parameter names; and request
     * lines of 9 KB, 64 KB and 1 MB.
     */
    public static List<byte[]> raw() {
        List<byte[]> out = new ArrayList<>();
        for (String v : RAW_VALUES) {
            for (String p : PARAMS) {
                out.add(ascii("/api/v1/profile?service=checkout&" + p + "=" + v));
            }
            out.add(ascii("/api/v1/labels/" + v + "/values?service=checkout"));
            out.add(ascii("/api/v1/summary?" + v + "=1&service=checkout"));
            out.add(ascii("/api/v1/" + v));
        }
        for (byte[] b : RAW_BYTES) {
            for (String p : new String[] {"service", "labels", "from", "format", "partitions"}) {
                out.add(concat(ascii("/api/v1/profile?service=checkout&" + p + "="), b));
            }
            out.add(concat(concat(ascii("/api/v1/labels/"), b), ascii("/values?service=checkout")));
        }
        out.add(ascii("/api/v1/profile?service=checkout&service=other&from=now-1h&from=now-2h&format=json&format=svg"));
        out.add(ascii("/api/v1/profile?&&&=&==&service&from&labels=&service=checkout"));
        out.add(ascii("/api/v1/profile?%73ervice=checkout&%66ormat=collapsed"));
        out.add(ascii("/api/v1/profile?servic%C0%65=checkout"));
        out.add(ascii("/api/v1/%70rofile?service=checkout"));
        out.add(ascii("/api/v1/profile/..%2f..%2fhealthz?service=checkout"));
        out.add(ascii("//api//v1//profile?service=checkout"));
        for (int size : new int[] {9 * 1024, 64 * 1024, 1 << 20}) {
            out.add(ascii("/api/v1/profile?service=checkout&labels=" + "a".repeat(size)));
        }
        return out;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        ByteArrayOutputStream o = new ByteArrayOutputStream(a.length + b.length);
        o.writeBytes(a);
        o.writeBytes(b);
        return o.toByteArray();
    }
}
