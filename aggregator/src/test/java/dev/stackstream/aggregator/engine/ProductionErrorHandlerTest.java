package dev.stackstream.aggregator.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.aggregator.AggregatorMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.ProductionExceptionHandler.Response;
import org.apache.kafka.streams.errors.ProductionExceptionHandler.Result;
import org.apache.kafka.streams.errors.ProductionExceptionHandler.SerializationExceptionOrigin;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The decision per topic kind and exception (the broker-backed behaviour is in ProductionErrorsTest).
 * The handler reads nothing of the error context, so none is given.
 */
class ProductionErrorHandlerTest {
    private static final String DLQ = "agg-dlq";
    private static final String CHANGELOG = "agg-counts-10s-changelog";

    private SimpleMeterRegistry registry;
    private RefusedDeadLetters refused;
    private ProductionErrorHandler handler;

    @BeforeEach
    void configure() {
        registry = new SimpleMeterRegistry();
        refused = new RefusedDeadLetters();
        handler = new ProductionErrorHandler();
        handler.configure(Map.of(IngestErrorHandler.DLQ_TOPIC_CONFIG, DLQ,
                IngestErrorHandler.METRICS_CONFIG, new AggregatorMetrics(registry), RefusedDeadLetters.CONFIG, refused));
    }

    @Test
    void retriableErrorsAreRetriedOnEveryTopic() {
        for (String topic : new String[] {DLQ, CHANGELOG, "other"}) {
            assertEquals(Result.RETRY, handler.handleError(null, record(topic, null), new NotEnoughReplicasException("x"))
                    .result(), topic);
        }
        assertEquals(Result.RETRY, handler.handleError(null, record(CHANGELOG, null), new TimeoutException("x")).result());
        assertEquals(1.0, count("changelog", "NotEnoughReplicasException", "retry"));
        assertFalse(refused.takeReplacement(), "a retry replaces no thread");
    }

    @Test
    void aRefusedDeadLetterIsStubbedNextTimeAndARefusedStubDropped() {
        Response first = handler.handleError(null, deadLetter("samples-0@7", "foreign-bytes"),
                new RecordTooLargeException("too large"));
        assertEquals(Result.FAIL, first.result(), "the transaction is lost anyway under exactly-once");
        assertTrue(first.deadLetterQueueRecords().isEmpty());
        assertEquals(RefusedDeadLetters.Outcome.STUB, refused.of("samples-0@7").outcome());
        assertTrue(refused.of("samples-0@7").message().contains("reason foreign-bytes"));
        assertTrue(refused.takeReplacement(), "the stream thread is replaced");
        assertFalse(refused.takeReplacement(), "once");

        handler.handleError(null, deadLetter("samples-0@7", RefusedDeadLetters.STUB_REASON),
                new RecordTooLargeException("still"));
        assertEquals(RefusedDeadLetters.Outcome.DROP, refused.of("samples-0@7").outcome());
        assertNull(refused.of("samples-0@8"));
        assertEquals(1.0, count("dead-letters", "RecordTooLargeException", "stub"));
        assertEquals(1.0, count("dead-letters", "RecordTooLargeException", "drop"));
    }

    @Test
    void aRefusedChangelogRecordFailsTheClient() {
        assertEquals(Result.FAIL, handler.handleError(null, record(CHANGELOG, null),
                new RecordTooLargeException("x")).result());
        assertFalse(refused.takeReplacement(), "not a dead letter: the client shuts down");
        assertEquals(1.0, count("changelog", "RecordTooLargeException", "fail"));
        // A dead-letter record that names no source cannot be stubbed either.
        assertEquals(Result.FAIL, handler.handleError(null, record(DLQ, null), new RecordTooLargeException("x")).result());
        assertFalse(refused.takeReplacement());
    }

    @Test
    void otherSendsOfTheDoomedTransactionAreCountedAsReplayed() {
        RecordTooLargeException cause = new RecordTooLargeException("too large");
        handler.handleError(null, deadLetter("samples-1@3", "limits"), cause);
        assertEquals(Result.FAIL, handler.handleError(null, record(CHANGELOG, null), cause).result());
        assertEquals(1.0, count("changelog", "RecordTooLargeException", "replayed"));
        assertEquals(0.0, count("changelog", "RecordTooLargeException", "fail"));
    }

    @Test
    void serializationErrorsAreTheAggregatorsBugAndFail() {
        assertEquals(Result.FAIL, handler.handleSerializationError(null, record(DLQ, null),
                new SerializationException("x"), SerializationExceptionOrigin.VALUE).result());
        assertEquals(1.0, count("dead-letters", "SerializationException", "fail"));
    }

    private double count(String topic, String error, String action) {
        var c = registry.find("stackstream.aggregator.production.errors").tag("topic", topic).tag("error", error)
                .tag("action", action).counter();
        return c == null ? 0.0 : c.count();
    }

    private static ProducerRecord<byte[], byte[]> deadLetter(String source, String reason) {
        DeadLetters.Letter letter = DeadLetters.of(new byte[100], null, reason, "why", source);
        return new ProducerRecord<>(DLQ, null, null, "k".getBytes(StandardCharsets.UTF_8), letter.value(),
                letter.headers());
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, byte[] value) {
        return new ProducerRecord<>(topic, null, null, new byte[1], value, new RecordHeaders());
    }
}
