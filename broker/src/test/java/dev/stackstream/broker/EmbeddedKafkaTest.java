package dev.stackstream.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaTest {

    @Test
    void inJvmBrokerSurvivesStopAndRestartOnTheSamePortWithItsData() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().mode(EmbeddedKafka.Mode.IN_JVM).start()) {
            assertEquals(EmbeddedKafka.Mode.IN_JVM, kafka.mode());
            String bootstrap = kafka.bootstrapServers();
            produce(bootstrap, "before", "one");

            kafka.stop();
            assertTrue(!kafka.isRunning());
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap,
                    "request.timeout.ms", "1500", "default.api.timeout.ms", "2000"))) {
                assertThrows(ExecutionException.class,
                        () -> admin.describeCluster().nodes().get(5, TimeUnit.SECONDS),
                        "a stopped broker must not answer");
            }

            kafka.restart();
            assertEquals(bootstrap, kafka.bootstrapServers(), "restart keeps the port");
            produce(bootstrap, "before", "two");
            assertEquals(List.of("one", "two"), consumeAll(bootstrap, "before"), "data kept across restart");
        }
    }

    @Test
    void forkedBrokerKeepsTopicsInItsDataDirectoryAcrossRuns(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("kafka");
        String bootstrap;
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().dataDir(data).start()) {
            assertEquals(EmbeddedKafka.Mode.FORKED, kafka.mode(), "a data dir selects the forked broker");
            bootstrap = kafka.bootstrapServers();
            try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                admin.createTopics(List.of(new NewTopic("kept", 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            }
            produce(bootstrap, "kept", "first-run");
        }
        assertTrue(Files.exists(data.resolve("server.properties")));
        try (EmbeddedKafka again = EmbeddedKafka.builder().dataDir(data).start()) {
            assertEquals(bootstrap, again.bootstrapServers(), "same port as recorded in the data dir");
            assertEquals(List.of("first-run"), consumeAll(again.bootstrapServers(), "kept"));
        }
    }

    @Test
    void sharedBrokerIsOnePerJvm() throws Exception {
        assertTrue(SharedKafka.get() == SharedKafka.get());
        produce(SharedKafka.get().bootstrapServers(), "shared", "x");
        assertEquals(List.of("x"), consumeAll(SharedKafka.get().bootstrapServers(), "shared"));
    }

    static void produce(String bootstrap, String topic, String value) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("acks", "all");
        p.put("enable.idempotence", "true");
        try (KafkaProducer<String, String> producer =
                     new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
            producer.send(new ProducerRecord<>(topic, "k", value)).get(60, TimeUnit.SECONDS);
        }
    }

    static List<String> consumeAll(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        List<String> values = new ArrayList<>();
        try (KafkaConsumer<String, String> consumer =
                     new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                    values.add(new String(r.value().getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8));
                }
            }
        }
        return values;
    }
}
