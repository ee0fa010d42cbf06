package dev.stackstream.collector.sidecar;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Finds processes whose command line matches a regular expression among those visible in this
 * PID namespace (/proc). The command line is argv joined by spaces; kernel threads (empty
 * cmdline) and this JVM never match.
 */
final class ProcScanner {
    private final Path proc;
    private final Pattern pattern;
    private final long self = ProcessHandle.current().pid();

    ProcScanner(Path proc, Pattern pattern) {
        this.proc = proc;
        this.pattern = pattern;
    }

    /** A matching process. */
    record Match(int pid, String cmdline, String comm) {
    }

    List<Match> scan() {
        List<Match> out = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(proc)) {
            for (Path dir : dirs) {
                String name = dir.getFileName().toString();
                if (name.isEmpty() || !Character.isDigit(name.charAt(0))) {
                    continue;
                }
                int pid;
                try {
                    pid = Integer.parseInt(name);
                } catch (NumberFormatException e) {
                    continue;
                }
                if (pid == self) {
                    continue;
                }
                String cmdline = read(dir.resolve("cmdline"));
                if (cmdline == null || cmdline.isEmpty()) {
                    continue;
                }
                if (pattern.matcher(cmdline).find()) {
                    String comm = read(dir.resolve("comm"));
                    out.add(new Match(pid, cmdline, comm == null ? "" : comm.strip()));
                }
            }
        } catch (IOException e) {
            // /proc itself unreadable: nothing visible to attach to this round.
        }
        return out;
    }

    /** NUL-separated argv as one line; null when the process is gone or unreadable. */
    private static String read(Path file) {
        try {
            byte[] b = Files.readAllBytes(file);
            int n = b.length;
            while (n > 0 && b[n - 1] == 0) {
                n--;
            }
            for (int i = 0; i < n; i++) {
                if (b[i] == 0) {
                    b[i] = ' ';
                }
            }
            return new String(b, 0, n, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
    }
}
