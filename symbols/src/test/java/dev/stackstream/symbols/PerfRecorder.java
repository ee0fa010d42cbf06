package dev.stackstream.symbols;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code perf record -p PID} as the reference next to our sampler, started so that the caller knows
 * when perf is sampling: perf opens its events disabled ({@code -D -1}) and enables them when told
 * to on its control FIFO, acknowledging on the second one ({@code --control fifo:ctl,ack}).
 *
 * <p>Why: perf opens its events early but enables them only after it has synthesized the target's
 * and the kernel's mappings (reading all of /proc/kallsyms); a target let run as soon as perf's
 * event fds appear runs unsampled meanwhile: ~0.1-0.6 s here, and on a loaded machine long enough
 * for a 4 s perl run or a 1 s node run to end before perf recorded a single sample (seen in CI).
 * {@link #start} returns once perf acknowledged the enable, so the caller lets the target run then.
 */
public final class PerfRecorder implements AutoCloseable {
    private static final long ACK_TIMEOUT_SECONDS = 120;

    private final Process perf;
    private final Path log;

    private PerfRecorder(Process perf, Path log) {
        this.perf = perf;
        this.log = log;
    }

    /**
     * Starts {@code perf record OPTIONS -p PID -o DATA} and enables its events.
     *
     * @param options perf record options (event, frequency, call graph); not -p, -o, -D or --control
     * @param dir where perf's FIFOs and its log (perf.log) go
     * @throws IOException naming perf's log when perf exits or does not acknowledge within 120 s
     */
    public static PerfRecorder start(List<String> options, int pid, Path data, Path dir)
            throws IOException, InterruptedException {
        Path ctl = dir.resolve("perf-ctl.fifo");
        Path ack = dir.resolve("perf-ack.fifo");
        for (Path fifo : List.of(ctl, ack)) {
            Files.deleteIfExists(fifo);
            Process mk = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
            if (mk.waitFor() != 0) {
                throw new IOException("mkfifo " + fifo + " failed");
            }
        }
        List<String> argv = new ArrayList<>(List.of("perf", "record"));
        argv.addAll(options);
        argv.addAll(List.of("-D", "-1", "--control", "fifo:" + ctl + "," + ack, "-p", Integer.toString(pid), "-o",
                data.toString()));
        Path log = dir.resolve("perf.log");
        Process perf = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        PerfRecorder r = new PerfRecorder(perf, log);
        // Both ends opened read-write: opening a FIFO so never blocks, whether perf opened it yet or not.
        try (FileChannel c = FileChannel.open(ctl, StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileChannel a = FileChannel.open(ack, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            c.write(ByteBuffer.wrap("enable\n".getBytes(StandardCharsets.US_ASCII)));
            CompletableFuture<String> reply = CompletableFuture.supplyAsync(() -> readLine(a));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ACK_TIMEOUT_SECONDS);
            while (true) {
                try {
                    String line = reply.get(50, TimeUnit.MILLISECONDS);
                    if (!"ack".equals(line)) {
                        r.close();
                        throw new IOException("perf answered '" + line + "' to enable; its log: " + r.log());
                    }
                    return r;
                } catch (TimeoutException e) {
                    if (!perf.isAlive() || System.nanoTime() > deadline) {
                        r.close();
                        throw new IOException("perf record did not enable its events (alive " + perf.isAlive()
                                + "); its log: " + r.log());
                    }
                } catch (ExecutionException e) {
                    r.close();
                    throw new IOException("reading perf's ack", e.getCause());
                }
            }
        } finally {
            Files.deleteIfExists(ctl);
            Files.deleteIfExists(ack);
        }
    }

    private static String readLine(FileChannel fifo) {
        StringBuilder line = new StringBuilder();
        ByteBuffer one = ByteBuffer.allocate(1);
        try {
            while (fifo.read(one.clear()) == 1 && one.get(0) != '\n') {
                line.append((char) one.get(0));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return line.toString();
    }

    /** Waits for perf to end (it does when its target exits); true when it did, with exit status 0. */
    public boolean waitFor(long seconds) throws InterruptedException {
        return perf.waitFor(seconds, TimeUnit.SECONDS) && perf.exitValue() == 0;
    }

    /**
     * Ends the recording of a target that keeps running: perf takes SIGTERM as the end, writes
     * out what it has and exits.
     *
     * @throws IOException naming perf's log when it does not end cleanly within 60 s
     */
    public void stop() throws IOException, InterruptedException {
        perf.destroy();
        if (!perf.waitFor(60, TimeUnit.SECONDS)) {
            throw new IOException("perf record did not end on SIGTERM; its log: " + log());
        }
    }

    /** What perf printed so far. */
    public String log() throws IOException {
        return Files.readString(log).strip();
    }

    @Override
    public void close() {
        perf.destroy();
    }
}
