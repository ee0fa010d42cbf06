package dev.stackstream.collector.publish;

import java.time.Duration;

/**
 * Events of a {@link WindowPublisher}, for metrics. Called on the publisher's threads; keep it
 * cheap and never throw.
 */
public interface PublishListener {

    /** Does nothing. */
    PublishListener NONE = new PublishListener() { };

    /** A window (its batch and new definitions) was acknowledged; latency counts from publish(). */
    default void windowPublished(long sequence, long bytes, Duration latency) {
    }

    /** The buffer was full: its oldest windows were dropped. */
    default void windowsDropped(int windows, long bytes) {
    }

    /**
     * A window or stack definition the broker can never take (larger than a record may be) was
     * given up; {@code what} is {@code window} or {@code definition}.
     */
    default void undeliverable(String what, long bytes) {
    }

    /** A delivery attempt failed (the window stays buffered and is retried). */
    default void deliveryFailed(Exception cause) {
    }
}
