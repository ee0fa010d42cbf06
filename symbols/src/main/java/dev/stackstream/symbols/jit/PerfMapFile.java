package dev.stackstream.symbols.jit;

import dev.stackstream.symbols.Ticker;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.function.BiConsumer;

/**
 * The perf map of one process, reloaded when it changes. The file is looked for where the
 * process sees it: {@code /proc/PID/root/tmp/perf-<NSPID>.map}, where NSPID is the pid inside the
 * process's own pid namespace (last field of NSpid in /proc/PID/status); for a process in our own
 * namespaces that is simply /tmp/perf-PID.map. At most every {@code refreshNanos} its size and
 * mtime are compared with the loaded copy and it is re-read when either changed (maps grow as JIT
 * code is added, and jcmd rewrites them).
 */
public final class PerfMapFile {
    private final Path path;
    private final long refreshNanos;
    private final Ticker ticker;
    private final BiConsumer<String, String> warn;
    private volatile PerfMap map;
    private volatile long checkedNanos;
    private volatile boolean checkedOnce;
    private long loadedSize = -1;
    private long loadedMtime = -1;

    /**
     * @param ticker the time refreshNanos is measured in
     * @param warn receives (cause, message) for unreadable maps and malformed lines
     */
    public PerfMapFile(Path path, long refreshNanos, Ticker ticker, BiConsumer<String, String> warn) {
        this.path = path;
        this.refreshNanos = refreshNanos;
        this.ticker = ticker;
        this.warn = warn;
    }

    /** Where the perf map of pid is, seen from this process. */
    public static Path locate(Path procRoot, int pid) {
        int nspid = nsPid(procRoot, pid);
        return procRoot.resolve(Integer.toString(pid)).resolve("root").resolve("tmp")
                .resolve("perf-" + nspid + ".map");
    }

    /** The innermost pid of pid (NSpid's last field), or pid itself when status has no NSpid. */
    public static int nsPid(Path procRoot, int pid) {
        try {
            for (String line : Files.readAllLines(procRoot.resolve(Integer.toString(pid)).resolve("status"))) {
                if (line.startsWith("NSpid:")) {
                    String[] f = line.substring(6).trim().split("\\s+");
                    return Integer.parseInt(f[f.length - 1]);
                }
            }
        } catch (IOException | NumberFormatException | ArrayIndexOutOfBoundsException e) {
            // Kernels before 4.1 have no NSpid; the process may also have exited.
        }
        return pid;
    }

    public Path path() {
        return path;
    }

    /** The current map (reloaded if due and changed), or null when there is none. */
    public PerfMap current() {
        long now = ticker.nanos();
        if (!checkedOnce || now - checkedNanos >= refreshNanos) {
            synchronized (this) {
                if (!checkedOnce || now - checkedNanos >= refreshNanos) {
                    refresh();
                    checkedNanos = now;
                    checkedOnce = true;
                }
            }
        }
        return map;
    }

    /** Forces the next {@link #current()} to check the file. */
    public void invalidate() {
        checkedOnce = false;
    }

    private void refresh() {
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            long size = a.size();
            long mtime = a.lastModifiedTime().toMillis();
            if (size == loadedSize && mtime == loadedMtime && map != null) {
                return;
            }
            PerfMap parsed;
            try (InputStream in = Files.newInputStream(path)) {
                parsed = PerfMap.parse(in);
            }
            if (parsed.badLines() > 0) {
                warn.accept("perf-map-bad-line", parsed.badLines() + " malformed line(s) in " + path
                        + " skipped (expected 'START SIZE name', hex, 0x optional)");
            }
            map = parsed;
            loadedSize = size;
            loadedMtime = mtime;
        } catch (NoSuchFileException e) {
            map = null;
        } catch (IOException | RuntimeException e) {
            warn.accept("perf-map-unreadable", "cannot read " + path + ": " + e);
        }
    }
}
