package dev.stackstream.broker;

import java.util.LinkedHashMap;
import java.util.Map;

/** Broker settings every single-node stackstream broker needs, whatever runs it. */
final class BrokerDefaults {

    private BrokerDefaults() {
    }

    /**
     * Single-node settings. The replication factors and min ISR of the internal topics default to 3
     * and 2; with one broker, exactly_once_v2 (the aggregator's Kafka Streams) waits forever for a
     * transaction coordinator that can never get enough replicas, without an error. The partition
     * counts of the internal topics are lowered from 50 so the first group or transaction does not
     * spend seconds creating 50 partitions. The log cleaner's dedupe buffer defaults to 128 MiB,
     * more than a small broker heap can give.
     */
    static Map<String, String> singleNode() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "4");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "4");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("log.cleaner.dedupe.buffer.size", Long.toString(2L * 1024 * 1024));
        // Compaction of the stacks topic should be observable in minutes, not a week.
        p.put("log.cleaner.backoff.ms", "5000");
        // A restarted broker registers again only after the controller expired the old session;
        // 9 s by default, which every outage test would wait for.
        p.put("broker.session.timeout.ms", "3000");
        p.put("broker.heartbeat.interval.ms", "500");
        return p;
    }
}
