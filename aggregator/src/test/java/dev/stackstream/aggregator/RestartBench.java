package dev.stackstream.aggregator;

import dev.stackstream.broker.EmbeddedKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Restart benchmark (not a test): the {@link RestartTrial} of {@code RestartAvailabilityTest}
 * (in-JVM broker, forked aggregator, 3 partitions, 120 windows counted), SIGKILLed and restarted
 * RESTARTS times; prints, per restart, the seconds from the restart to the first HTTP answer, to the
 * full exact answer, and to each phase the aggregator logged (main() reached, HTTP listening, Kafka
 * Streams started, start() returned, RUNNING), then the median, with the load average before and
 * after. Run through {@code aggregator/bench/restart.sh}.
 *
 * <p>Arguments: RESTARTS (default 5), then any JVM options for the aggregator (e.g. a log level).
 */
public final class RestartBench {
    private RestartBench() {
    }

    public static void main(String[] args) throws Exception {
        int restarts = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        List<String> jvmOptions = args.length > 1 ? Arrays.asList(args).subList(1, args.length) : List.of();
        String loadBefore = load();
        List<RestartTrial.Restart> results = new ArrayList<>();
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().mode(EmbeddedKafka.Mode.IN_JVM).start();
             RestartTrial trial = RestartTrial.start(kafka.bootstrapServers(), "restartbench", jvmOptions)) {
            System.out.println("log: " + trial.log());
            for (int i = 0; i < restarts; i++) {
                RestartTrial.Restart r = trial.killAndRestart();
                results.add(r);
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                        "restart %d: full answer %.1f s, first answer %.1f s;", i, r.toFull(), r.toFirstAnswer()));
                for (Map.Entry<String, Double> p : r.phases().entrySet()) {
                    line.append(String.format(Locale.ROOT, " %s %.1f", p.getKey(), p.getValue()));
                }
                if (!r.wrong().isEmpty()) {
                    line.append("; WRONG ANSWERS: ").append(r.wrong());
                }
                System.out.println(line);
            }
        }
        List<Double> full = results.stream().map(RestartTrial.Restart::toFull).sorted().toList();
        System.out.printf(Locale.ROOT, "median full answer %.1f s of %s; load average before %s, after %s%n",
                full.get(full.size() / 2), results.stream().map(r -> String.format(Locale.ROOT, "%.1f", r.toFull()))
                        .toList(), loadBefore, load());
    }

    private static String load() throws java.io.IOException {
        String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
        return f[0] + " " + f[1] + " " + f[2];
    }
}
