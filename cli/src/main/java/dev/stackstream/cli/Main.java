package dev.stackstream.cli;

import dev.stackstream.aggregator.AggregatorCommand;
import dev.stackstream.collector.sidecar.CollectorCommand;
import dev.stackstream.collector.sidecar.CollectorMain;
import dev.stackstream.command.ExitStatus;
import java.util.Arrays;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code ./stackstream}. Each subcommand lives with the feature it drives; this
 * class only assembles them, under one exit-status table ({@link ExitStatus}).
 */
@Command(name = "stackstream",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Continuous native CPU profiling as a streaming pipeline.",
        subcommands = {
            RecordCommand.class,
            CollectorCommand.class,
            AggregatorCommand.class,
            KafkaCommand.class,
            DemoCommand.class,
            RenderCommand.class,
            SimulateCommand.class,
            CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("render")) {
            // render is a batch command of about a second, half of it start-up: building the
            // option model of every other subcommand first would cost it ~0.08 s of CPU. It runs on
            // the profile module and picocli alone, so it reports its statuses itself (the
            // ExitStatus constants are compiled in) and picocli's defaults (2 usage, 1 failure) agree.
            System.exit(renderCommandLine().execute(Arrays.copyOfRange(args, 1, args.length)));
        }
        if (args.length > 0 && args[0].equals("collector")) {
            // The sidecar: a long-lived process whose footprint matters more than anything else.
            CollectorMain.main(Arrays.copyOfRange(args, 1, args.length));
        }
        System.exit(commandLine().execute(args));
    }

    /** {@code render} alone, as the launcher runs it. */
    static CommandLine renderCommandLine() {
        CommandLine render = new CommandLine(new RenderCommand()).setCommandName("stackstream render");
        render.setCaseInsensitiveEnumValuesAllowed(true);
        return render;
    }

    /** The fully assembled command line; tests use it to run subcommands in-process. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        return ExitStatus.install(cl);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"stackstream " + (v == null ? "development build" : v)};
        }
    }
}
