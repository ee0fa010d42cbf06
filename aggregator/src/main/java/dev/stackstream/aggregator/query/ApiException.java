package dev.stackstream.aggregator.query;

/**
 * A query that cannot be answered, with the HTTP status that says why: 400 for a bad parameter
 * (named in {@link #parameter()}), 404 for something that does not exist, 503 while the data is
 * not queryable (startup, rebalance).
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

    public int status() {
        return status;
    }

    /** The offending query parameter for 400s, else null. */
    public String parameter() {
        return parameter;
    }
}
