package dev.stackstream.broker;

/** The broker could not be started; the message names the mode and the cause. */
public final class BrokerStartException extends Exception {
    private static final long serialVersionUID = 1L;

    public BrokerStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
