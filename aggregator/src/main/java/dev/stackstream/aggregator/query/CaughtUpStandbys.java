package dev.stackstream.aggregator.query;

import dev.stackstream.aggregator.engine.StoreNames;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.LagInfo;
import org.apache.kafka.streams.TaskMetadata;
import org.apache.kafka.streams.ThreadMetadata;

/**
 * Which standby replicas held here may answer for a partition whose owner is gone: those that have
 * applied every <em>committed</em> record of each of their task's changelogs, i.e. hold exactly what
 * the lost owner's last committed transaction left (what a new owner would restore).
 *
 * <p>Why not Kafka Streams' lag alone: it is measured to the log end offset, and under exactly-once
 * every transaction ends with a commit marker in each changelog it wrote, which is an offset but no
 * record, so a standby that applied everything still shows a lag of at least 1 (and more while the
 * owner's transaction is open, whose records are not committed and must not be read anyway). So a
 * store with lag is checked against its changelog's read-committed end offset (the last stable
 * offset: everything before it is decided): the standby is caught up when its position is at least
 * that offset minus one. The one offset is the commit marker that ends the last decided
 * transaction; this holds because the aggregator writes its changelogs only in transactions
 * (exactly_once_v2), so the offset before the stable end is always a marker. A standby behind an
 * aborted transaction's records shows a larger gap and is refused: safe, a 503 rather than a guess.
 */
public final class CaughtUpStandbys {
    private static final Duration LIST_OFFSETS_TIMEOUT = Duration.ofSeconds(5);
    private final KafkaStreams streams;
    private final String samplesTopic;
    private final String applicationId;
    private final Admin admin;

    /**
     * @param applicationId the Streams application id (changelogs are named APPLICATION-STORE-changelog)
     * @param admin reads the changelogs' read-committed end offsets; the caller closes it
     */
    public CaughtUpStandbys(KafkaStreams streams, String samplesTopic, String applicationId, Admin admin) {
        this.streams = streams;
        this.samplesTopic = samplesTopic;
        this.applicationId = applicationId;
        this.admin = admin;
    }

    /** The partitions of {@code wanted} whose standby here has applied every committed changelog record. */
    public TreeSet<Integer> of(Set<Integer> wanted) {
        TreeSet<Integer> standby = new TreeSet<>();
        for (ThreadMetadata t : streams.metadataForLocalThreads()) {
            for (TaskMetadata task : t.standbyTasks()) {
                for (TopicPartition tp : task.topicPartitions()) {
                    if (tp.topic().equals(samplesTopic) && wanted.contains(tp.partition())) {
                        standby.add(tp.partition());
                    }
                }
            }
        }
        if (standby.isEmpty()) {
            return standby;
        }
        // Positions first, stable ends after: an end read later can only be further on (conservative).
        Map<String, Map<Integer, LagInfo>> lags = streams.allLocalStorePartitionLags();
        if (lags.keySet().stream().allMatch(StoreNames.STACKS::equals)) {
            return new TreeSet<>();   // no task store registered here yet
        }
        // One sub-topology: every task has every store, so a standby missing any store's lag (not
        // registered yet) is not ready.
        TreeSet<Integer> out = new TreeSet<>(standby);
        Map<TopicPartition, Long> behindEnd = new HashMap<>();
        Map<TopicPartition, Integer> partitionOf = new HashMap<>();
        for (Map.Entry<String, Map<Integer, LagInfo>> store : lags.entrySet()) {
            if (store.getKey().equals(StoreNames.STACKS)) {
                continue;   // the global dictionary: every instance reads all of it, no task owns it
            }
            for (int p : standby) {
                LagInfo lag = store.getValue().get(p);
                if (lag == null) {
                    out.remove(p);
                } else if (lag.offsetLag() > 0) {
                    TopicPartition changelog = new TopicPartition(applicationId + "-" + store.getKey() + "-changelog", p);
                    behindEnd.put(changelog, lag.currentOffsetPosition());
                    partitionOf.put(changelog, p);
                }
            }
        }
        if (behindEnd.isEmpty()) {
            return out;
        }
        Map<TopicPartition, Long> stable = stableEnds(behindEnd.keySet());
        for (Map.Entry<TopicPartition, Long> e : behindEnd.entrySet()) {
            Long end = stable.get(e.getKey());
            if (end == null || e.getValue() < end - 1) {
                out.remove(partitionOf.get(e.getKey()));
            }
        }
        return out;
    }

    /** Read-committed end offsets of the changelogs; empty when Kafka does not answer in time (no standby then). */
    private Map<TopicPartition, Long> stableEnds(Set<TopicPartition> changelogs) {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (TopicPartition tp : changelogs) {
            request.put(tp, OffsetSpec.latest());
        }
        Map<TopicPartition, Long> out = new HashMap<>();
        try {
            Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> answer = admin.listOffsets(request,
                    new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all()
                    .get(LIST_OFFSETS_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            answer.forEach((tp, info) -> out.put(tp, info.offset()));
        } catch (ExecutionException | TimeoutException e) {
            return Map.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Map.of();
        }
        return out;
    }
}
