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
 *     encode to about 0.5 MB, below the broker's default 1 MiB record limit for the changelog
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

    /**
     * The defaults: 10 min skew, 256 B service, 64 labels of 128 B names and 1 KiB values, 20,000
     * entries per bucket, 2,000 series per service and partition.
     */
    public static final IngestLimits DEFAULTS = new IngestLimits(Duration.ofMinutes(10), 256, 64, 128, 1024, 20_000,
            2_000);

    public IngestLimits {
        if (maxClockSkew.isNegative()) {
            throw new IllegalArgumentException("maxClockSkew must not be negative: " + maxClockSkew);
        }
        if (maxServiceBytes < 1 || maxLabels < 0 || maxLabelNameBytes < 1 || maxLabelValueBytes < 0) {
            throw new IllegalArgumentException("label limits must be positive");
        }
        // The collector-index store writes these with 2-byte lengths and counts.
        if (maxServiceBytes > 0xFFFF || maxLabels > 0xFFFF || maxLabelNameBytes > 0xFFFF
                || maxLabelValueBytes > 0xFFFF) {
            throw new IllegalArgumentException("label limits must be at most 65535");
        }
        if (maxSeriesPerService < 1) {
            throw new IllegalArgumentException("maxSeriesPerService must be at least 1, got " + maxSeriesPerService);
        }
        if (maxEntriesPerBucket < 2) {
            throw new IllegalArgumentException("maxEntriesPerBucket must be at least 2, got " + maxEntriesPerBucket);
        }
    }
}
