package dev.stackstream.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class KafkaClientPropertiesTest {
    private static final String PASSWORD = "hunter2-but-longer";
    /** A JAAS config with its closing semicolon missing: the Kafka client refuses it. */
    private static final String BAD_JAAS = "org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\"alice\" password=\"" + PASSWORD + "\"";

    @Test
    void flagsWinOverTheFileWhichWinsOverTheEnvironment() throws Exception {
        Path file = Files.createTempFile("kafka", ".properties");
        Files.writeString(file, "security.protocol=SSL\nssl.truststore.location=/from/file\n");
        Map<String, String> env = Map.of("STACKSTREAM_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT",
                "STACKSTREAM_KAFKA_SASL_JAAS_CONFIG", "from-env", "STACKSTREAM_KAFKA_CLIENT_ID", "env-client",
                // twins of flags, not properties
                "STACKSTREAM_KAFKA_PROPERTY", "a=b", "STACKSTREAM_KAFKA_CONFIG", "/x", "STACKSTREAM_KAFKA_TIMEOUT", "3",
                "STACKSTREAM_BOOTSTRAP_SERVERS", "elsewhere:9092");
        Map<String, String> r = KafkaClientProperties.resolve(Map.of("ssl.truststore.location", "/from/flag"), file, env);
        assertEquals(Map.of("security.protocol", "SSL", "ssl.truststore.location", "/from/flag",
                "sasl.jaas.config", "from-env", "client.id", "env-client"), r);
        assertEquals("sasl.jaas.config", KafkaClientProperties.propertyFor("SASL_JAAS_CONFIG"));
    }

    @Test
    void theLogFormHidesEverySecret() {
        Map<String, String> p = new HashMap<>();
        p.put("sasl.jaas.config", BAD_JAAS);
        p.put("ssl.keystore.password", PASSWORD);
        p.put("ssl.key.password", PASSWORD);
        p.put("ssl.keystore.key", PASSWORD);
        p.put("sasl.oauthbearer.client.credentials.client.secret", PASSWORD);
        p.put("security.protocol", "SASL_SSL");
        String masked = KafkaClientProperties.masked(p);
        assertFalse(masked.contains(PASSWORD) || masked.contains("alice"), masked);
        assertTrue(masked.contains("security.protocol=SASL_SSL"), masked);
        assertEquals(5, masked.split("\\[hidden]", -1).length - 1, masked);
    }

    @Test
    void anUnreadableFileIsNamedWithoutItsContent() throws Exception {
        Path dir = Files.createTempDirectory("kafka-config");
        Path missing = dir.resolve("client.properties");
        CommandFailure f = org.junit.jupiter.api.Assertions.assertThrows(CommandFailure.class,
                () -> KafkaClientProperties.resolve(null, missing, Map.of()));
        assertEquals(ExitStatus.KAFKA_CONFIG, f.exitStatus());
        assertTrue(f.getMessage().contains(missing.toString()), f.getMessage());
        Path malformed = dir.resolve("bad.properties");
        Files.writeString(malformed, "ssl.key.password=" + PASSWORD + "\\uZZZZ\n");
        f = org.junit.jupiter.api.Assertions.assertThrows(CommandFailure.class,
                () -> KafkaClientProperties.resolve(null, malformed, Map.of()));
        assertFalse(f.getMessage().contains(PASSWORD), f.getMessage());
    }

    @Command(name = "probe")
    static final class Probe implements Callable<Integer> {
        @Option(names = "--kafka-config")
        Path file;

        @Override
        public Integer call() {
            Properties p = new Properties();
            p.putAll(KafkaClientProperties.resolve(null, file, Map.of()));
            p.put("bootstrap.servers", "127.0.0.1:1");
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(),
                    new ByteArraySerializer())) {
                return 0;
            }
        }
    }

    @Test
    void aClientRefusingAConfigWithAPasswordSaysSoWithoutThePassword() throws Exception {
        Path file = Files.createTempFile("kafka", ".properties");
        Files.writeString(file, "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config="
                + BAD_JAAS.replace("\"", "\\\"") + "\n");
        StringWriter err = new StringWriter();
        CommandLine cl = ExitStatus.install(new CommandLine(new Probe()));
        cl.setErr(new PrintWriter(err, true));
        int status = cl.execute("--kafka-config", file.toString());
        assertEquals(ExitStatus.KAFKA_CONFIG, status, err.toString());
        assertTrue(err.toString().startsWith("probe: "), err.toString());
        assertFalse(err.toString().contains(PASSWORD), err.toString());
        assertEquals("[hidden] and [hidden]", Secrets.scrub(PASSWORD + " and " + BAD_JAAS));
    }
}
