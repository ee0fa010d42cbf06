package dev.stackstream.aggregator.bench;

import dev.stackstream.aggregator.Aggregator;
import dev.stackstream.aggregator.AggregatorConfig;
import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Stack;
import dev.stackstream.wire.ProfileType;
import dev.stackstream.wire.SampleBatch;
import dev.stackstream.wire.StackCount;
import dev.stackstream.wire.WindowStats;
import dev.stackstream.wire.WireCodec;
import dev.stackstream.wire.WireModel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
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
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Aggregator benchmark (not a test): ingest rate per core with exactly-once on, freshness
 * (sample produced to queryable), and merged flame-graph query latency over 1 h, 24 h and 7 days of a
 * synthetic service with 2,000 unique stacks per window. Prints a Markdown report on stdout.
 * Run through {@code aggregator/bench/run.sh}.
 */
public final class AggregatorBench {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final int UNIQUE_STACKS = 2000;

    private final EmbeddedKafka kafka;
    private final List<Stack> stacks = new ArrayList<>();
    private final Random random = new Random(1);

    private AggregatorBench(EmbeddedKafka kafka) {
        this.kafka = kafka;
        for (int i = 0; i < UNIQUE_STACKS; i++) {
            List<Frame> frames = new ArrayList<>();
            int depth = 8 + i % 17;
            frames.add(Frame.named("main", FrameKind.USER));
            for (int d = 1; d < depth; d++) {
                frames.add(Frame.named("fn_" + (d * 31 + (i >> (d % 5))) % 400, FrameKind.USER));
            }
            frames.add(Frame.named("leaf_" + i, i % 9 == 0 ? FrameKind.KERNEL : FrameKind.USER));
            stacks.add(new Stack(frames, false));
        }
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().mode(EmbeddedKafka.Mode.FORKED).forkedHeap("1g").start()) {
            AggregatorBench b = new AggregatorBench(kafka);
            StringBuilder out = new StringBuilder();
            out.append("## Aggregator (issue 5)\n\n");
            out.append("Machine: ").append(machine()).append("; date ").append(Instant.now()).append(".\n");
            out.append("Broker: forked single-node KRaft (kafka.Kafka, 1 GiB heap) on the same machine; aggregator")
                    .append(" in the benchmark JVM, exactly_once_v2, commit interval 100 ms, 1 stream thread,")
                    .append(" RocksDB budget 256 MiB. Other work ran on the machine at the same time (other builds and")
                    .append(" tests), so wall times are pessimistic; CPU times are the aggregator's own.\n\n");
            List<String> sections = List.of((args.length > 2 ? args[2] : "ingest,freshness,queries").split(","));
            if (sections.contains("ingest")) {
                b.ingest(out, runs);
            }
            if (sections.contains("freshness")) {
                b.freshness(out);
            }
            if (sections.contains("queries")) {
                b.queries(out, runs);
            }
            if (sections.contains("grafana")) {
                b.grafana(out, runs);
            }
            System.out.println(out);
            if (args.length > 1 && !args[1].isEmpty()) {
                Files.writeString(Path.of(args[1]), out.toString());
            }
        }
    }

    private static String machine() throws Exception {
        String cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("?");
        return Runtime.getRuntime().availableProcessors() + " cores (" + cpu + "), Java "
                + System.getProperty("java.version") + ", " + System.getProperty("os.name") + " "
                + System.getProperty("os.version");
    }

    private Aggregator start(String app, String prefix) throws Exception {
        return Aggregator.start(AggregatorConfig.builder(kafka.bootstrapServers())
                .applicationId(app).stateDir(Files.createTempDirectory("agg-bench"))
                .samplesTopic(prefix + "-samples").stacksTopic(prefix + "-stacks").dlqTopic(prefix + "-dlq")
                .topicPartitions(6).httpPort(0).build(), new SimpleMeterRegistry());
    }

    private void createTopics(String prefix) throws Exception {
        Properties ap = new Properties();
        ap.put("bootstrap.servers", kafka.bootstrapServers());
        try (Admin admin = Admin.create(ap)) {
            admin.createTopics(List.of(new NewTopic(prefix + "-samples", 6, (short) 1),
                    new NewTopic(prefix + "-stacks", 6, (short) 1), new NewTopic(prefix + "-dlq", 1, (short) 1)))
                    .all().get();
        }
    }

    private KafkaProducer<byte[], byte[]> producer() {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("key.serializer", ByteArraySerializer.class.getName());
        p.put("value.serializer", ByteArraySerializer.class.getName());
        p.put("linger.ms", "20");
        p.put("batch.size", "1000000");
        p.put("compression.type", "lz4");
        p.put("acks", "all");
        p.put("enable.idempotence", "true");
        p.put("delivery.timeout.ms", "300000");
        return new KafkaProducer<>(p);
    }

    private void sendStacks(KafkaProducer<byte[], byte[]> p, String topic) {
        for (Stack s : stacks) {
            p.send(new ProducerRecord<>(topic, s.id().toBytes(), WireCodec.encode(WireModel.toDefinition(s))));
        }
    }

    /** A window of `entries` distinct stacks (all of them when entries == UNIQUE_STACKS). */
    private SampleBatch batch(String service, String pod, String collector, long seq, Instant start, Duration len,
                              int entries) {
        List<StackCount> list = new ArrayList<>(entries);
        int offset = random.nextInt(UNIQUE_STACKS);
        for (int i = 0; i < entries; i++) {
            Stack s = stacks.get((offset + i) % UNIQUE_STACKS);
            list.add(new StackCount(WireModel.toWire(s.id()), 1L + random.nextInt(20), null, null));
        }
        return SampleBatch.newBuilder().setService(service).setLabels(Map.of("pod", pod))
                .setProfileType(new ProfileType("cpu", "nanoseconds", 10_101_010L))
                .setWindowStart(start).setWindowEnd(start.plus(len)).setCollectorId(collector).setSequence(seq)
                .setEntries(list).setStats(new WindowStats(0L, 0L, 0L, 0L, null, null, null, null)).build();
    }

    private static void send(KafkaProducer<byte[], byte[]> p, String topic, SampleBatch b) {
        send(p, topic, b, null);
    }

    /** Sends; when acked is given, adds the batch's entry count to it once the broker acknowledged it. */
    private static void send(KafkaProducer<byte[], byte[]> p, String topic, SampleBatch b,
                             java.util.concurrent.atomic.AtomicLong acked) {
        int entries = b.getEntries().size();
        p.send(new ProducerRecord<>(topic, b.getCollectorId().getBytes(StandardCharsets.UTF_8), WireCodec.encode(b)),
                (md, e) -> {
                    if (e == null && acked != null) {
                        acked.addAndGet(entries);
                    } else if (e != null) {
                        System.err.println("benchmark producer lost a window: " + e);
                    }
                });
    }

    /** CPU time of this whole JVM (aggregator, its RocksDB threads, JIT, GC; the broker is forked). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static long aggregatorCpuNanos(String app) {
        long sum = 0;
        for (ThreadInfo t : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
            if (t != null && t.getThreadName().contains(app)) {
                long c = THREADS.getThreadCpuTime(t.getThreadId());
                if (c > 0) {
                    sum += c;
                }
            }
        }
        return sum;
    }

    private static void waitFor(LongSupplier value, long target, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (value.getAsLong() < target) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out: " + value.getAsLong() + " of " + target);
            }
            Thread.sleep(20);
        }
    }

    // ---- ingest ----------------------------------------------------------------------------------

    private void ingest(StringBuilder out, int runs) throws Exception {
        int collectors = 100;
        int windows = 20;
        int entries = 500;
        long total = (long) collectors * windows * entries;
        out.append("### Ingest\n\n").append(collectors).append(" collectors x ").append(windows)
                .append(" windows x ").append(entries).append(" entries (").append(total)
                .append(" stack-count entries, pre-produced), then the aggregator started and timed until every")
                .append(" entry was counted. Process CPU = the benchmark JVM (the aggregator, RocksDB's native threads, JIT,")
                .append(" GC; nothing else runs in it during the phase; the broker is a separate process); thread CPU = the")
                .append(" aggregator's Java threads only.\n\n")
                .append("| run | wall s | entries/s (wall) | process CPU s | thread CPU s | entries/s per core (process CPU) |\n")
                .append("|---|---|---|---|---|---|\n");
        double[] perCore = new double[runs];
        double[] wall = new double[runs];
        for (int r = 0; r < runs; r++) {
            String prefix = "ingest" + r;
            String app = "bench-ingest-" + r + "-" + System.nanoTime();
            Instant base = Instant.now().minus(Duration.ofMinutes(5));
            createTopics(prefix);
            java.util.concurrent.atomic.AtomicLong acked = new java.util.concurrent.atomic.AtomicLong();
            try (KafkaProducer<byte[], byte[]> p = producer()) {
                for (int w = 0; w < windows; w++) {
                    for (int c = 0; c < collectors; c++) {
                        send(p, prefix + "-samples", batch("ingest", "pod-" + c, "c-" + c, w,
                                base.plusSeconds(10L * w), Duration.ofSeconds(10), entries), acked);
                    }
                }
                p.flush();
            }
            long target = acked.get();
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            long t0 = System.nanoTime();
            try (Aggregator a = Aggregator.start(AggregatorConfig.builder(kafka.bootstrapServers())
                    .applicationId(app).stateDir(Files.createTempDirectory("agg-bench"))
                    .samplesTopic(prefix + "-samples").stacksTopic(prefix + "-stacks").dlqTopic(prefix + "-dlq")
                    .topicPartitions(6).httpPort(0).build(), registry)) {
                a.awaitRunning(Duration.ofMinutes(2));
                long cpu0 = aggregatorCpuNanos(app);
                long proc0 = processCpuNanos();
                long w0 = System.nanoTime();
                waitFor(() -> (long) registry.counter("stackstream.aggregator.entries.consumed").count(), target,
                        Duration.ofMinutes(10));
                double secs = (System.nanoTime() - w0) / 1e9;
                double cpu = (aggregatorCpuNanos(app) - cpu0) / 1e9;
                double proc = (processCpuNanos() - proc0) / 1e9;
                wall[r] = target / secs;
                perCore[r] = target / proc;
                out.append(String.format(Locale.ROOT, "| %d | %.1f | %.0f | %.1f | %.1f | %.0f |%n", r + 1, secs,
                        wall[r], proc, cpu, perCore[r]));
            }
            System.err.printf("ingest run %d done in %.1f s%n", r + 1, (System.nanoTime() - t0) / 1e9);
        }
        out.append(String.format(Locale.ROOT, "%nMedian: **%.0f entries/s per core** (%.0f entries/s wall)."
                + " Goal: 50,000 entries/s on <= 1 core.%n%n", median(perCore), median(wall)));
    }

    // ---- freshness -------------------------------------------------------------------------------

    private void freshness(StringBuilder out) throws Exception {
        String app = "bench-fresh-" + System.nanoTime();
        int probes = 60;
        createTopics("fresh");
        try (Aggregator a = start(app, "fresh"); KafkaProducer<byte[], byte[]> p = producer()) {
            a.awaitRunning(Duration.ofMinutes(2));
            sendStacks(p, "fresh-stacks");
            p.flush();
            double[] ms = new double[probes];
            Instant now = Instant.now();
            for (int i = 0; i < probes; i++) {
                // Background load while probing: 20 windows of 500 entries.
                for (int c = 0; c < 20; c++) {
                    send(p, "fresh-samples", batch("load", "pod-" + c, "load-" + c, i, now.plusSeconds(10L * i),
                            Duration.ofSeconds(10), 500));
                }
                String service = "probe-" + i;
                long t0 = System.nanoTime();
                send(p, "fresh-samples", batch(service, "p", "probe-" + i, 0, now, Duration.ofSeconds(10), 10));
                p.flush();
                String url = "/api/v1/timeline?service=" + service + "&from=now-1h";
                while (true) {
                    HttpResponse<String> r = get(a.httpPort(), url);
                    if (r.statusCode() == 200) {
                        break;
                    }
                    Thread.sleep(5);
                }
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(ms);
            out.append("### Freshness\n\nA probe window (new service) produced and flushed, then /api/v1/timeline")
                    .append(" polled every 5 ms until the service answers 200, ").append(probes)
                    .append(" probes under a background load of 20 x 500-entry windows per probe.\n\n")
                    .append(String.format(Locale.ROOT, "p50 %.0f ms, p90 %.0f ms, **p99 %.0f ms**, max %.0f ms.%n%n",
                            pct(ms, 50), pct(ms, 90), pct(ms, 99), ms[ms.length - 1]));
        }
    }

    // ---- queries ---------------------------------------------------------------------------------

    /** The query data set: one service's windows over 7 days, backfilled and counted. */
    private record Backfill(int batches, long entries, double seconds) { }

    private Backfill backfill(Aggregator a, KafkaProducer<byte[], byte[]> p, String prefix) throws Exception {
        a.awaitRunning(Duration.ofMinutes(2));
        sendStacks(p, prefix + "-stacks");
        Instant now = Instant.now();
        Instant hourAgo = now.minus(Duration.ofHours(1));
        Instant dayAgo = now.minus(Duration.ofDays(1));
        Instant weekAgo = now.minus(Duration.ofDays(7)).minus(Duration.ofHours(1));
        long seq = 0;
        int batches = 0;
        // Older than 24 h: one window per hour (the 10 s tier no longer keeps them anyway).
        for (Instant t = weekAgo; t.isBefore(dayAgo); t = t.plus(Duration.ofHours(1))) {
            send(p, prefix + "-samples", batch("synthetic", "pod-1", "synth", seq++, t, Duration.ofHours(1), UNIQUE_STACKS));
            batches++;
        }
        // Last 24 h: one window per minute, the last hour at the collector's real 10 s windows.
        for (Instant t = dayAgo; t.isBefore(hourAgo); t = t.plus(Duration.ofMinutes(1))) {
            send(p, prefix + "-samples", batch("synthetic", "pod-1", "synth", seq++, t, Duration.ofMinutes(1), UNIQUE_STACKS));
            batches++;
        }
        for (Instant t = hourAgo; t.isBefore(now); t = t.plusSeconds(10)) {
            send(p, prefix + "-samples", batch("synthetic", "pod-1", "synth", seq++, t, Duration.ofSeconds(10), UNIQUE_STACKS));
            batches++;
        }
        p.flush();
        long t0 = System.nanoTime();
        String probe = "/api/v1/timeline?service=synthetic&from=" + enc(weekAgo.minusSeconds(3600).toString())
                + "&to=" + enc(now.plusSeconds(60).toString()) + "&step=1h";
        long expected = -1;
        // Wait until the whole backfill is counted (timeline total stops growing at the last window).
        while (true) {
            HttpResponse<String> r = get(a.httpPort(), probe);
            if (r.statusCode() == 200 && r.body().contains("\"total\":")) {
                long total = Long.parseLong(r.body().replaceAll(".*\"total\":(\\d+).*", "$1"));
                if (total == expected) {
                    break;
                }
                expected = total;
            }
            Thread.sleep(3000);
        }
        return new Backfill(batches, (long) batches * UNIQUE_STACKS, (System.nanoTime() - t0) / 1e9);
    }

    private void queries(StringBuilder out, int runs) throws Exception {
        String app = "bench-query-" + System.nanoTime();
        createTopics("query");
        try (Aggregator a = start(app, "query"); KafkaProducer<byte[], byte[]> p = producer()) {
            Backfill data = backfill(a, p, "query");
            int batches = data.batches();
            long totalEntries = data.entries();
            out.append("### Query latency\n\nService `synthetic`: ").append(batches).append(" windows of ")
                    .append(UNIQUE_STACKS).append(" unique stacks (").append(totalEntries)
                    .append(" entries; hourly windows older than 24 h, 1-minute windows for the last day, 10 s windows")
                    .append(" for the last hour), backfilled in ")
                    .append(String.format(Locale.ROOT, "%.0f s", data.seconds()))
                    .append(". Merged profile over the range, rendered; ").append(runs * 10)
                    .append(" timed queries per cell after 10 warm-up queries; HTTP on loopback.\n\n")
                    .append("| range | format | p50 ms | p90 ms | max ms | bytes |\n|---|---|---|---|---|---|\n");
            for (String range : List.of("now-1h", "now-24h", "now-7d")) {
                for (String format : List.of("collapsed", "json", "svg", "html")) {
                    String url = "/api/v1/profile?service=synthetic&from=" + range + "&format=" + format;
                    int n = runs * 10;
                    double[] ms = new double[n];
                    int bytes = 0;
                    for (int i = -10; i < n; i++) {
                        long q0 = System.nanoTime();
                        HttpResponse<String> r = get(a.httpPort(), url);
                        if (r.statusCode() != 200) {
                            out.append("| ").append(range).append(" | ").append(format).append(" | ")
                                    .append(r.statusCode()).append(" | | | |\n");
                            break;
                        }
                        if (i >= 0) {
                            ms[i] = (System.nanoTime() - q0) / 1e6;
                        }
                        bytes = r.body().length();
                    }
                    Arrays.sort(ms);
                    out.append(String.format(Locale.ROOT, "| %s | %s | %.0f | %.0f | %.0f | %d |%n", range, format,
                            pct(ms, 50), pct(ms, 90), ms[n - 1], bytes));
                }
            }
            out.append("\nGoal: 24 h <= 300 ms, 7 d <= 500 ms (p50).\n");
        }
    }

    // ---- the Grafana API next to /api/v1/profile -------------------------------------------------

    /**
     * SelectMergeStacktraces (binary, as Grafana calls it, with and without gzip) against
     * /api/v1/profile?format=json on the same data, range and selector: per run the p50 of 20
     * interleaved queries per cell after 5 warm-ups; the table gives the median of the runs' p50s.
     */
    private void grafana(StringBuilder out, int runs) throws Exception {
        String app = "bench-grafana-" + System.nanoTime();
        createTopics("grafana");
        try (Aggregator a = start(app, "grafana"); KafkaProducer<byte[], byte[]> p = producer()) {
            Backfill data = backfill(a, p, "grafana");
            out.append("### Grafana API: SelectMergeStacktraces next to /api/v1/profile?format=json\n\n")
                    .append("Same data set as the query latency table (service `synthetic`, ").append(data.batches())
                    .append(" windows of ").append(UNIQUE_STACKS).append(" unique stacks over 7 days). Per range: ")
                    .append(runs).append(" runs; each run times 20 interleaved queries per cell after 5 warm-ups and")
                    .append(" takes their p50; the table shows the median of the runs' p50s (and the runs' p50s).")
                    .append(" Both endpoints get the same absolute range and selector; HTTP on loopback.\n\n")
                    .append("| range | /api/v1/profile json p50 ms | SelectMergeStacktraces p50 ms | with gzip p50 ms |")
                    .append(" ratio (proto / json) | json bytes | proto bytes | proto gzip bytes | totals equal |\n")
                    .append("|---|---|---|---|---|---|---|---|---|\n");
            Instant now = Instant.now();
            for (Duration range : List.of(Duration.ofHours(1), Duration.ofDays(1), Duration.ofDays(7))) {
                Instant from = now.minus(range);
                String json = "/api/v1/profile?service=synthetic&format=json&from=" + enc(from.toString()) + "&to="
                        + enc(now.toString());
                byte[] body = dev.stackstream.aggregator.connect.proto.SelectMergeStacktracesRequest.newBuilder()
                        .setProfileTypeID("process_cpu:cpu:nanoseconds:cpu:nanoseconds")
                        .setLabelSelector("{service_name=\"synthetic\"}").setStart(from.toEpochMilli())
                        .setEnd(now.toEpochMilli()).build().toByteArray();
                double[][] p50 = new double[3][runs];
                long[] bytes = new long[3];
                boolean totalsEqual = true;
                for (int run = 0; run < runs; run++) {
                    double[][] ms = new double[3][20];
                    for (int i = -5; i < 20; i++) {
                        for (int cell = 0; cell < 3; cell++) {
                            long q0 = System.nanoTime();
                            byte[] answer;
                            if (cell == 0) {
                                answer = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.httpPort()
                                        + json)).build(), HttpResponse.BodyHandlers.ofByteArray()).body();
                            } else {
                                HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                                        + a.httpPort() + "/querier.v1.QuerierService/SelectMergeStacktraces"))
                                        .header("Content-Type", "application/proto").header("Connect-Protocol-Version", "1")
                                        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
                                if (cell == 2) {
                                    rb.header("Accept-Encoding", "gzip");
                                }
                                answer = HTTP.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray()).body();
                            }
                            if (i >= 0) {
                                ms[cell][i] = (System.nanoTime() - q0) / 1e6;
                            }
                            bytes[cell] = answer.length;
                            if (run == 0 && i == 0 && cell == 1) {
                                long total = dev.stackstream.aggregator.connect.proto.SelectMergeStacktracesResponse
                                        .parseFrom(answer).getFlamegraph().getTotal();
                                String own = get(a.httpPort(), json).body();
                                long samples = new com.fasterxml.jackson.databind.ObjectMapper().readTree(own)
                                        .get("totalSamples").asLong();
                                totalsEqual = total == samples * 10_101_010L;
                            }
                        }
                    }
                    for (int cell = 0; cell < 3; cell++) {
                        Arrays.sort(ms[cell]);
                        p50[cell][run] = pct(ms[cell], 50);
                    }
                }
                out.append(String.format(Locale.ROOT, "| %s | %.0f %s | %.0f %s | %.0f %s | %.2f | %d | %d | %d | %s |%n",
                        rangeText(range), median(p50[0]), runsText(p50[0]), median(p50[1]), runsText(p50[1]),
                        median(p50[2]), runsText(p50[2]), median(p50[1]) / median(p50[0]), bytes[0], bytes[1], bytes[2],
                        totalsEqual ? "yes" : "NO"));
            }
            out.append("\nGoal: SelectMergeStacktraces within 1.2x of /api/v1/profile?format=json (p50).\n");
        }
    }

    private static String rangeText(Duration d) {
        return d.toDays() > 0 ? d.toDays() + " d" : d.toHours() + " h";
    }

    private static String runsText(double[] v) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < v.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.0f", v[i]));
        }
        return sb.append(')').toString();
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return pct(c, 50);
    }

    private static double pct(double[] sorted, int p) {
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
