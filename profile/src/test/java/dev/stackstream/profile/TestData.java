package dev.stackstream.profile;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the test recordings live: {@code perf-script/} on the test class path (this module's
 * {@code src/test/resources/perf-script}, see its NOTICE). Nothing outside the checkout is read; a
 * missing directory fails the test that needs it rather than skipping it, so lost coverage shows.
 */
public final class TestData {
    private static final String PERF_SCRIPT = "/perf-script";

    private TestData() {
    }

    /** The {@code perf script} recordings, with their reference collapsed outputs under {@code results/}. */
    public static Path perfScriptDir() {
        URL url = TestData.class.getResource(PERF_SCRIPT);
        if (url == null || !"file".equals(url.getProtocol())) {
            throw new IllegalStateException("test data not found: " + PERF_SCRIPT + " is not a directory on the"
                    + " test class path (expected profile/src/test/resources" + PERF_SCRIPT + ")");
        }
        try {
            Path dir = Path.of(url.toURI());
            if (!Files.isDirectory(dir.resolve("results"))) {
                throw new IllegalStateException("test data not found at " + dir + ": no results/ directory");
            }
            return dir;
        } catch (URISyntaxException e) {
            throw new IllegalStateException("test data location is not a path: " + url, e);
        }
    }
}
