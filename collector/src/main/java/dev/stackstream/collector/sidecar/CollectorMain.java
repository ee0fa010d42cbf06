package dev.stackstream.collector.sidecar;

import dev.stackstream.command.ExitStatus;
import java.util.Arrays;
import picocli.CommandLine;

/**
 * Entry point of the sidecar alone: {@code stackstream collector} runs it on the collector's own
 * class path (collector/target/runtime-classpath.txt), so the JVM neither opens the aggregator's
 * and broker's jars nor builds the other subcommands' option models. Same options, environment
 * twins and exit statuses ({@link ExitStatus}) as the subcommand. A leading {@code collector} word is accepted and
 * skipped, so container args written for the full CLI ({@code collector --pid ...}) run unchanged
 * on the collector's own image.
 */
public final class CollectorMain {
    private CollectorMain() {
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(withoutCommandName(args)));
    }

    /** args without a leading {@code collector} word, as the full CLI's args would have it. */
    static String[] withoutCommandName(String[] args) {
        return args.length > 0 && args[0].equals("collector") ? Arrays.copyOfRange(args, 1, args.length) : args;
    }

    /** The collector command line, named as users type it. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new CollectorCommand()).setCommandName("stackstream collector");
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return ExitStatus.install(cl);
    }
}
