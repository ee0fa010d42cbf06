package dev.stackstream.aggregator.engine;

import dev.stackstream.aggregator.AggregatorMetrics;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Kafka Streams does when a record the aggregator writes cannot be sent: a dead letter, or a
 * state store's changelog record. (Authorization, unknown-topic and fencing errors never reach
 * here: Kafka Streams treats them itself.)
 *
 * <p>Under exactly-once, any failed send has already doomed the task's transaction: the producer
 * refuses to commit it, so "skip the record and go on" (RESUME) is not on offer: it only moves the
 * failure to the next send or the commit (tried: the stream thread dies there instead). What can
 * be chosen is what the replay of the transaction does:
 * <ul>
 *   <li><b>Retriable errors</b> (timeouts, not enough replicas, a leader moving), on any topic:
 *       RETRY. Kafka Streams aborts the transaction and replays the task from its last commit; the
 *       state stores (transactional) drop the aborted writes. Nothing is lost; the task waits for
 *       the broker.</li>
 *   <li><b>A dead letter refused for good</b> (larger than the dead-letter topic's
 *       {@code max.message.bytes}, or otherwise invalid there): its source offset (header
 *       {@link DeadLetters#SOURCE_HEADER}) goes to {@link RefusedDeadLetters}, and the handler FAILs.
 *       The stream thread is replaced (not the client shut down), the task replays from its last
 *       commit, and ingest writes a small stub in the record's place (reason
 *       {@value RefusedDeadLetters#STUB_REASON}: the original reason, the refused size and the
 *       source offset, where the record still is whole). Were the stub refused too, the record is
 *       dropped with an ERROR line. Honest windows of the aborted transaction are counted in the
 *       replay, once. Dead letters are cut to the topic's limit as read at start
 *       ({@link RecordLimits}), so this happens only when the topic was made smaller since, when
 *       the limit could not be read (no DescribeConfigs permission), or for a key too large on its own.</li>
 *   <li><b>A changelog record refused for good</b>: FAIL, and the client shuts down. Skipping it
 *       would leave a store whose changelog lacks a write: the next restore would silently lose
 *       counts. Buckets are folded so that their record fits the changelog's limit as read at start
 *       ({@link RecordLimits}), so this happens only when a changelog was made smaller while the
 *       aggregator ran (or its limit could not be read and is below the broker's default). The
 *       failed transaction is aborted, so nothing was stored; a restart reads the new limit, the task
 *       replays from its last commit and folds the bucket to fit: the restart does not meet the
 *       record again. Any other refusal is an aggregator bug, and stopping is the honest answer.</li>
 *   <li><b>Anything else</b>, and every serialization error (the aggregator's serdes are byte
 *       arrays, so one is a bug): FAIL.</li>
 * </ul>
 * Every case is counted in {@code stackstream.aggregator.production.errors} (tags {@code topic}:
 * dead-letters, changelog or output; {@code error}: the exception's class; {@code action}: retry,
 * stub, drop, fail, or replayed for the other sends of a transaction a refused dead letter doomed:
 * the producer fails them with the same exception) and logged.
 *
 * <p>Configured through the Streams properties {@link IngestErrorHandler#DLQ_TOPIC_CONFIG},
 * {@link IngestErrorHandler#METRICS_CONFIG} and {@link RefusedDeadLetters#CONFIG}.
 */
public final class ProductionErrorHandler implements ProductionExceptionHandler {
    private static final Logger LOG = LoggerFactory.getLogger(ProductionErrorHandler.class);

    private String dlqTopic;
    private AggregatorMetrics metrics;
    private RefusedDeadLetters refused;

    @Override
    public void configure(Map<String, ?> configs) {
        Object topic = configs.get(IngestErrorHandler.DLQ_TOPIC_CONFIG);
        if (!(topic instanceof String t) || t.isBlank()) {
            throw new IllegalArgumentException(IngestErrorHandler.DLQ_TOPIC_CONFIG + " must name the dead-letter topic");
        }
        dlqTopic = t;
        metrics = configs.get(IngestErrorHandler.METRICS_CONFIG) instanceof AggregatorMetrics m ? m : null;
        refused = RefusedDeadLetters.from(configs);
    }

    @Override
    public Response handleError(ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record, Exception exception) {
        String kind = kind(record.topic());
        String error = exception.getClass().getSimpleName();
        if (exception instanceof RetriableException) {
            count(kind, error, "retry");
            LOG.warn("writing to {} failed ({}); the task replays from its last commit and tries again", record.topic(),
                    exception.toString());
            return Response.retry();
        }
        String source = header(record, DeadLetters.SOURCE_HEADER);
        if (kind.equals("dead-letters") && source != null) {
            boolean stubRefused = RefusedDeadLetters.STUB_REASON.equals(header(record, DeadLetters.REASON_HEADER));
            String message = "the dead letter of " + source + " (reason " + header(record, DeadLetters.REASON_HEADER)
                    + ", " + (record.value() == null ? 0 : record.value().length) + " bytes) was refused by "
                    + record.topic() + ": " + exception;
            RefusedDeadLetters.Outcome outcome = refused.refuse(source, stubRefused, message, exception);
            count(kind, error, outcome.name().toLowerCase(java.util.Locale.ROOT));
            LOG.error("{}; the transaction is aborted and replayed, with {} in its place", message,
                    outcome == RefusedDeadLetters.Outcome.STUB ? "a stub" : "nothing (the stub was refused too)");
            return Response.fail();
        }
        if (refused.isFollowUp(exception)) {
            // Another send of the transaction a refused dead letter doomed: the replay writes it again.
            count(kind, error, "replayed");
            LOG.warn("writing to {} failed with the refused dead letter's error; the replay writes it again",
                    record.topic());
            return Response.fail();
        }
        count(kind, error, "fail");
        LOG.error("writing to {} failed for good ({}); {}", record.topic(), exception,
                kind.equals("changelog") ? "skipping it would lose state, so this client stops (buckets fit the"
                        + " changelog's max.message.bytes read at start: was the topic made smaller since? A restart"
                        + " reads the new limit and folds to fit)" : "this client stops");
        return Response.fail();
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Response handleSerializationError(ErrorHandlerContext context, ProducerRecord record, Exception exception,
                                             SerializationExceptionOrigin origin) {
        count(kind(record.topic()), exception.getClass().getSimpleName(), "fail");
        LOG.error("serializing a record for {} failed (an aggregator bug: its serdes are byte arrays); this client"
                + " stops", record.topic(), exception);
        return Response.fail();
    }

    private String kind(String topic) {
        if (topic.equals(dlqTopic)) {
            return "dead-letters";
        }
        return topic.endsWith("-changelog") ? "changelog" : "output";
    }

    private void count(String topic, String error, String action) {
        if (metrics != null) {
            metrics.productionError(topic, error, action);
        }
    }

    private static String header(ProducerRecord<byte[], byte[]> record, String key) {
        Header h = record.headers() == null ? null : record.headers().lastHeader(key);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
