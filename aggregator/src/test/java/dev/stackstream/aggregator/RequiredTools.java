package dev.stackstream.aggregator;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * External programs a test runs (node, npm, chromium, promtool; `./stackstream test` installs
 * them). Missing under CI=true the test fails, so CI cannot pass by skipping it; elsewhere it is
 * skipped with the package to install.
 */
final class RequiredTools {
    private RequiredTools() {
    }

    /** The executable at path, or a failure (CI) / skip (elsewhere) naming what to install. */
    static Path require(String path, String install) {
        Path p = Path.of(path);
        if (!Files.isExecutable(p)) {
            String why = path + " not found: " + install;
            if ("true".equals(System.getenv("CI"))) {
                fail(why + " (CI=true: required)");
            }
            Assumptions.abort(why);
        }
        return p;
    }
}
