package dev.stackstream.aggregator.connect;

import dev.stackstream.aggregator.query.ApiException;

/** A Connect call that fails with a code and a message for the caller. */
public final class ConnectException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ConnectCode code;

    public ConnectException(ConnectCode code, String message) {
        super(message);
        this.code = code;
    }

    public ConnectCode code() {
        return code;
    }

    /**
     * The query layer's errors in Connect terms: 400 invalid_argument, 404 not_found, 422 (answer over
     * the response limit) resource_exhausted, 503 unavailable, 504 (past the deadline) deadline_exceeded.
     */
    static ConnectException of(ApiException e) {
        ConnectCode code = switch (e.status()) {
            case 400 -> ConnectCode.INVALID_ARGUMENT;
            case 404 -> ConnectCode.NOT_FOUND;
            case 422 -> ConnectCode.RESOURCE_EXHAUSTED;
            case 504 -> ConnectCode.DEADLINE_EXCEEDED;
            case 503 -> ConnectCode.UNAVAILABLE;
            default -> ConnectCode.INTERNAL;
        };
        return new ConnectException(code, e.getMessage());
    }
}
