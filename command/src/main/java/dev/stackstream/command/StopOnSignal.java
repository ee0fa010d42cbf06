package dev.stackstream.command;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C / SIGTERM for a command that stops in order: the JVM's shutdown hook asks the command to
 * stop ({@code onSignal}: stop sampling, end the wait), then holds the JVM's exit until the
 * command's own thread has finished its orderly stop (flushed its last window, written its files)
 * and closed this, or {@code maxWait} passed. Without a signal, {@link #close()} just removes the
 * hook.
 *
 * <pre>{@code
 * try (StopOnSignal signal = StopOnSignal.install("stackstream-collector-stop", collector::stop, wait)) {
 *     collector.awaitTermination();
 * }
 * }</pre>
 */
public final class StopOnSignal implements AutoCloseable {
    private final CountDownLatch finished = new CountDownLatch(1);
    private final Thread hook;

    private StopOnSignal(String name, Runnable onSignal, Duration maxWait) {
        this.hook = new Thread(() -> {
            onSignal.run();
            try {
                finished.await(maxWait.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, name);
    }

    /** Registers the shutdown hook; close the result when the command is done. */
    public static StopOnSignal install(String threadName, Runnable onSignal, Duration maxWait) {
        StopOnSignal s = new StopOnSignal(threadName, onSignal, maxWait);
        Runtime.getRuntime().addShutdownHook(s.hook);
        return s;
    }

    /** The command is done: a waiting hook returns (and the JVM exits); else the hook is removed. */
    @Override
    public void close() {
        finished.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // A signal arrived: the hook is running and returns now that finished is counted down.
        }
    }
}
