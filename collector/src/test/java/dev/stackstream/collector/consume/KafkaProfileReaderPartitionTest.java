package dev.stackstream.collector.consume;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.clients.producer.RoundRobinPartitioner;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * The reader looks for a collector's windows only in the partition a real producer puts its key
 * in (checked against a real broker), and in every partition when a custom partitioner is set.
 */
class KafkaProfileReaderPartitionTest {
    private static final String TOPIC = "reader-partition-test";
    private static final int PARTITIONS = 6;

    @Test
    void readsOnlyThePartitionTheProducerChoseForTheCollectorId() throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        Properties admin = new Properties();
        admin.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        try (Admin a = Admin.create(admin)) {
            a.createTopics(List.of(new NewTopic(TOPIC, PARTITIONS, (short) 1))).all().get();
        }
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        List<TopicPartition> all = IntStream.range(0, PARTITIONS).mapToObj(i -> new TopicPartition(TOPIC, i)).toList();
        KafkaProfileReader reader = new KafkaProfileReader(kafka.bootstrapServers(), Map.of(), TOPIC, "unused");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            for (int i = 0; i < 20; i++) {
                byte[] key = ("collector-" + i).getBytes(StandardCharsets.UTF_8);
                RecordMetadata m = producer.send(new ProducerRecord<>(TOPIC, key, new byte[] {1})).get();
                assertEquals(List.of(new TopicPartition(TOPIC, m.partition())), reader.partitionsOf(key, all),
                        "collector-" + i);
            }
        }
    }

    @Test
    void aCustomPartitionerMeansEveryPartitionIsRead() {
        KafkaProfileReader reader = new KafkaProfileReader("localhost:1",
                Map.of(ProducerConfig.PARTITIONER_CLASS_CONFIG, RoundRobinPartitioner.class.getName()), TOPIC, "unused");
        List<TopicPartition> all = IntStream.range(0, PARTITIONS).mapToObj(i -> new TopicPartition(TOPIC, i)).toList();
        assertEquals(all, reader.partitionsOf("c".getBytes(StandardCharsets.UTF_8), all));
    }
}
