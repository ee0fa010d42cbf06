package dev.stackstream.aggregator.engine;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people write them in flags and queries: {@code 500ms}, {@code 10s}, {@code 15m},
 * {@code 1h}, {@code 7d}, {@code 2w}. One integer and one unit; no fractions, no signs.
 */
public final class DurationText {
    private static final Pattern FORM = Pattern.compile("(\\d{1,12})(ms|s|m|h|d|w)");

    private DurationText() {
    }

    /** Parses text; throws IllegalArgumentException naming the accepted forms. */
    public static Duration parse(String text) {
        Matcher m = text == null ? null : FORM.matcher(text.trim());
        if (m == null || !m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration (expected a whole number"
                    + " followed by ms, s, m, h, d or w, e.g. 10s, 15m, 7d)");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            case "w" -> Duration.ofDays(7 * n);
            default -> throw new AssertionError(m.group(2));
        };
    }

    /** The shortest exact form: 3600000 ms gives {@code 1h}. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        long[] units = {7L * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1};
        String[] names = {"w", "d", "h", "m", "s", "ms"};
        for (int i = 0; i < units.length; i++) {
            if (ms != 0 && ms % units[i] == 0) {
                return (ms / units[i]) + names[i];
            }
        }
        return ms + "ms";
    }
}
