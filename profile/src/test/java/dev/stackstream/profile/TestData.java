package dev.stackstream.profile;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the shared test data lives (system property stackstream.shared.dir, set by surefire). */
public final class TestData {
    private TestData() {
    }

    public static Path sharedDir() {
        String dir = System.getProperty("stackstream.shared.dir");
        Path p = dir != null ? Path.of(dir) : Path.of("..", "..", "shared");
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("shared test data not found at " + p.toAbsolutePath()
                    + " (set -Dstackstream.shared.dir)");
        }
        return p;
    }

    public static Path perfScriptDir() {
        return sharedDir().resolve("data").resolve("perf-script");
    }
}
