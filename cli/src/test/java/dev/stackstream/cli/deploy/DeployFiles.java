package dev.stackstream.cli.deploy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Locates deploy/ in the checkout and runs external tools the deploy tests use. */
final class DeployFiles {
    private DeployFiles() {
    }

    /** The repository root: the parent of the cli module (surefire's working directory). */
    static Path root() {
        Path cwd = Path.of("").toAbsolutePath();
        for (Path p = cwd; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("deploy")) && Files.isRegularFile(p.resolve("pom.xml"))) {
                return p;
            }
        }
        throw new IllegalStateException("no deploy/ directory above " + cwd);
    }

    static Path deploy() {
        return root().resolve("deploy");
    }

    /** This module's build directory (cli/target), for tool installs and scratch files. */
    static Path target() throws IOException {
        Path t = root().resolve("cli").resolve("target");
        Files.createDirectories(t);
        return t;
    }

    /** Exit status and combined output of a finished command. */
    record Result(int exit, String output) {
    }

    static Result run(Path dir, long timeoutSeconds, List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        // Read while it runs: a full pipe would block the child.
        byte[][] out = new byte[1][];
        Thread reader = new Thread(() -> {
            try {
                out[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                out[0] = ("(reading output failed: " + e + ")").getBytes(StandardCharsets.UTF_8);
            }
        });
        reader.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            reader.join(5000);
            throw new AssertionError(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
        }
        reader.join();
        return new Result(p.exitValue(), new String(out[0], StandardCharsets.UTF_8));
    }

    static void requireExecutable(String path, String install) {
        assertTrue(Files.isExecutable(Path.of(path)), path + " not found: " + install);
    }
}
