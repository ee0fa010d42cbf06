package dev.stackstream.symbols.jit;

import dev.stackstream.symbols.Ticker;
import dev.stackstream.symbols.proc.TargetFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The perf map of one process, read as it grows.
 *
 * <p><b>Where.</b> Where the process sees it: {@code /tmp/perf-<NSPID>.map} inside
 * {@code /proc/PID/root}, NSPID being the pid inside the process's own pid namespace (last field of
 * NSpid in /proc/PID/status). It is opened through {@link TargetFiles}: resolved inside the target's
 * root (a symlink cannot lead out of it), regular files only (a FIFO is refused, never waited on),
 * and only when owned by the target's own uid — what perf checks too — so a link to a file only the
 * collector may read is not read. The open file is kept: a process that has exited (or is a zombie,
 * whose root cannot be reached any more) still has its map read to the end. When its root could not
 * be reached when the map was first needed, the map is looked for in the collector's own view
 * ({@code /tmp/perf-PID.map}) if the process is in the collector's pid namespace and its uid is
 * still known (a zombie's status has it); otherwise it stays unread.
 *
 * <p><b>When.</b> At most every {@code refreshNanos} the file is re-checked: a new file (another
 * inode) is read from the start; a file that grew has only its new lines read (perf maps are
 * appended to as code is compiled); a file that shrank or was rewritten ({@link #rewritten()}, the
 * JVM's Compiler.perfmap) is read whole. An address the map does not name asks {@link #grown()},
 * which re-reads new lines at once (at most every {@link #MISS_RECHECK_NANOS}): code is written to
 * the map before it runs, so a sample in it is named by the map as it is now, not as it was at the
 * last periodic check.
 *
 * <p><b>Bounds.</b> At most {@code maxBytes} of a file are read (further lines are ignored, with a
 * warning) and a line longer than {@code maxLine} is skipped without being buffered
 * ({@link PerfMapLines}).
 */
public final class PerfMapFile implements AutoCloseable {
    /** A miss re-checks the file for new lines at most this often. */
    public static final long MISS_RECHECK_NANOS = 10_000_000L;
    private static final int CHUNK = 1 << 16;

    /**
     * Bounds of reading one map.
     *
     * @param maxBytes bytes of one file read at most
     * @param maxLine longest line accepted
     */
    public record Limits(long maxBytes, int maxLine) {
        public static final Limits DEFAULT = new Limits(16L << 20, PerfMapLines.DEFAULT_MAX_LINE);

        public Limits {
            if (maxBytes <= 0 || maxLine < 16) {
                throw new IllegalArgumentException("perf map limits must be positive (maxLine >= 16): "
                        + maxBytes + ", " + maxLine);
            }
        }
    }

    private final Path root;
    private final String path;
    private final Path fallbackRoot;
    private final Set<Integer> owners;
    private final long refreshNanos;
    private final Ticker ticker;
    private final Limits limits;
    private final BiConsumer<String, String> warn;

    private volatile PerfMap map;
    private volatile long checkedNanos;
    private volatile boolean checkedOnce;
    private long missCheckedNanos;
    private TargetFiles.OpenedFile opened;
    private FileChannel channel;
    private Object identity;
    private long position;
    private long mtime;
    private boolean insideLongLine;
    private boolean rewritten;
    private boolean tooLargeWarned;

    /**
     * A perf map at {@code path} inside {@code root}.
     *
     * @param fallbackRoot where to look when root cannot be reached (the process is gone), or null
     * @param owners uids the file may be owned by; empty: any
     * @param warn receives (cause, message) for unreadable maps and malformed lines
     */
    public PerfMapFile(Path root, String path, Path fallbackRoot, Set<Integer> owners, long refreshNanos,
                       Ticker ticker, Limits limits, BiConsumer<String, String> warn) {
        this.root = root;
        this.path = path;
        this.fallbackRoot = fallbackRoot;
        this.owners = Set.copyOf(owners);
        this.refreshNanos = refreshNanos;
        this.ticker = ticker;
        this.limits = limits;
        this.warn = warn;
    }

    /** A map file in the collector's own view, any owner, default limits. */
    public PerfMapFile(Path file, long refreshNanos, Ticker ticker, BiConsumer<String, String> warn) {
        this(Path.of("/"), file.toAbsolutePath().toString(), null, Set.of(), refreshNanos, ticker, Limits.DEFAULT,
                warn);
    }

    /** The perf map of process pid (see the class comment for where it is looked for). */
    public static PerfMapFile ofProcess(Path procRoot, int pid, long refreshNanos, Ticker ticker, Limits limits,
                                        BiConsumer<String, String> warn) {
        int nspid = nsPid(procRoot, pid);
        Set<Integer> owners = uids(procRoot, pid);
        // Our own view only for a process of our pid namespace whose user is still known (a
        // zombie's status is readable): the owner check is what keeps a planted file out.
        Path fallback = nspid == pid && !owners.isEmpty() ? Path.of("/") : null;
        return new PerfMapFile(procRoot.resolve(Integer.toString(pid)).resolve("root"), "/tmp/perf-" + nspid + ".map",
                fallback, owners, refreshNanos, ticker, limits, warn);
    }

    /** Where the perf map of pid is, seen from this process. */
    public static Path locate(Path procRoot, int pid) {
        int nspid = nsPid(procRoot, pid);
        return procRoot.resolve(Integer.toString(pid)).resolve("root").resolve("tmp")
                .resolve("perf-" + nspid + ".map");
    }

    /** The innermost pid of pid (NSpid's last field), or pid itself when status has no NSpid. */
    public static int nsPid(Path procRoot, int pid) {
        String v = statusField(procRoot, pid, "NSpid:");
        if (v != null) {
            try {
                String[] f = v.split("\\s+");
                return Integer.parseInt(f[f.length - 1]);
            } catch (NumberFormatException e) {
                // fall through
            }
        }
        return pid; // kernels before 4.1 have no NSpid; the process may also have exited
    }

    /** Real and effective uid of pid (a zombie's status still has them); empty when gone. */
    static Set<Integer> uids(Path procRoot, int pid) {
        String v = statusField(procRoot, pid, "Uid:");
        if (v == null) {
            return Set.of();
        }
        try {
            String[] f = v.split("\\s+");
            return Set.copyOf(java.util.List.of(Integer.parseInt(f[0]), Integer.parseInt(f[1])));
        } catch (RuntimeException e) {
            return Set.of();
        }
    }

    private static String statusField(Path procRoot, int pid, String name) {
        try {
            for (String line : Files.readAllLines(procRoot.resolve(Integer.toString(pid)).resolve("status"))) {
                if (line.startsWith(name)) {
                    return line.substring(name.length()).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone
        }
        return null;
    }

    /** The file's name as perf shows it as a module ({@code perf-NSPID.map}). */
    public String fileName() {
        return Path.of(path).getFileName().toString();
    }

    /** The current map (re-checked if due), or null when there is no readable map. */
    public PerfMap current() {
        long now = ticker.nanos();
        if (!checkedOnce || now - checkedNanos >= refreshNanos) {
            synchronized (this) {
                if (!checkedOnce || now - checkedNanos >= refreshNanos) {
                    check(true);
                    checkedNanos = now;
                    missCheckedNanos = now;
                    checkedOnce = true;
                }
            }
        }
        return map;
    }

    /**
     * The map with any lines added since it was read (an address it did not name may be code
     * written to it since); at most every {@link #MISS_RECHECK_NANOS}, else the current map.
     */
    public PerfMap grown() {
        long now = ticker.nanos();
        synchronized (this) {
            if (now - missCheckedNanos >= MISS_RECHECK_NANOS) {
                missCheckedNanos = now;
                check(channel == null);
            }
        }
        return map;
    }

    /** Forces the next {@link #current()} to check the file. */
    public void invalidate() {
        checkedOnce = false;
    }

    /** The writer rewrote the file in place (JVM Compiler.perfmap): the next check reads it whole. */
    public synchronized void rewritten() {
        rewritten = true;
        checkedOnce = false;
    }

    private void check(boolean resolve) {
        if (resolve) {
            resolve();
        }
        if (channel == null) {
            return;
        }
        try {
            long size = channel.size();
            long modified = Files.getLastModifiedTime(opened.path()).toMillis();
            if (rewritten || size < position || (size == position && modified != mtime) || (!insideLongLine && !endsLine(position))) {
                position = 0;
                insideLongLine = false;
                map = PerfMap.EMPTY;
                rewritten = false;
            }
            mtime = modified;
            readFrom(size);
        } catch (IOException | RuntimeException e) {
            warn.accept("perf-map-unreadable", "cannot read " + where() + ": " + e);
        }
    }

    /** Opens the file (again) where it is now; a different file than the one held replaces it. */
    private void resolve() {
        Path r = Files.isDirectory(root) ? root : channel == null ? fallbackRoot : null;
        if (r == null) {
            if (channel == null) {
                map = null;
            }
            return; // the process is gone: keep reading the file held
        }
        TargetFiles.OpenedFile f = null;
        try {
            f = TargetFiles.openInRoot(r, path);
            Map<String, Object> a = Files.readAttributes(f.path(), "unix:dev,ino,uid");
            int uid = ((Number) a.get("uid")).intValue();
            if (!owners.isEmpty() && !owners.contains(uid)) {
                throw new TargetFiles.RefusedException(where() + " is owned by uid " + uid + ", not by the process (uids " + owners
                        + "); refused, as perf does");
            }
            Object id = a.get("dev") + ":" + a.get("ino");
            if (id.equals(identity)) {
                return;
            }
            closeHeld();
            channel = FileChannel.open(f.path(), StandardOpenOption.READ);
            opened = f;
            f = null;
            identity = id;
            position = 0;
            mtime = -1;
            insideLongLine = false;
            map = PerfMap.EMPTY;
        } catch (NoSuchFileException e) {
            if (channel == null) {
                map = null;
            }
        } catch (TargetFiles.RefusedException e) {
            warn.accept("perf-map-refused", e.getMessage());
            if (channel == null) {
                map = null;
            }
        } catch (IOException | RuntimeException e) {
            warn.accept("perf-map-unreadable", "cannot read " + where() + ": " + e.getMessage());
            if (channel == null) {
                map = null;
            }
        } finally {
            if (f != null) {
                f.close();
            }
        }
    }

    /** True when the byte before pos is a newline (the file still continues where we stopped). */
    private boolean endsLine(long pos) throws IOException {
        if (pos == 0) {
            return true;
        }
        ByteBuffer one = ByteBuffer.allocate(1);
        return channel.read(one, pos - 1) == 1 && one.get(0) == '\n';
    }

    private void readFrom(long size) throws IOException {
        long limit = Math.min(size, limits.maxBytes());
        if (size > limits.maxBytes() && !tooLargeWarned) {
            tooLargeWarned = true;
            warn.accept("perf-map-too-large", where() + " is " + size + " bytes; only the first " + limits.maxBytes()
                    + " are read (raise the perf-map size bound to name the rest)");
        }
        if (limit <= position) {
            return;
        }
        PerfMapLines lines = new PerfMapLines(limits.maxLine(), insideLongLine);
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK, limit - position));
        long at = position;
        while (at < limit) {
            buf.clear();
            buf.limit((int) Math.min(buf.capacity(), limit - at));
            int n = channel.read(buf, at);
            if (n <= 0) {
                break;
            }
            lines.feed(buf.array(), 0, n);
            at += n;
        }
        if (lines.skipping()) {
            position += lines.fedBytes(); // inside an over-long line: skip it, resume skipping
            insideLongLine = true;
        } else {
            position += lines.completeBytes(); // a partial last line is read again once complete
            insideLongLine = false;
        }
        if (lines.badLines() > 0) {
            warn.accept("perf-map-bad-line", lines.badLines() + " malformed or over-long line(s) in " + where()
                    + " skipped (expected 'START SIZE name', hex, 0x optional, at most " + limits.maxLine()
                    + " bytes)");
        }
        PerfMap old = map == null ? PerfMap.EMPTY : map;
        map = old.appended(lines);
    }

    private String where() {
        return root.toString().equals("/") ? path : root + path;
    }

    private void closeHeld() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // read-only
            }
            channel = null;
        }
        if (opened != null) {
            opened.close();
            opened = null;
        }
        identity = null;
    }

    /** Releases the file held open. */
    @Override
    public synchronized void close() {
        closeHeld();
    }
}
