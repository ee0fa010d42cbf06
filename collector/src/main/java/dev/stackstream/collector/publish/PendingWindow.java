package dev.stackstream.collector.publish;

import java.time.Instant;
import java.util.Map;

import dev.stackstream.profile.StackId;
import dev.stackstream.wire.WireIndexer;

/**
 * One encoded window waiting for the broker: its sample batch and the definitions of the stacks it
 * used that were not known to be on the stacks topic when it was published.
 *
 * @param sequence window number within the collector run
 * @param key record key of the batch (collector id, UTF-8)
 * @param batch encoded SampleBatch
 * @param definitions encoded StackDefinitions by stack id, in first-use order
 * @param publishedAt when publish() accepted it (publisher clock), for latency
 * @param collectorId the collector run the window belongs to
 * @param bindings the v2 index bindings the batch carries (acknowledged with the window)
 */
record PendingWindow(long sequence, byte[] key, byte[] batch, Map<StackId, byte[]> definitions,
                     Instant publishedAt, String collectorId, WireIndexer.Carried bindings) {

    /** Bytes this window holds: what the buffer bound counts. */
    long bytes() {
        long n = key.length + batch.length + bindings.bytes();
        for (byte[] d : definitions.values()) {
            n += 16 + d.length;
        }
        return n;
    }
}
