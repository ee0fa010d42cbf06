package dev.stackstream.aggregator;

import static org.junit.jupiter.api.Assertions.fail;

import dev.stackstream.aggregator.query.ClusterQueries;
import dev.stackstream.aggregator.query.LabelSelector;
import dev.stackstream.aggregator.query.PartialResult;
import dev.stackstream.aggregator.query.QuerySpec;
import dev.stackstream.profile.Stack;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.WireCodec;
import dev.stackstream.wire.WireModel;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Small helpers shared by the aggregator tests: producing, consuming, HTTP, polling. */
final class TestKafka {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private TestKafka() {
    }

    static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        p.put("acks", "all");
        p.put("enable.idempotence", "true");
        p.put("linger.ms", "5");
        return new KafkaProducer<>(p);
    }

    static void sendStacks(KafkaProducer<byte[], byte[]> producer, String topic, List<Stack> stacks) {
        for (Stack s : stacks) {
            producer.send(new ProducerRecord<>(topic, s.id().toBytes(), WireCodec.encode(WireModel.toDefinition(s))));
        }
        producer.flush();
    }

    static void sendBatch(KafkaProducer<byte[], byte[]> producer, String topic, SampleBatch batch) {
        producer.send(new ProducerRecord<>(topic, batch.getCollectorId().getBytes(StandardCharsets.UTF_8),
                WireCodec.encode(batch)));
    }

    /** Reads every committed record of topic until count arrived or timeout. */
    static List<ConsumerRecord<byte[], byte[]>> readAll(String bootstrap, String topic, int count, Duration timeout) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.deserializer", ByteArrayDeserializer.class.getName());
        p.put("value.deserializer", ByteArrayDeserializer.class.getName());
        p.put("isolation.level", "read_committed");
        p.put("auto.offset.reset", "earliest");
        p.put("group.id", "test-reader-" + System.nanoTime());
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            c.subscribe(List.of(topic));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (out.size() < count && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    static HttpResponse<String> get(int port, String pathAndQuery) {
        return get(port, pathAndQuery, null);
    }

    static HttpResponse<String> get(int port, String pathAndQuery, String token) {
        try {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
                    .timeout(Duration.ofSeconds(30));
            if (token != null) {
                b.header("Authorization", "Bearer " + token);
            }
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static HttpResponse<byte[]> getBytes(int port, String pathAndQuery) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
                    .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The samples partitions an instance is active for: its part of a query (the internal fan-out
     * route, asked for no partitions in particular) names them; empty when it does not answer.
     */
    static java.util.Set<Integer> activePartitions(int port, String service) {
        QuerySpec any = new QuerySpec(service, null, LabelSelector.all(), 0, 10_000, 0, 0);
        HttpResponse<byte[]> r = getBytes(port, ClusterQueries.PARTIAL_PATH + "?" + any.toQueryString());
        if (r.statusCode() != 200) {
            return java.util.Set.of();
        }
        try {
            return new java.util.TreeSet<>(PartialResult.decode(r.body()).partitions());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static String enc(String s) {
        return java.net.URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    /** Polls condition every 100 ms until true; fails with what after timeout. */
    static void await(Duration timeout, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (RuntimeException | AssertionError e) {
                // not ready yet (connection refused, 503, partial answer...)
            }
            Thread.sleep(100);
        }
        fail("timed out after " + timeout + " waiting for " + what);
    }
}
