package dev.stackstream.aggregator.query;

/**
 * A query that cannot be answered, with the HTTP status that says why: 400 for a bad parameter
 * (named in {@link #parameter()}), 404 for something that does not exist, 422 for an answer past
 * the response limit, 503 while the data is not queryable (startup, rebalance, restore: the HTTP
 * layer adds {@code Retry-After}), 504 for a query past its deadline.
 */
public final class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String parameter;

    private ApiException(int status, String parameter, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.parameter = parameter;
    }

    /** 400: parameter has a bad value; the message says what is wrong and what is expected. */
    public static ApiException badParameter(String parameter, String message) {
        return new ApiException(400, parameter, "parameter '" + parameter + "': " + message, null);
    }

    /** 404: e.g. an unknown service. */
    public static ApiException notFound(String message) {
        return new ApiException(404, null, message, null);
    }

    /** 503: state not queryable right now; retry. */
    public static ApiException unavailable(String message, Throwable cause) {
        return new ApiException(503, null, message, cause);
    }

    /** 422: the answer would exceed the response-size limit the message names. */
    public static ApiException tooLarge(String message) {
        return new ApiException(422, null, message, null);
    }

    /** 504: the query ran past its deadline (retrying the same query would fail the same way). */
    public static ApiException deadlineExceeded(String message) {
        return new ApiException(504, null, message, null);
    }

    public int status() {
        return status;
    }

    /** The offending query parameter for 400s, else null. */
    public String parameter() {
        return parameter;
    }
}
