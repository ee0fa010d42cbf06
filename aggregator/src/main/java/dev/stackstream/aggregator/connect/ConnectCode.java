package dev.stackstream.aggregator.connect;

/**
 * The Connect protocol's error codes this server answers with, each with the HTTP status the
 * protocol maps it to (a Connect client reads the code from the JSON body, an HTTP client from the
 * status).
 */
public enum ConnectCode {
    INVALID_ARGUMENT(400),
    UNAUTHENTICATED(401),
    NOT_FOUND(404),
    RESOURCE_EXHAUSTED(429),
    DEADLINE_EXCEEDED(504),
    INTERNAL(500),
    UNIMPLEMENTED(501),
    UNAVAILABLE(503);

    private final int httpStatus;

    ConnectCode(int httpStatus) {
        this.httpStatus = httpStatus;
    }

    /** The code as the protocol writes it: {@code invalid_argument}. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public int httpStatus() {
        return httpStatus;
    }
}
