package dev.stackstream.aggregator.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.broker.SharedKafka;
import dev.stackstream.metrics.ScrapeHandler;
import dev.stackstream.metrics.ServiceRegistry;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against a real broker and a real Kafka Streams application with a key-value and a windowed
 * RocksDB store, wired as the aggregator wires them (the shared {@link ServiceRegistry}, the
 * Streams meters bound to it, scraped through the {@link ScrapeHandler} /metrics uses): the derived
 * ingest metrics have values and the exposition passes promtool.
 */
class StreamsMetricsTest {

    static double value(String exposition, String series) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(exposition);
        return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
    }

    @Test
    void streamsIngestLagStoresAndPromtool(@TempDir Path stateDir) throws Exception {
        EmbeddedKafka kafka = SharedKafka.get();
        String topic = "metrics-test-" + UUID.randomUUID();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        int records = 500;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < records; i++) {
                producer.send(new ProducerRecord<>(topic, "stack-" + (i % 50), "x"));
            }
            producer.flush();
        }

        StreamsBuilder builder = new StreamsBuilder();
        var stream = builder.stream(topic, Consumed.with(Serdes.String(), Serdes.String()));
        stream.groupByKey().count(Materialized.as("dictionary"));
        stream.groupByKey().windowedBy(TimeWindows.ofSizeWithNoGrace(Duration.ofSeconds(10)))
                .count(Materialized.as("buckets"));
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "metrics-test-" + UUID.randomUUID());
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
        props.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

        try (ServiceRegistry metrics = ServiceRegistry.create(Map.of("instance", "a"));
             KafkaStreams streams = new KafkaStreams(builder.build(), props);
             StreamsMetrics streamsMetrics = new StreamsMetrics(streams)) {
            streamsMetrics.bindTo(metrics.registry());
            streams.start();
            // Scraped as /metrics does, with no refresh of its own: topics and stores must appear
            // through StreamsMetrics' own background refresh.
            ScrapeHandler scrape = ScrapeHandler.of(metrics.registry());

            String s = "";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (System.nanoTime() < deadline) {
                s = scrape.scrape().text();
                if (value(s, "stackstream_aggregator_store_keys{instance=\"a\",store=\"dictionary\"}") >= 50
                        && value(s, "stackstream_aggregator_streams_state{instance=\"a\",state=\"running\"}") == 1
                        && value(s, "stackstream_aggregator_consumer_lag{instance=\"a\",topic=\"" + topic + "\"}") == 0
                        && !Double.isNaN(value(s, "stackstream_aggregator_consumer_lag{instance=\"a\",topic=\""
                        + topic + "\"}"))) {
                    break;
                }
                Thread.sleep(250);
            }
            assertEquals(1, value(s, "stackstream_aggregator_streams_state{instance=\"a\",state=\"running\"}"), s);
            assertEquals(0, value(s, "stackstream_aggregator_streams_state{instance=\"a\",state=\"error\"}"));
            // RocksDB's estimate: at least the 50 distinct keys, at most one per record written (before a
            // compaction, overwrites of a key in the memtable are counted too).
            double keys = value(s, "stackstream_aggregator_store_keys{instance=\"a\",store=\"dictionary\"}");
            assertTrue(keys >= 50 && keys <= records, "dictionary keys " + keys + "\n" + s);
            assertTrue(s.contains("stackstream_aggregator_store_keys{instance=\"a\",store=\"buckets\"}"),
                    "windowed store exported\n" + s);
            assertTrue(value(s, "stackstream_aggregator_store_size_bytes{instance=\"a\",store=\"dictionary\"}") >= 0);
            // Everything was produced before the app started and has been consumed: lag drains to 0.
            assertEquals(0, value(s, "stackstream_aggregator_consumer_lag{instance=\"a\",topic=\"" + topic + "\"}"), s);
            assertTrue(s.contains("process_cpu_seconds_total"), "CPU time in Prometheus's standard name");

            Process p = new ProcessBuilder("/usr/bin/promtool", "check", "metrics").redirectErrorStream(true).start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(s.getBytes(StandardCharsets.UTF_8));
            }
            String lint = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), "promtool check metrics:\n" + lint);
        }
    }

    @Test
    void rollupLagIsTheOldestTaskWatermarkBehindTheClock() {
        java.time.Instant now = java.time.Instant.parse("2026-11-26T12:00:00Z");
        java.time.Clock clock = java.time.Clock.fixed(now, java.time.ZoneOffset.UTC);
        try (ServiceRegistry metrics = ServiceRegistry.create()) {
            RollupLag lag = new RollupLag(clock);
            lag.bindTo(metrics.registry());
            ScrapeHandler scrape = ScrapeHandler.of(metrics.registry());
            assertTrue(Double.isNaN(value(scrape.scrape().text(), "stackstream_aggregator_rollup_lag_seconds{tier=\"1m\"}")),
                    "no series before a task reports the tier");
            lag.watermark("1m", "0_0", now.minusSeconds(60).toEpochMilli());
            lag.watermark("1m", "0_1", now.minusSeconds(90).toEpochMilli());
            lag.watermark("1h", "0_0", now.minusSeconds(1800).toEpochMilli());
            String s = scrape.scrape().text();
            assertEquals(90, value(s, "stackstream_aggregator_rollup_lag_seconds{tier=\"1m\"}"), s);
            assertEquals(1800, value(s, "stackstream_aggregator_rollup_lag_seconds{tier=\"1h\"}"));
            // The lagging task moves away: the tier is as fresh as the remaining one.
            lag.taskClosed("0_1");
            assertEquals(60, value(scrape.scrape().text(), "stackstream_aggregator_rollup_lag_seconds{tier=\"1m\"}"));
            lag.watermark("1m", "0_0", now.minusSeconds(20).toEpochMilli());
            assertEquals(20, value(scrape.scrape().text(), "stackstream_aggregator_rollup_lag_seconds{tier=\"1m\"}"));
        }
    }
}
