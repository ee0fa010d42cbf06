package dev.stackstream.collector.publish;

/**
 * What a {@link WindowPublisher} did so far.
 *
 * @param publishedWindows windows acknowledged by the broker
 * @param droppedWindows windows dropped because the buffer was full (oldest first)
 * @param droppedBytes bytes of those windows
 * @param bufferedWindows windows waiting for the broker now
 * @param bufferedBytes bytes waiting now
 * @param bufferCapacity the buffer bound in bytes
 * @param sentDefinitions stack definitions acknowledged on the stacks topic
 * @param lastDeliveredSequence sequence of the last acknowledged window, -1 before the first
 * @param deliveredBytes record bytes (keys + values, before compression) acknowledged
 * @param lastError the last delivery failure, or null
 * @param undeliverableWindows windows given up because the broker can never take their batch
 *     (larger than the producer's or broker's record limit), each logged
 * @param undeliverableDefinitions stack definitions given up for the same reason (their samples
 *     still count; the stack renders as unknown)
 */
public record PublisherStats(long publishedWindows, long droppedWindows, long droppedBytes, int bufferedWindows,
                             long bufferedBytes, long bufferCapacity, long sentDefinitions,
                             long lastDeliveredSequence, long deliveredBytes, String lastError,
                             long undeliverableWindows, long undeliverableDefinitions) {
}
