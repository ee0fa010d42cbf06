package dev.stackstream.aggregator.engine;

import java.time.Duration;

/**
 * Bounds on what one window may put into the aggregator's state. A window over a bound is
 * dead-lettered with its reason (it is kept, to replay once the bound is raised), except the
 * bucket and series bounds, which fold (the smallest entries into {@code [other]}, the label sets
 * past the limit into one overflow series) so the totals stay exact.
 *
 * @param maxClockSkew how far past the aggregator's clock a window may start ({@code window-in-future});
 *     a window dated further ahead would move the stores' stream time and expire honest buckets
 * @param maxServiceBytes UTF-8 length of the service name ({@code limits})
 * @param maxLabels label pairs of one window ({@code limits})
 * @param maxLabelNameBytes UTF-8 length of a label name ({@code limits})
 * @param maxLabelValueBytes UTF-8 length of a label value ({@code limits})
 * @param maxEntriesPerBucket (stack, thread) entries one bucket keeps before folding; 20,000 entries
 *     encode to about 0.5 MB, below the broker's default 1 MiB record limit for the changelog. A
 *     bucket is also folded to a byte bound, its changelog's own limit ({@link RecordLimits})
 * @param maxSeriesPerService distinct series (label sets and profile types) one service keeps per
 *     samples partition; the windows of a new label set past it are counted in the service's
 *     overflow series, labelled {@value #OVERFLOW_LABEL}={@value #OVERFLOW_VALUE}: a collector
 *     that puts a request id in a label cannot grow the series store (and every query's scan of
 *     it) without bound, and the service's totals stay exact
 */
public record IngestLimits(Duration maxClockSkew, int maxServiceBytes, int maxLabels, int maxLabelNameBytes,
                           int maxLabelValueBytes, int maxEntriesPerBucket, int maxSeriesPerService) {

    /** Label of the series a service's windows past {@link #maxSeriesPerService} are counted in. */
    public static final String OVERFLOW_LABEL = "stackstream_overflow";
    public static final String OVERFLOW_VALUE = "series-limit";

    /** Default of {@link #maxClockSkew}, as the {@code aggregator} command's option writes it. */
    public static final String DEFAULT_MAX_CLOCK_SKEW = "10m";
    public static final int DEFAULT_MAX_SERVICE_BYTES = 256;
    public static final int DEFAULT_MAX_LABELS = 64;
    public static final int DEFAULT_MAX_LABEL_NAME_BYTES = 128;
    public static final int DEFAULT_MAX_LABEL_VALUE_BYTES = 1024;
    public static final int DEFAULT_MAX_ENTRIES_PER_BUCKET = 20_000;
    public static final int DEFAULT_MAX_SERIES_PER_SERVICE = 2_000;
    /**
     * Most entries a bucket may be allowed: about 1 MB encoded, the broker's default record limit,
     * so that a bucket's changelog record can always be written.
     */
    public static final int MAX_ENTRIES_PER_BUCKET_LIMIT = 40_000;
    /** Longest service name, label name or value and most labels allowed: 2-byte lengths in the collector index. */
    public static final int MAX_LABEL_LIMIT = 0xFFFF;

    /**
     * The defaults: 10 min skew, 256 B service, 64 labels of 128 B names and 1 KiB values, 20,000
     * entries per bucket, 2,000 series per service and partition.
     */
    public static final IngestLimits DEFAULTS = new IngestLimits(DurationText.parse(DEFAULT_MAX_CLOCK_SKEW),
            DEFAULT_MAX_SERVICE_BYTES, DEFAULT_MAX_LABELS, DEFAULT_MAX_LABEL_NAME_BYTES, DEFAULT_MAX_LABEL_VALUE_BYTES,
            DEFAULT_MAX_ENTRIES_PER_BUCKET, DEFAULT_MAX_SERIES_PER_SERVICE);

    /**
     * Every bound is checked here, once for the API and the command: a message names the bound by
     * the {@code aggregator} command's option that sets it, so a bad option value reads as such.
     */
    public IngestLimits {
        if (maxClockSkew.isNegative() || maxClockSkew.isZero()) {
            throw new IllegalArgumentException("--max-clock-skew must be positive, got " + maxClockSkew);
        }
        inRange("--max-service-bytes", maxServiceBytes, 1, MAX_LABEL_LIMIT);
        inRange("--max-labels", maxLabels, 1, MAX_LABEL_LIMIT);
        inRange("--max-label-name-bytes", maxLabelNameBytes, 1, MAX_LABEL_LIMIT);
        inRange("--max-label-value-bytes", maxLabelValueBytes, 1, MAX_LABEL_LIMIT);
        // One entry kept beside [other] at least.
        inRange("--max-stacks-per-bucket", maxEntriesPerBucket, 2, MAX_ENTRIES_PER_BUCKET_LIMIT);
        inRange("--max-series-per-service", maxSeriesPerService, 1, Integer.MAX_VALUE);
    }

    private static void inRange(String what, int value, int min, int max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(what + " must be " + (max == Integer.MAX_VALUE ? "at least " + min
                    : "between " + min + " and " + max) + ", got " + value);
        }
    }
}
