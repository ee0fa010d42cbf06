package dev.stackstream.cli;

import dev.stackstream.aggregator.Aggregator;
import dev.stackstream.aggregator.AggregatorConfig;
import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.collector.publish.PublisherConfig;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.collector.sidecar.Collector;
import dev.stackstream.collector.sidecar.CollectorConfig;
import dev.stackstream.command.CommandFailure;
import dev.stackstream.command.ExitStatus;
import dev.stackstream.command.StopOnSignal;
import dev.stackstream.metrics.ServiceRegistry;
import dev.stackstream.profile.folded.FoldedReader;
import dev.stackstream.profile.folded.FoldedStacks;
import dev.stackstream.profile.render.Renderer;
import dev.stackstream.profile.render.Renderers;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code stackstream demo}: the whole pipeline on one machine with one command. Starts a
 * single-node Kafka broker in this JVM, the aggregator (query API, web UI and metrics on
 * 127.0.0.1), runs the bundled workload ({@code calltree}: main→a→b ≈70 %, main→c ≈30 % of its
 * CPU) under the collector sidecar, waits until the aggregator has every sample, prints the summary,
 * writes the flame graphs and other formats, prints the URLs, and serves the UI until Ctrl-C, which
 * stops everything in order (collector flush, aggregator, broker).
 *
 * <p>The parts are the services themselves ({@link EmbeddedKafka}, {@link Aggregator#start},
 * {@link Collector#start}), each started as its own command would start it.
 *
 * <p>Exit status ({@link ExitStatus}): 0 after a clean run (also after Ctrl-C); 1 when the pipeline
 * failed (the message says which part and why); 2 for a bad option; 3 when the kernel refused perf
 * events; 4 when the workload is missing.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Profile a bundled workload through the whole pipeline (embedded Kafka, collector,",
                "aggregator), print the summary, write the flame graphs and serve the UI until Ctrl-C."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:clean run (also after Ctrl-C)", "1:the pipeline failed (the message says which part)",
                "2:bad option", "3:no permission for perf events (run as root, give CAP_PERFMON, or lower"
                        + " kernel.perf_event_paranoid)", "4:the workload is missing"})
public final class DemoCommand implements Callable<Integer> {
    static final String SERVICE = "demo-calltree";
    /** How long Ctrl-C waits for the run's own thread to finish after the pipeline was stopped. */
    private static final Duration SIGNAL_WAIT = Duration.ofSeconds(30);

    @Spec
    CommandSpec spec;

    @Option(names = "--output", paramLabel = "DIR", defaultValue = "stackstream-demo",
            description = "Where the flame graphs and reports go (default ${DEFAULT-VALUE}).")
    Path output;

    @Option(names = "--duration", paramLabel = "SECONDS", defaultValue = "10",
            description = "CPU seconds the workload burns (default ${DEFAULT-VALUE}).")
    int duration;

    @Option(names = "--frequency", paramLabel = "HZ", defaultValue = "999",
            description = "Sampling frequency (default ${DEFAULT-VALUE}).")
    int frequency;

    @Option(names = "--http-port", paramLabel = "PORT", defaultValue = "8080",
            description = "Aggregator UI/API port on 127.0.0.1; a free one when taken (default ${DEFAULT-VALUE}).")
    int httpPort;

    @Option(names = "--metrics-port", paramLabel = "PORT", defaultValue = "9464",
            description = "Collector metrics port on 127.0.0.1; a free one when taken (default ${DEFAULT-VALUE}).")
    int metricsPort;

    @Option(names = "--workload", paramLabel = "FILE",
            description = "The program to profile (default: the native build's fixtures/calltree).")
    Path workload;

    @Option(names = "--serve", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Keep serving the UI after the run until Ctrl-C (default ${DEFAULT-VALUE}).")
    boolean serve;

    /** Released by Ctrl-C (the shutdown hook) or {@link #stop()}. */
    private final CountDownLatch done = new CountDownLatch(1);
    private volatile Pipeline running;

    public static void main(String[] args) {
        System.exit(ExitStatus.install(new CommandLine(new DemoCommand()).setCommandName("stackstream demo"))
                .execute(args));
    }

    /** The broker's address while the demo runs, else null (tests send records through it). */
    String kafkaBootstrap() {
        Pipeline p = running;
        EmbeddedKafka k = p == null ? null : p.kafka;
        return k == null ? null : k.bootstrapServers();
    }

    /** Ends the demo early, as Ctrl-C would: the workload is stopped (the results so far are kept). */
    void stop() {
        Pipeline p = running;
        Process t = p == null ? null : p.target;
        if (t != null && t.isAlive()) {
            t.destroy();
        }
        done.countDown();
    }

    /**
     * The broker's, Kafka Streams' and Jetty's INFO logging would bury the demo's own output:
     * warnings and errors only, unless the user chose a level (-Dorg.slf4j.simpleLogger.defaultLogLevel).
     */
    private static void quietLogs() {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
    }

    @Override
    public Integer call() throws Exception {
        quietLogs();
        PrintWriter out = spec.commandLine().getOut();
        if (duration < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--duration must be >= 1, got " + duration);
        }
        Path program = workload();
        int aggregatorPort = freeOr(httpPort, out, "--http-port");
        int collectorPort = freeOr(metricsPort, out, "--metrics-port");
        Files.createDirectories(output);
        Path stateDir = Files.createTempDirectory("stackstream-demo-state");
        Pipeline pipeline = new Pipeline();
        running = pipeline;
        Runnable onSignal = () -> {
            out.println();
            out.println("stackstream demo: stopping (collector flush, aggregator, broker)...");
            out.flush();
            pipeline.close();
            done.countDown();
        };
        try (StopOnSignal signal = StopOnSignal.install("stackstream-demo-shutdown", onSignal, SIGNAL_WAIT)) {
            String ui = startServices(pipeline, stateDir, aggregatorPort, out);
            // Queries start a little before the run: buckets are aligned to 10 s.
            Instant from = Instant.now().minusSeconds(10);
            profileWorkload(pipeline, program, collectorPort, out);
            report(new ApiClient(ui, from), ui, collectorPort, pipeline.kafka.bootstrapServers(), out);
            if (serve) {
                out.println("stackstream demo: serving until Ctrl-C");
                out.flush();
                done.await();
            }
            return ExitStatus.OK;
        } finally {
            pipeline.close();
            running = null;
            deleteTree(stateDir);
        }
    }

    private Path workload() {
        try {
            return Workload.find(workload);
        } catch (IllegalStateException e) {
            throw new CommandFailure(ExitStatus.TARGET_MISSING, e.getMessage(), e);
        }
    }

    /** The broker, then the aggregator until its Kafka Streams runs; returns the UI's base URL. */
    private static String startServices(Pipeline pipeline, Path stateDir, int aggregatorPort, PrintWriter out)
            throws Exception {
        step(out, "starting the Kafka broker");
        pipeline.kafka = EmbeddedKafka.start();
        step(out, "Kafka at " + pipeline.kafka.bootstrapServers() + " (" + pipeline.kafka.mode() + ")");

        step(out, "starting the aggregator");
        pipeline.metrics = ServiceRegistry.create();
        pipeline.aggregator = Aggregator.start(AggregatorConfig.builder(pipeline.kafka.bootstrapServers())
                .stateDir(stateDir).httpHost("127.0.0.1").httpPort(aggregatorPort).build(),
                pipeline.metrics.registry());
        if (!pipeline.aggregator.awaitRunning(Duration.ofMinutes(2))) {
            throw new CommandFailure(ExitStatus.FAILURE,
                    "the aggregator's Kafka Streams did not reach RUNNING in 2 minutes");
        }
        return "http://127.0.0.1:" + pipeline.aggregator.httpPort();
    }

    /** Runs the workload under a collector until it ends and the collector delivered its last window. */
    private void profileWorkload(Pipeline pipeline, Path program, int collectorPort, PrintWriter out)
            throws Exception {
        step(out, "running " + program + " " + duration + " (CPU seconds) under the collector at "
                + frequency + " Hz");
        Process target = new ProcessBuilder(program.toString(), Integer.toString(duration))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        pipeline.target = target;
        PublisherConfig publisher = PublisherConfig.builder(pipeline.kafka.bootstrapServers()).build();
        pipeline.collector = Collector.start(CollectorConfig.builder(CollectorConfig.Target.pid((int) target.pid()),
                        SERVICE, publisher)
                .sampling(SamplingOptions.builder().frequencyHz(frequency).perThread(true).build())
                .window(Duration.ofSeconds(2))
                .metricsAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), collectorPort)).build());
        step(out, "collector metrics (while it samples): http://127.0.0.1:" + collectorPort + "/metrics");
        int targetExit = target.waitFor();
        pipeline.collector.awaitTermination(); // the pid target ended: its last window is flushed
        if (targetExit != 0) {
            spec.commandLine().getErr().println("stackstream demo: the workload exited with status " + targetExit);
        }
    }

    /** Waits until the aggregator counted every window, prints the summary and URLs, writes the files. */
    private void report(ApiClient api, String ui, int collectorPort, String kafka, PrintWriter out)
            throws IOException, InterruptedException {
        step(out, "waiting for the aggregator to count every window");
        long samples = api.awaitStableSampleCount(Duration.ofSeconds(90));
        if (samples == 0) {
            throw new CommandFailure(ExitStatus.FAILURE, "the aggregator has no samples for " + SERVICE
                    + " (the collector ran; check the log for publish errors)");
        }
        out.println();
        out.println(api.get("/api/v1/summary", "format=text").body());
        List<String> written = api.writeFormats(output, spec.commandLine().getErr());
        out.println("stackstream demo: " + samples + " samples; wrote " + String.join(", ", written)
                + " to " + output.toAbsolutePath());
        out.println("  UI:                 " + ui + "/");
        out.println("  flame graph (API):  " + ui + "/api/v1/profile?service=" + SERVICE + "&from=now-1h&format=svg");
        out.println("  summary (API):      " + ui + "/api/v1/summary?service=" + SERVICE + "&from=now-1h&format=text");
        out.println("  aggregator metrics: " + ui + "/metrics");
        out.println("  collector metrics:  served while sampling at http://127.0.0.1:" + collectorPort + "/metrics");
        out.println("  Kafka:              " + kafka);
        out.flush();
    }

    private static void step(PrintWriter out, String message) {
        out.println("stackstream demo: " + message);
        out.flush();
    }

    /** The wanted port when it is free on 127.0.0.1, else a free one (said so). */
    private static int freeOr(int wanted, PrintWriter out, String option) throws IOException {
        if (wanted != 0) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), wanted));
                return wanted;
            } catch (IOException taken) {
                out.println("stackstream demo: port " + wanted + " is taken; using a free one (set " + option + ")");
            }
        }
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // A temporary directory; leaving it is harmless.
        }
    }

    /** What runs; closed in reverse order of start, each part at most once. */
    private static final class Pipeline {
        volatile EmbeddedKafka kafka;
        volatile ServiceRegistry metrics;
        volatile Aggregator aggregator;
        volatile Process target;
        volatile Collector collector;
        private boolean closed;

        synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            if (target != null && target.isAlive()) {
                // The collector's pid target ending makes it flush its last window and stop.
                target.destroy();
            }
            if (collector != null) {
                collector.close();
            }
            if (aggregator != null) {
                aggregator.close();
            }
            if (metrics != null) {
                metrics.close();
            }
            if (kafka != null) {
                kafka.close();
            }
        }
    }

    /** The aggregator's HTTP API, as a user's browser or script would use it. */
    private static final class ApiClient {
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        private final String base;
        private final String range;

        ApiClient(String base, Instant from) {
            this.base = base;
            this.range = "service=" + SERVICE + "&from=" + enc(from.toString()) + "&to=now";
        }

        private static String enc(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8);
        }

        HttpResponse<String> get(String path, String query) throws IOException, InterruptedException {
            return http.send(HttpRequest.newBuilder(URI.create(base + path + "?" + range + "&" + query))
                    .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        }

        /** Total samples in the collapsed profile; 0 when the service is not known yet. */
        long sampleCount() throws IOException, InterruptedException {
            HttpResponse<String> r = get("/api/v1/profile", "format=collapsed");
            if (r.statusCode() != 200) {
                return 0;
            }
            // the folded reader validates every line, so a malformed answer is an error, not a wrong total
            return FoldedStacks.total(FoldedReader.readFolded(new StringReader(r.body()), "/api/v1/profile"));
        }

        /** Polls until the count is positive and the same twice in a row, 1 s apart. */
        long awaitStableSampleCount(Duration timeout) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            long last = -1;
            while (System.nanoTime() < deadline) {
                long n = sampleCount();
                if (n > 0 && n == last) {
                    return n;
                }
                last = n;
                Thread.sleep(1000);
            }
            return Math.max(last, 0);
        }

        /** Every format the renderers offer, through the API, into {@code dir}; returns the file names. */
        List<String> writeFormats(Path dir, PrintWriter err) throws IOException, InterruptedException {
            List<String> written = new ArrayList<>();
            for (Renderer r : Renderers.all()) {
                HttpResponse<InputStream> resp = http.send(HttpRequest.newBuilder(URI.create(
                                base + "/api/v1/profile?" + range + "&format=" + enc(r.format())))
                        .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofInputStream());
                try (InputStream body = resp.body()) {
                    if (resp.statusCode() != 200) {
                        err.println("stackstream demo: format " + r.format() + ": HTTP " + resp.statusCode() + " "
                                + new String(body.readAllBytes(), StandardCharsets.UTF_8).trim());
                        continue;
                    }
                    Files.copy(body, dir.resolve(r.defaultFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                    written.add(r.defaultFileName());
                }
            }
            HttpResponse<String> summary = get("/api/v1/summary", "format=text");
            if (summary.statusCode() == 200) {
                Files.writeString(dir.resolve("summary.txt"), summary.body());
                written.add("summary.txt");
            }
            return written;
        }
    }
}
