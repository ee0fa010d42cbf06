package dev.stackstream.collector.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.stackstream.broker.EmbeddedKafka;
import dev.stackstream.collector.consume.KafkaProfileReader;

/**
 * The collector sidecar's own CPU and RSS next to {@code perf record -g} at the same rate on the
 * same target (not a test; run collector/bench/collector-cost.sh).
 *
 * <p>Target: the calltree_mt fixture (2 CPU-bound threads). Each run starts the sidecar as its own
 * JVM (as deployed), lets it warm up for 30 seconds (JVM start, class loading, JIT,
 * Kafka connection), then measures its CPU time (utime+stime from /proc) over {@code seconds} and
 * its peak RSS (VmHWM). The sidecar is started by the repository's launcher ({@code ./stackstream
 * collector}, run from the repository root), so it has the launcher's footprint flags and class
 * path, and its Prometheus endpoint on, scraped every 5 s (as deployed). perf record -g runs the
 * same measured span against the same target,
 * writing to a file in /tmp. Args: hz seconds runs.
 */
public final class CollectorCostBenchmark {
    private static final long TICKS = 100;  // USER_HZ on Linux

    public static void main(String[] args) throws Exception {
        int hz = Integer.parseInt(args[0]);
        int seconds = Integer.parseInt(args[1]);
        int runs = Integer.parseInt(args[2]);
        int warmup = 30;
        Path fixture = Path.of(System.getProperty("stackstream.native.dir"), "fixtures", "calltree_mt");
        try (EmbeddedKafka kafka = EmbeddedKafka.builder().mode(EmbeddedKafka.Mode.IN_JVM).start()) {
            for (int run = 0; run < runs; run++) {
                Process target = new ProcessBuilder(fixture.toString(), Integer.toString(4 * (warmup + seconds) + 60), "2")
                        .start();
                try {
                    String id = "cost-" + hz + "-" + run;
                    int metricsPort;
                    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
                        metricsPort = free.getLocalPort();
                    }
                    // Through the launcher, as users and the deployment start it: its sidecar JVM
                    // flags and the collector-only class path.
                    List<String> cmd = new ArrayList<>(List.of(Path.of("stackstream").toAbsolutePath().toString(),
                            "collector",
                            "--pid", Long.toString(target.pid()), "--service", "bench", "--frequency", Integer.toString(hz),
                            "--window", "10", "--bootstrap-servers", kafka.bootstrapServers(), "--collector-id", id,
                            "--samples-topic", "cost-samples", "--stacks-topic", "cost-stacks",
                            "--metrics-port", Integer.toString(metricsPort)));
                    Process sidecar = new ProcessBuilder(cmd).redirectErrorStream(true)
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                    // Scraped every 5 s throughout, as Prometheus would (the deployment enables the endpoint).
                    var scrapes = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
                    scrapes.scheduleAtFixedRate(() -> scrape(metricsPort), 5, 5, TimeUnit.SECONDS);
                    Thread.sleep(warmup * 1000L);
                    long c0 = cpuTicks(sidecar.pid());
                    long t0 = System.nanoTime();
                    Thread.sleep(seconds * 1000L);
                    scrapes.shutdownNow();
                    long c1 = cpuTicks(sidecar.pid());
                    double wall = (System.nanoTime() - t0) / 1e9;
                    long hwm = statusKb(sidecar.pid(), "VmHWM:");
                    long rss = statusKb(sidecar.pid(), "VmRSS:");
                    sidecar.destroy();
                    sidecar.waitFor(60, TimeUnit.SECONDS);
                    KafkaProfileReader.ReadResult r = new KafkaProfileReader(kafka.bootstrapServers(), Map.of(),
                            "cost-samples", "cost-stacks").readAll(id, Duration.ofSeconds(60));
                    long samples = r.profile() == null ? 0 : r.profile().totalCount();
                    double totalSeconds = r.profile() == null ? 1 : r.profile().duration().toMillis() / 1000.0;

                    Path data = Files.createTempFile("perf-bench", ".data");
                    Path timing = Files.createTempFile("perf-bench", ".time");
                    // GNU time reports perf's whole CPU (recording plus its end-of-run build-id pass) and peak RSS.
                    Process perf = new ProcessBuilder("/usr/bin/time", "-o", timing.toString(), "-f", "%U %S %M",
                            "perf", "record", "-g", "-F", Integer.toString(hz), "-p", Long.toString(target.pid()),
                            "-o", data.toString(), "--", "sleep", Integer.toString(seconds))
                            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                    perf.waitFor(seconds + 120L, TimeUnit.SECONDS);
                    String[] t = Files.readString(timing).trim().split("\\s+");
                    double perfCpu = Double.parseDouble(t[t.length - 3]) + Double.parseDouble(t[t.length - 2]);
                    long perfRssKb = Long.parseLong(t[t.length - 1]);
                    Files.deleteIfExists(data);
                    Files.deleteIfExists(timing);
                    System.out.printf("%d Hz run %d: collector %.1f ms CPU/s (%.2f%% of a core), %.1f us/sample "
                                    + "(%d samples in %.0f s), RSS %d MB (peak %d MB); perf record -g %.1f ms CPU/s, peak RSS %d MB%n",
                            hz, run, 1000.0 * (c1 - c0) / TICKS / wall, 100.0 * (c1 - c0) / TICKS / wall,
                            samples == 0 ? Double.NaN : 1e6 * ((double) (c1 - c0) / TICKS / wall) * totalSeconds / samples,
                            samples, totalSeconds, rss / 1024, hwm / 1024, 1000.0 * perfCpu / seconds, perfRssKb / 1024);
                } finally {
                    target.destroyForcibly();
                    target.waitFor();
                }
            }
        }
    }

    static long cpuTicks(long pid) throws java.io.IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);  // utime, stime (fields 14, 15)
    }

    static long statusKb(long pid, String key) throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
            }
        }
        return -1;
    }

    private static void scrape(int port) {
        try (var in = java.net.URI.create("http://127.0.0.1:" + port + "/metrics").toURL().openStream()) {
            in.readAllBytes();
        } catch (java.io.IOException e) {
            System.err.println("scrape failed: " + e.getMessage());
        }
    }
}
