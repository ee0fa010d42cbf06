package dev.stackstream.profile.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.stackstream.profile.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class InputFormatTest {

    @Test
    void detectsEveryRecordingAndEveryReference() throws IOException {
        Path dir = TestData.perfScriptDir();
        try (Stream<Path> files = Files.list(dir)) {
            // the recordings; NOTICE (their licence) sits next to them
            for (Path p : files.filter(Files::isRegularFile).filter(f -> f.getFileName().toString().startsWith("perf-")
                    || f.getFileName().toString().endsWith(".gz")).toList()) {
                assertEquals(InputFormat.PERF_SCRIPT, InputFormat.detect(p), p.toString());
            }
        }
        try (Stream<Path> files = Files.list(dir.resolve("results"))) {
            for (Path p : files.toList()) {
                assertEquals(InputFormat.COLLAPSED, InputFormat.detect(p), p.toString());
            }
        }
    }

    @Test
    void parsesNames() {
        assertEquals(InputFormat.PERF_SCRIPT, InputFormat.parse("perf-script"));
        assertEquals(InputFormat.COLLAPSED, InputFormat.parse("Folded"));
        assertThrows(IllegalArgumentException.class, () -> InputFormat.parse("jfr"));
    }
}
