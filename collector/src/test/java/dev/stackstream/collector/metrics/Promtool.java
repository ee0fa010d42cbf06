package dev.stackstream.collector.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Runs Prometheus's own linter, {@code promtool check metrics}, on an exposition (Debian: prometheus). */
final class Promtool {
    static final Path PROMTOOL = Path.of(System.getProperty("stackstream.promtool", "/usr/bin/promtool"));

    private Promtool() {
    }

    /** Exit status and combined output of {@code promtool check metrics < exposition}. */
    record Result(int exit, String output) {
    }

    static Result checkMetrics(String exposition) throws IOException, InterruptedException {
        assertTrue(Files.isExecutable(PROMTOOL), PROMTOOL + " not found: install Debian's prometheus package");
        Process p = new ProcessBuilder(PROMTOOL.toString(), "check", "metrics").redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(exposition.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool did not finish");
        return new Result(p.exitValue(), out);
    }
}
