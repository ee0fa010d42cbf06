package dev.stackstream.aggregator.engine;

/**
 * A record the aggregator cannot use. {@link #reason()} is a short machine-readable code (the
 * {@code stackstream.error} header's prefix and the DLQ metric's tag); the message says what is
 * wrong in words.
 */
public final class UndecodableRecordException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String reason;

    public UndecodableRecordException(String reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /**
     * {@code foreign-bytes}, {@code unknown-schema}, {@code truncated} (or corrupt body), {@code invalid}, or
     * {@code context-unknown} (a window that leaves out service and labels its collector never sent).
     */
    public String reason() {
        return reason;
    }
}
