package dev.stackstream.command;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Kafka client properties (TLS, SASL, tuning) of every command that talks to a broker, from three
 * places, so that secrets need not sit on a command line ({@code ps} shows it to every user):
 *
 * <ol>
 *   <li>{@code --kafka-property KEY=VALUE} flags (win: the most specific, given for this run);</li>
 *   <li>the properties file of {@code --kafka-config FILE} (Java properties format; a mounted
 *       Secret);</li>
 *   <li>environment variables {@code STACKSTREAM_KAFKA_<PROPERTY>}: the property name upper-cased
 *       with dots as underscores, e.g. {@code STACKSTREAM_KAFKA_SASL_JAAS_CONFIG} is
 *       {@code sasl.jaas.config} (Kafka property names have neither underscores nor capitals, so
 *       the mapping is one to one). {@code STACKSTREAM_KAFKA_PROPERTY}, {@code _CONFIG} and
 *       {@code _TIMEOUT} are the environment twins of the flags of those names, not properties.</li>
 * </ol>
 *
 * <p>No secret is logged or echoed: {@link #masked} is the form for logs (values of keys naming a
 * password, JAAS config, secret, token, credential or private key are {@code [hidden]}), and
 * {@link #resolve} remembers each secret value (and each quoted value inside a JAAS config) in
 * {@link Secrets}, which the exit-status handler scrubs from every error it prints.
 */
public final class KafkaClientProperties {
    /** Prefix of the environment variables that carry properties. */
    public static final String ENV_PREFIX = "STACKSTREAM_KAFKA_";
    private static final Set<String> NOT_PROPERTIES = Set.of("PROPERTY", "CONFIG", "TIMEOUT");
    private static final Pattern SECRET_KEY = Pattern.compile(
            ".*(password|jaas|secret|token|credential|\\.key$|apikey|api\\.key).*");
    private static final Pattern JAAS_VALUE = Pattern.compile("(\\w+)\\s*=\\s*\"([^\"]*)\"");

    private KafkaClientProperties() {
    }

    /**
     * The properties from the three sources, flags over file over environment.
     *
     * @param flags {@code --kafka-property} values (may be null)
     * @param configFile {@code --kafka-config} (may be null)
     * @param environment the process environment ({@code System.getenv()})
     * @throws CommandFailure (Kafka configuration, 5) when the file cannot be read; the message names the file, never its content
     */
    public static Map<String, String> resolve(Map<String, String> flags, Path configFile, Map<String, String> environment) {
        Map<String, String> out = new TreeMap<>(fromEnvironment(environment));
        if (configFile != null) {
            out.putAll(readFile(configFile));
        }
        if (flags != null) {
            out.putAll(flags);
        }
        out.forEach((k, v) -> {
            if (isSecret(k)) {
                Secrets.remember(v);
                Matcher m = JAAS_VALUE.matcher(v);
                while (m.find()) {
                    if (isSecret(m.group(1))) {
                        Secrets.remember(m.group(2));
                    }
                }
            }
        });
        return out;
    }

    /** {@code STACKSTREAM_KAFKA_SASL_MECHANISM=PLAIN} → {@code sasl.mechanism=PLAIN}. */
    static Map<String, String> fromEnvironment(Map<String, String> environment) {
        Map<String, String> out = new TreeMap<>();
        environment.forEach((name, value) -> {
            if (name.startsWith(ENV_PREFIX) && name.length() > ENV_PREFIX.length()) {
                String rest = name.substring(ENV_PREFIX.length());
                if (!NOT_PROPERTIES.contains(rest)) {
                    out.put(propertyFor(rest), value);
                }
            }
        });
        return out;
    }

    /** {@code SASL_JAAS_CONFIG} → {@code sasl.jaas.config}. */
    public static String propertyFor(String variableSuffix) {
        return variableSuffix.toLowerCase(Locale.ROOT).replace('_', '.');
    }

    private static Map<String, String> readFile(Path file) {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException | IllegalArgumentException e) {
            // The exception's text is the file's name or a malformed \\u escape, never a value.
            throw new CommandFailure(ExitStatus.KAFKA_CONFIG, "cannot read --kafka-config " + file + ": "
                    + e.getClass().getSimpleName());
        }
        Map<String, String> out = new TreeMap<>();
        for (String name : p.stringPropertyNames()) {
            out.put(name, p.getProperty(name));
        }
        return out;
    }

    /** True for a key whose value must never be shown. */
    public static boolean isSecret(String key) {
        return SECRET_KEY.matcher(key.toLowerCase(Locale.ROOT)).matches();
    }

    /** The properties for a log line: {@code {sasl.jaas.config=[hidden], security.protocol=SASL_SSL}}. */
    public static String masked(Map<String, ?> properties) {
        Map<String, Object> out = new TreeMap<>();
        properties.forEach((k, v) -> out.put(k, isSecret(k) ? "[hidden]" : v));
        return out.toString();
    }
}
