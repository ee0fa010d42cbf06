package dev.stackstream.aggregator.engine;

import dev.stackstream.aggregator.AggregatorMetrics;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What Kafka Streams does with a record whose processing throws (an aggregator bug, or state it
 * cannot read): the raw record goes to the dead-letter topic with reason {@code processing-error}
 * in the same transaction, and ingest resumes. Without this the task fails before its offset is
 * committed, and every restart meets the same record again: a crash loop on one record.
 *
 * <p>Configured through the Streams properties {@link #DLQ_TOPIC_CONFIG} and
 * {@link #METRICS_CONFIG} (an {@link AggregatorMetrics} instance).
 */
public final class IngestErrorHandler implements ProcessingExceptionHandler {
    /** Streams property naming the dead-letter topic. */
    public static final String DLQ_TOPIC_CONFIG = "stackstream.dlq.topic";
    /** Streams property holding the AggregatorMetrics the handler counts in. */
    public static final String METRICS_CONFIG = "stackstream.metrics";
    private static final Logger LOG = LoggerFactory.getLogger(IngestErrorHandler.class);

    private String dlqTopic;
    private AggregatorMetrics metrics;
    private RecordLimits recordLimits;

    @Override
    public void configure(Map<String, ?> configs) {
        Object topic = configs.get(DLQ_TOPIC_CONFIG);
        if (!(topic instanceof String t) || t.isBlank()) {
            throw new IllegalArgumentException(DLQ_TOPIC_CONFIG + " must name the dead-letter topic");
        }
        dlqTopic = t;
        metrics = configs.get(METRICS_CONFIG) instanceof AggregatorMetrics m ? m : null;
        recordLimits = RecordLimits.from(configs);
    }

    @Override
    public Response handleError(ErrorHandlerContext context, Record<?, ?> record, Exception exception) {
        String source = context.topic() + "-" + context.partition() + "@" + context.offset();
        LOG.error("processing record {} failed in {}; dead-lettered as processing-error, ingest goes on", source,
                context.processorNodeId(), exception);
        DeadLetters.Letter letter = DeadLetters.of(context.sourceRawKey(), context.sourceRawValue(), context.headers(),
                "processing-error", String.valueOf(exception), source, recordLimits.deadLetterBytes());
        if (metrics != null) {
            metrics.deadLettered("processing-error");
        }
        return Response.resume(List.of(new ProducerRecord<>(dlqTopic, null, context.sourceRawKey(),
                letter.value(), letter.headers())));
    }
}
