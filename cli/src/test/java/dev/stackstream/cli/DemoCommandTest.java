package dev.stackstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.command.ExitStatus;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The demo's setup errors: clear messages and their exit statuses, before anything is started. */
class DemoCommandTest {

    private static String run(int expectedExit, String... args) {
        StringWriter out = new StringWriter();
        CommandLine cl = ExitStatus.install(new CommandLine(new DemoCommand()));
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(out, true));
        assertEquals(expectedExit, cl.execute(args), out.toString());
        return out.toString();
    }

    @Test
    void aMissingWorkloadIsNamedWithTheFix(@TempDir Path dir) {
        String out = run(ExitStatus.TARGET_MISSING, "--workload", dir.resolve("nope").toString(), "--no-serve");
        assertTrue(out.contains("--workload " + dir.resolve("nope") + " is not an executable file"), out);
    }

    @Test
    void theBundledWorkloadIsFoundInTheNativeBuild() {
        Path found = Workload.find(null);
        assertTrue(Files.isExecutable(found), found.toString());
        assertTrue(found.endsWith(Path.of("fixtures", "calltree")), found.toString());
    }

    @Test
    void badDurationIsAUsageError() {
        String out = run(ExitStatus.USAGE, "--duration", "0", "--no-serve");
        assertTrue(out.contains("--duration must be >= 1"), out);
    }
}
