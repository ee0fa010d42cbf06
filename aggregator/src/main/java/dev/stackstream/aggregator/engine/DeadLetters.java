package dev.stackstream.aggregator.engine;

/** Header names of dead-letter records (the record keeps its original key, value and headers). */
public final class DeadLetters {
    /** Reason code and description, e.g. {@code truncated: record ends early (12 bytes)}. */
    public static final String ERROR_HEADER = "stackstream.error";
    /** Reason code alone: foreign-bytes, unknown-schema, truncated, invalid. */
    public static final String REASON_HEADER = "stackstream.error.reason";
    /** Where the record came from: {@code topic-partition@offset}. */
    public static final String SOURCE_HEADER = "stackstream.source";

    private DeadLetters() {
    }
}
