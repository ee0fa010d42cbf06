package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.engine.DurationText;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;

/**
 * Times in queries: RFC 3339 ({@code 2026-11-26T21:00:00Z}, {@code 2026-11-26T22:00:00+01:00}),
 * {@code now}, or {@code now-<duration>} ({@code now-15m}, {@code now-1h}, {@code now-7d}; units ms,
 * s, m, h, d, w). "now" is the injected clock's.
 */
public final class TimeExpression {

    private TimeExpression() {
    }

    /** How far ahead of now a query time may lie (clocks differ; nothing is stored beyond). */
    static final java.time.Duration MAX_AHEAD = java.time.Duration.ofDays(366);

    /**
     * Parses text (the value of parameter); a bad value, or a time before 1970 or more than a year
     * after now, is a 400 naming the parameter (such times are not representable as epoch
     * milliseconds everywhere, and no stored data lies there).
     */
    public static Instant parse(String parameter, String text, Instant now) {
        return bounded(parameter, text, parseUnchecked(parameter, text, now), now);
    }

    /** t (given as text) if it lies within the bounds {@link #parse} holds every time to; else a 400. */
    static Instant bounded(String parameter, String text, Instant t, Instant now) {
        if (t.isBefore(Instant.EPOCH) || t.isAfter(now.plus(MAX_AHEAD))) {
            throw ApiException.badParameter(parameter, "'" + text + "' is " + t + ": times must lie between "
                    + Instant.EPOCH + " and a year from now");
        }
        return t;
    }

    private static Instant parseUnchecked(String parameter, String text, Instant now) {
        if (text.length() > 64) {
            throw ApiException.badParameter(parameter, "is " + text.length() + " characters long; a time is at most 64");
        }
        String t = text.trim();
        if (t.equals("now")) {
            return now;
        }
        if (t.startsWith("now-")) {
            try {
                return now.minus(DurationText.parse(t.substring(4)));
            } catch (IllegalArgumentException | ArithmeticException | java.time.DateTimeException e) {
                throw ApiException.badParameter(parameter, "'" + text + "' is not a relative time: " + e.getMessage());
            }
        }
        try {
            return OffsetDateTime.parse(t).toInstant();
        } catch (DateTimeParseException | ArithmeticException e) {
            throw ApiException.badParameter(parameter, "'" + text + "' is neither RFC 3339 (e.g. 2026-11-26T21:00:00Z)"
                    + " nor relative (now, now-15m, now-1h, now-7d)");
        }
    }
}
