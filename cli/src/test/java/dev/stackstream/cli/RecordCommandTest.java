package dev.stackstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.render.Renderer;
import dev.stackstream.profile.render.Renderers;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `stackstream record` end to end: real perf events on the native fixtures, real files. */
class RecordCommandTest {

    private record Run(int exit, String out, String err) { }

    private static Run record(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new RecordCommand());
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    private static String fixture(String name) {
        Path p = Path.of(System.getProperty("stackstream.native.dir", "../native/target/native"), "fixtures", name)
                .toAbsolutePath();
        assertTrue(Files.isExecutable(p), "native fixture " + p + " is not built");
        return p.toString();
    }

    /** Sum of counts of collapsed lines whose stack matches regex. */
    private static long count(List<String> collapsed, String regex) {
        Pattern p = Pattern.compile(regex);
        long n = 0;
        for (String line : collapsed) {
            int sp = line.lastIndexOf(' ');
            if (p.matcher(line.substring(0, sp)).find()) {
                n += Long.parseLong(line.substring(sp + 1));
            }
        }
        return n;
    }

    @Test
    void recordsACommandAndWritesEveryOutput(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        Run r = record("--output", out.toString(), "--service", "calltree-test", "--", fixture("calltree"), "2");
        assertEquals(0, r.exit(), r.err());

        List<String> collapsed = Files.readAllLines(out.resolve("profile.collapsed"));
        for (String line : collapsed) {
            assertTrue(line.matches("\\S.* \\d+"), "collapsed line 'frames count': " + line);
        }
        long b = count(collapsed, "(^|;)main;(.*;)?a;b$");
        long c = count(collapsed, "(^|;)main;(.*;)?c$");
        assertTrue(b + c > 1500, "samples in main..a;b and main..c: " + (b + c));
        assertEquals(70.0, 100.0 * b / (b + c), 2.0, "b vs c split in profile.collapsed");

        String json = Files.readString(out.resolve("profile.json"));
        assertTrue(json.contains("\"main\"") && json.contains("calltree-test"), "profile.json has frames and labels");

        String summary = Files.readString(out.resolve("summary.txt"));
        assertEquals(summary, r.out(), "the summary is printed");
        assertTrue(summary.contains("calltree"), "per-thread split names the thread: " + summary);
        Matcher m = Pattern.compile("(?i)samples\\D{0,40}?(\\d[\\d,]*)").matcher(summary);
        assertTrue(m.find(), "summary reports the sample count: " + summary);

        for (Renderer renderer : Renderers.all()) {
            Path f = out.resolve(renderer.defaultFileName());
            assertTrue(Files.size(f) > 0, renderer.format() + " written to " + f);
        }
    }

    @Test
    void followsChildProcesses(@TempDir Path dir) throws Exception {
        Run r = record("--output", dir.toString(), "--no-per-thread", "--", "sh", "-c", fixture("calltree") + " 1; true");
        assertEquals(0, r.exit(), r.err());
        List<String> collapsed = Files.readAllLines(dir.resolve("profile.collapsed"));
        assertTrue(count(collapsed, "(^|;)main;(.*;)?a;b$") > 300, "the child's samples: " + collapsed.size() + " stacks");
    }

    @Test
    void returnsTheCommandsExitStatus(@TempDir Path dir) throws Exception {
        Run r = record("--output", dir.toString(), "--", "sh", "-c", "exit 3");
        assertEquals(3, r.exit(), r.err());
        assertTrue(Files.exists(dir.resolve("summary.txt")), "outputs are written for a failing command too");
    }

    @Test
    void aMissingPidIsAProfilingFailureWithAClearMessage(@TempDir Path dir) {
        Run r = record("--output", dir.toString(), "--pid", "999999");
        assertEquals(RecordCommand.EXIT_PROFILING_FAILED, r.exit());
        assertTrue(r.err().toLowerCase().contains("no such process"), r.err());
    }

    @Test
    void aMissingCommandExitsLikeAShell(@TempDir Path dir) {
        Run r = record("--output", dir.toString(), "--", "/nonexistent/stackstream-no-such-command");
        assertEquals(127, r.exit(), r.err());
    }

    @Test
    void recordsARunningPidForADuration(@TempDir Path dir) throws Exception {
        Process p = new ProcessBuilder(fixture("calltree"), "60").inheritIO().start();
        try {
            Run r = record("--output", dir.toString(), "--duration", "1.5", "--frequency", "99",
                    "--pid", Long.toString(p.pid()));
            assertEquals(0, r.exit(), r.err());
            assertTrue(p.isAlive(), "the target keeps running after the recording");
            List<String> collapsed = Files.readAllLines(dir.resolve("profile.collapsed"));
            assertTrue(count(collapsed, "(^|;)main;") > 10, "samples of the pid: " + collapsed);
        } finally {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void usageErrors() {
        assertEquals(2, record().exit(), "neither --pid nor a command");
        assertEquals(2, record("--frequency", "0", "--", "true").exit());
        assertEquals(2, record("--duration", "-1", "--", "true").exit());
    }
}
