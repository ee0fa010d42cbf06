package dev.stackstream.command;

/**
 * A failure a command reports in words, with its row of the {@link ExitStatus} table: the message
 * is printed as {@code stackstream COMMAND: message}, without a stack trace.
 */
public final class CommandFailure extends RuntimeException implements ExitStatus.Classified {
    private final int exitStatus;

    /** @param exitStatus one of the {@link ExitStatus} statuses */
    public CommandFailure(int exitStatus, String message) {
        this(exitStatus, message, null);
    }

    public CommandFailure(int exitStatus, String message, Throwable cause) {
        super(message, cause);
        this.exitStatus = exitStatus;
    }

    @Override
    public int exitStatus() {
        return exitStatus;
    }
}
