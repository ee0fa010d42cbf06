package dev.stackstream.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the demo's bundled workload, the native build's {@code calltree} fixture (main→a→b burns
 * ≈70 % of its CPU, main→c ≈30 %; built with frame pointers and symbols).
 */
final class Workload {
    static final String FIXTURE = "fixtures/calltree";

    private Workload() {
    }

    /**
     * The given program, else calltree under the system property {@code stackstream.native.dir},
     * next to the launcher's jar ({@code cli/target/../../native/target/native}), or under the
     * working directory.
     *
     * @throws IllegalStateException naming the places looked at and how to build the fixture
     */
    static Path find(Path given) {
        if (given != null) {
            if (!Files.isExecutable(given)) {
                throw new IllegalStateException("--workload " + given + " is not an executable file");
            }
            return given;
        }
        List<Path> candidates = new ArrayList<>();
        String nativeDir = System.getProperty("stackstream.native.dir");
        if (nativeDir != null) {
            candidates.add(Path.of(nativeDir, FIXTURE));
        }
        try {
            Path jar = Path.of(Workload.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // cli/target/stackstream-cli.jar (or cli/target/classes) -> repository root
            Path root = jar.getParent() == null ? null : jar.getParent().getParent();
            if (root != null && root.getParent() != null) {
                candidates.add(root.getParent().resolve("native/target/native").resolve(FIXTURE));
            }
        } catch (Exception | LinkageError e) {
            // No code source (unusual class loader): the other places still count.
        }
        candidates.add(Path.of("native/target/native").resolve(FIXTURE).toAbsolutePath());
        for (Path c : candidates) {
            if (Files.isExecutable(c)) {
                return c.normalize();
            }
        }
        throw new IllegalStateException("the demo workload (calltree) was not found; looked at " + candidates
                + ". Build it with `./stackstream build` (or `make -C native`), or name a program with --workload.");
    }
}
