package dev.stackstream.collector.sidecar;

import java.util.Locale;
import java.util.Map;
import java.util.Objects;

import picocli.CommandLine;

/**
 * Every option's environment twin, for Kubernetes: {@code --bootstrap-servers} defaults to
 * {@code STACKSTREAM_BOOTSTRAP_SERVERS}, {@code --kafka-property} to
 * {@code STACKSTREAM_KAFKA_PROPERTY} (comma-separated {@code k=v} pairs for map options), and so
 * on: the option's long name upper-cased, dashes to underscores, prefixed {@code STACKSTREAM_}.
 * A flag on the command line wins over the variable; the variable wins over the built-in default.
 */
public final class EnvironmentDefaults implements CommandLine.IDefaultValueProvider {
    private final Map<String, String> environment;

    public EnvironmentDefaults() {
        this(System.getenv());
    }

    EnvironmentDefaults(Map<String, String> environment) {
        this.environment = Objects.requireNonNull(environment);
    }

    /** {@code --process-regex} -> {@code STACKSTREAM_PROCESS_REGEX}. */
    public static String variableFor(String longOption) {
        String bare = longOption.startsWith("--") ? longOption.substring(2) : longOption;
        return "STACKSTREAM_" + bare.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    @Override
    public String defaultValue(CommandLine.Model.ArgSpec argSpec) {
        if (!(argSpec instanceof CommandLine.Model.OptionSpec option)) {
            return null;
        }
        String value = environment.get(variableFor(option.longestName()));
        if (value != null) {
            return value;
        }
        return argSpec.defaultValue();
    }
}
