package dev.stackstream.collector.sidecar;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;

import dev.stackstream.command.ExitStatus;
import org.junit.jupiter.api.Test;

class CollectorMainTest {

    @Test
    void argsWrittenForTheFullCliRunUnchanged() {
        assertArrayEquals(new String[] {"--pid", "1"}, CollectorMain.withoutCommandName(new String[] {"collector", "--pid", "1"}));
        assertArrayEquals(new String[] {"--pid", "1"}, CollectorMain.withoutCommandName(new String[] {"--pid", "1"}));
        assertArrayEquals(new String[0], CollectorMain.withoutCommandName(new String[0]));
    }

    @Test
    void helpNamesTheCommandAsUsersTypeIt() {
        StringWriter out = new StringWriter();
        var cl = CollectorMain.commandLine();
        cl.setOut(new PrintWriter(out));
        assertEquals(0, cl.execute("--help"));
        assertTrue(out.toString().startsWith("Usage: stackstream collector"), out.toString());
    }

    @Test
    void aMissingTargetIsAUsageError() {
        var cl = CollectorMain.commandLine();
        cl.setErr(new PrintWriter(new StringWriter()));
        assertEquals(ExitStatus.USAGE, cl.execute("--service", "x", "--bootstrap-servers", "localhost:1"));
    }
}
