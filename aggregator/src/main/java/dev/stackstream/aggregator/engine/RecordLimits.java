package dev.stackstream.aggregator.engine;

import java.util.Map;

/**
 * The largest records the topics the aggregator writes will take, read from the broker at start
 * ({@code dev.stackstream.aggregator.TopicLimits}): the dead-letter topic's, and each tier's
 * changelog's. Dead letters are cut and buckets folded to fit them, so that a record Kafka refuses
 * (an aborted transaction, and for a changelog a stopped client) is not what a topic configured
 * below the broker's default gets for every large record.
 *
 * <p>Handed to {@link IngestProcessor} and {@link IngestErrorHandler} through the Streams property
 * {@link #CONFIG}; without it (a test driver) {@link #DEFAULTS} apply.
 */
public final class RecordLimits {
    /** Streams property holding the aggregator's instance. */
    public static final String CONFIG = "stackstream.record.limits";
    /** The broker's default {@code message.max.bytes} (1 MiB + 12), what a topic without an override takes. */
    public static final int BROKER_DEFAULT_BYTES = 1_048_588;
    /**
     * What a changelog record needs beside its bucket: the batch header (61 bytes), the record's own
     * varints (under 40), the window store key (series id, time, sequence: 28 bytes), and room for
     * any headers Kafka Streams adds.
     */
    static final int CHANGELOG_OVERHEAD = 256;
    /** Below this no bucket can be written at all (the statistics and [other] alone take ~200 bytes). */
    static final int MIN_BUCKET_BYTES = 512;
    /** The limits when none could be read: the broker's default for every topic. */
    public static final RecordLimits DEFAULTS = new RecordLimits(BROKER_DEFAULT_BYTES, Map.of(), BROKER_DEFAULT_BYTES);

    private final int deadLetterBytes;
    private final Map<String, Integer> bucketBytes;
    private final int defaultBucketBytes;

    /**
     * @param deadLetterBytes largest record the dead-letter topic takes (its effective
     *     {@code max.message.bytes}, at most the producer's {@code max.request.size})
     * @param changelogBytes per tier store name ({@link StoreNames#tier}), the largest record its
     *     changelog takes; stores not named get {@code otherChangelogBytes}
     */
    public RecordLimits(int deadLetterBytes, Map<String, Integer> changelogBytes, int otherChangelogBytes) {
        if (deadLetterBytes <= 0 || otherChangelogBytes <= 0) {
            throw new IllegalArgumentException("record limits must be positive");
        }
        this.deadLetterBytes = deadLetterBytes;
        this.bucketBytes = Map.copyOf(changelogBytes.entrySet().stream().collect(java.util.stream.Collectors.toMap(
                Map.Entry::getKey, e -> bucketBytesFor(e.getValue()))));
        this.defaultBucketBytes = bucketBytesFor(otherChangelogBytes);
    }

    /** The instance in the Streams properties, or {@link #DEFAULTS}. */
    static RecordLimits from(Map<String, ?> configs) {
        return configs.get(CONFIG) instanceof RecordLimits r ? r : DEFAULTS;
    }

    /** Largest dead-letter record (key, value, headers and overhead) the dead-letter topic takes. */
    public int deadLetterBytes() {
        return deadLetterBytes;
    }

    /** Largest value (the largest whole original) a dead letter can have with no key and no headers. */
    public int deadLetterWholeValueBytes() {
        return DeadLetters.wholeValueCap(deadLetterBytes);
    }

    /** Largest encoded bucket of the tier whose store is {@code storeName}: its changelog's limit less overhead. */
    public int bucketBytes(String storeName) {
        return bucketBytes.getOrDefault(storeName, defaultBucketBytes);
    }

    private static int bucketBytesFor(int changelogBytes) {
        // A changelog below the floor refuses every bucket anyway; the floor keeps folding meaningful
        // and leaves that refusal to ProductionErrorHandler (FAIL), as before.
        return Math.max(MIN_BUCKET_BYTES, changelogBytes - CHANGELOG_OVERHEAD);
    }

    @Override
    public String toString() {
        return "dead letters <= " + deadLetterBytes + " bytes (whole values <= " + deadLetterWholeValueBytes()
                + "), buckets <= " + bucketBytes + " bytes (other stores " + defaultBucketBytes + ")";
    }
}
