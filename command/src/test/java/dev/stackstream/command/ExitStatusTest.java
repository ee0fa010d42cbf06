package dev.stackstream.command;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class ExitStatusTest {

    @Command(name = "probe")
    static final class Probe implements Callable<Integer> {
        @Option(names = "--throw")
        String what;

        @Override
        public Integer call() throws Exception {
            switch (what) {
                case "config" -> throw new ConfigException("compression.type", "brotli", "not a codec");
                case "timeout" -> throw new IllegalStateException("wrapped",
                        new TimeoutException("no broker answered within 3 s"));
                case "permission" -> throw new CommandFailure(ExitStatus.forErrno(1), "perf_event_open: EPERM");
                case "io" -> throw new IOException("disk full");
                default -> throw new NullPointerException();
            }
        }
    }

    private static int run(StringWriter err, String... args) {
        CommandLine cl = ExitStatus.install(new CommandLine(new Probe()));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    void everyFailureFindsItsRow() {
        StringWriter err = new StringWriter();
        assertEquals(ExitStatus.KAFKA_CONFIG, run(err, "--throw", "config"));
        assertEquals(ExitStatus.KAFKA_UNREACHABLE, run(err, "--throw", "timeout"), "found along the causes");
        assertEquals(ExitStatus.PERMISSION, run(err, "--throw", "permission"));
        assertEquals(ExitStatus.FAILURE, run(err, "--throw", "io"));
        assertEquals(ExitStatus.USAGE, run(err, "--no-such-option"));
        assertEquals(ExitStatus.FAILURE, run(err, "--throw", "bug"));
    }

    @Test
    void aFailureIsOneLineNamedByTheCommandAndABugKeepsItsStackTrace() {
        StringWriter err = new StringWriter();
        run(err, "--throw", "io");
        assertEquals("probe: disk full", err.toString().strip());
        StringWriter bug = new StringWriter();
        run(bug, "--throw", "bug");
        assertTrue(bug.toString().startsWith("probe: java.lang.NullPointerException"), bug.toString());
        assertTrue(bug.toString().contains("at dev.stackstream.command.ExitStatusTest$Probe.call"), bug.toString());
    }

    @Test
    void errnoRows() {
        assertEquals(ExitStatus.PERMISSION, ExitStatus.forErrno(13));
        assertEquals(ExitStatus.TARGET_MISSING, ExitStatus.forErrno(3));
        assertEquals(ExitStatus.TARGET_MISSING, ExitStatus.forErrno(2));
        assertEquals(ExitStatus.FAILURE, ExitStatus.forErrno(24));
    }
}
