package dev.stackstream.symbols.proc;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens files named by a target process — its binaries, its perf map, debug files next to them —
 * without letting the target choose what the collector (often root) opens.
 *
 * <ul>
 *   <li><b>Inside the target's root.</b> A path is resolved under a root directory (the target's
 *   {@code /proc/PID/root}, or {@code /} for the collector's own view) with {@code openat2(2)} and
 *   {@code RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS}: an absolute symlink or {@code ..} planted by the
 *   target stays inside the target's root, and {@code /proc/self/...}-style magic links are refused.
 *   Without openat2 (kernels before 5.6, or a seccomp filter refusing it) every component is opened
 *   with {@code O_NOFOLLOW} from its parent and any symlink or {@code ..} is refused.</li>
 *   <li><b>Regular files only, never blocking.</b> Files are opened {@code O_NONBLOCK | O_NOCTTY}
 *   (opening a FIFO with nobody writing to it returns at once instead of blocking forever) and
 *   refused unless the opened file itself is a regular file (checked through the descriptor, so
 *   nothing can be swapped in between).</li>
 * </ul>
 *
 * <p>The opened file is handed on as {@code /proc/self/fd/N}: Java's own file APIs open that path
 * and get the very file checked here (a regular file re-opened through its descriptor link).
 */
public final class TargetFiles {
    private static final long SYS_OPENAT2 = 437; // same number on x86-64 and aarch64
    private static final int O_RDONLY = 0;
    private static final int O_WRONLY = 1;
    private static final int O_CREAT = 0x40;
    private static final int O_EXCL = 0x80;
    private static final int EEXIST = 17;
    private static final int O_NOCTTY = 0x100;
    private static final int O_NONBLOCK = 0x800;
    private static final int O_CLOEXEC = 0x80000;
    private static final int O_PATH = 0x200000;
    private static final int O_DIRECTORY = Platform.isARM() ? 0x4000 : 0x10000;
    private static final int O_NOFOLLOW = Platform.isARM() ? 0x8000 : 0x20000;
    private static final long RESOLVE_NO_MAGICLINKS = 0x02;
    private static final long RESOLVE_IN_ROOT = 0x10;
    private static final int ENOSYS = 38;
    private static final int EPERM = 1;
    private static final int E2BIG = 7;

    /** Flags for opening a file to read it: never blocks on a FIFO or a device, never a tty. */
    public static final int READ = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    /** Flags for a handle that only names a file (a socket to connect to). */
    public static final int PATH = O_PATH | O_CLOEXEC;

    interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int open(String path, int flags) throws LastErrorException;

        int openat(int dirfd, String path, int flags, int mode) throws LastErrorException;

        long syscall(long number, Object... args) throws LastErrorException;

        int close(int fd) throws LastErrorException;

        int unlinkat(int dirfd, String name, int flags) throws LastErrorException;
    }

    private static volatile boolean openat2Missing;

    private TargetFiles() {
    }

    /** What kind of file {@link #openInRoot} must find. */
    public enum Kind {
        REGULAR, SOCKET
    }

    /**
     * Opens {@code path} (absolute, as the target sees it) under {@code root} for reading: a regular
     * file, resolved without leaving root.
     *
     * @throws IOException naming the path and why (missing, a symlink escaping the root or refused,
     *     not a regular file, permission)
     */
    public static OpenedFile openInRoot(Path root, String path) throws IOException {
        return openInRoot(root, path, READ, Kind.REGULAR);
    }

    /** As {@link #openInRoot(Path, String)} with explicit open flags and the kind of file required. */
    public static OpenedFile openInRoot(Path root, String path, int flags, Kind kind) throws IOException {
        String rel = relative(path);
        int rootFd = open(root.toString(), O_PATH | O_DIRECTORY | O_CLOEXEC, root.toString());
        try {
            int fd = openat2Missing ? -1 : openat2(rootFd, rel, flags, path);
            if (fd < 0) {
                fd = walk(rootFd, rel, flags, path);
            }
            return checked(fd, path, kind);
        } finally {
            close(rootFd);
        }
    }

    /**
     * Opens a path the collector itself chose (a /proc/PID/map_files link, a debug directory of its
     * own configuration) for reading: links are followed, but only a regular file is accepted and
     * opening never blocks.
     */
    public static OpenedFile openTrusted(Path path) throws IOException {
        return checked(open(path.toString(), READ, path.toString()), path.toString(), Kind.REGULAR);
    }

    /**
     * Creates an empty file {@code dir/name} inside root, mode 0600, only if nothing of that name
     * exists (O_CREAT | O_EXCL: a symlink planted there is not followed). True when created, false
     * when something already exists under the name.
     */
    public static boolean createInRoot(Path root, String dir, String name) throws IOException {
        if (name.contains("/") || name.equals("..") || name.equals(".")) {
            throw new IOException("not a file name: " + name);
        }
        try (DirHandle d = DirHandle.open(root, dir)) {
            int fd;
            try {
                fd = LibC.INSTANCE.openat(d.fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == EEXIST) {
                    return false;
                }
                throw failure(dir + "/" + name, e.getErrorCode());
            }
            close(fd);
            return true;
        }
    }

    /** Removes the file {@code dir/name} inside root (a symlink itself, never its target). */
    public static void deleteInRoot(Path root, String dir, String name) throws IOException {
        try (DirHandle d = DirHandle.open(root, dir)) {
            try {
                LibC.INSTANCE.unlinkat(d.fd, name, 0);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != 2) {
                    throw failure(dir + "/" + name, e.getErrorCode());
                }
            }
        }
    }

    /** A directory inside root, opened O_PATH to create or remove names in it. */
    private record DirHandle(int fd) implements AutoCloseable {
        static DirHandle open(Path root, String dir) throws IOException {
            String rel = relative(dir);
            int rootFd = TargetFiles.open(root.toString(), O_PATH | O_DIRECTORY | O_CLOEXEC, root.toString());
            try {
                int flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
                int fd = openat2Missing ? -1 : openat2(rootFd, rel, flags, dir);
                return new DirHandle(fd >= 0 ? fd : walk(rootFd, rel, flags, dir));
            } finally {
                TargetFiles.close(rootFd);
            }
        }

        @Override
        public void close() {
            TargetFiles.close(fd);
        }
    }

    private static String relative(String path) throws IOException {
        if (path == null || !path.startsWith("/") || path.indexOf('\0') >= 0) {
            throw new IOException("not an absolute path: " + path);
        }
        String rel = path.replaceFirst("^/+", "");
        return rel.isEmpty() ? "." : rel;
    }

    private static int openat2(int rootFd, String rel, int flags, String display) throws IOException {
        Memory how = new Memory(24); // struct open_how { u64 flags; u64 mode; u64 resolve; }
        how.setLong(0, flags & 0xffffffffL);
        how.setLong(8, 0);
        how.setLong(16, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        try {
            return (int) LibC.INSTANCE.syscall(SYS_OPENAT2, (long) rootFd, rel, how, 24L);
        } catch (LastErrorException e) {
            int code = e.getErrorCode();
            if (code == ENOSYS || code == EPERM || code == E2BIG) {
                openat2Missing = true; // old kernel or a seccomp filter: walk components instead
                return -1;
            }
            throw failure(display, code);
        }
    }

    /** Component by component from root, refusing symlinks, "." tricks and "..". */
    private static int walk(int rootFd, String rel, int flags, String display) throws IOException {
        String[] parts = rel.split("/+");
        int dir = -1;
        try {
            int at = rootFd;
            for (int i = 0; i < parts.length; i++) {
                String c = parts[i];
                if (c.equals("..")) {
                    throw new RefusedException(display + ": '..' refused (it could leave the target's root)");
                }
                boolean last = i == parts.length - 1;
                int f = last ? flags | O_NOFOLLOW : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
                int fd;
                try {
                    fd = LibC.INSTANCE.openat(at, c, f, 0);
                } catch (LastErrorException e) {
                    int code = e.getErrorCode();
                    throw code == 40 || (code == 20 && !last) // ELOOP, ENOTDIR: a symlink
                            ? new RefusedException(display + ": symlink at '" + c + "' refused (no openat2 here to"
                            + " resolve it inside the target's root)")
                            : failure(display, code);
                }
                if (dir >= 0) {
                    close(dir);
                }
                dir = fd;
                at = fd;
            }
            int result = dir;
            dir = -1;
            return result;
        } finally {
            if (dir >= 0) {
                close(dir);
            }
        }
    }

    private static OpenedFile checked(int fd, String display, Kind kind) throws IOException {
        OpenedFile f = new OpenedFile(fd, display);
        boolean ok = false;
        try {
            Path p = f.path();
            boolean right = kind == Kind.REGULAR ? Files.isRegularFile(p)
                    : "SOCKET".equals(fileType(p));
            if (!right) {
                throw new RefusedException(display + " is not a " + (kind == Kind.REGULAR ? "regular file" : "socket")
                        + " (" + fileType(p) + "); refused");
            }
            ok = true;
            return f;
        } finally {
            if (!ok) {
                f.close();
            }
        }
    }

    private static String fileType(Path p) {
        try {
            int mode = ((Number) Files.getAttribute(p, "unix:mode")).intValue() & 0xf000;
            return switch (mode) {
                case 0x8000 -> "REGULAR";
                case 0x4000 -> "DIRECTORY";
                case 0xc000 -> "SOCKET";
                case 0x1000 -> "FIFO";
                case 0x2000 -> "CHARACTER DEVICE";
                case 0x6000 -> "BLOCK DEVICE";
                case 0xa000 -> "SYMLINK";
                default -> "mode " + Integer.toOctalString(mode);
            };
        } catch (IOException | RuntimeException e) {
            return "unknown type";
        }
    }

    private static int open(String path, int flags, String display) throws IOException {
        try {
            return LibC.INSTANCE.open(path, flags);
        } catch (LastErrorException e) {
            throw failure(display, e.getErrorCode());
        }
    }

    static void close(int fd) {
        try {
            LibC.INSTANCE.close(fd);
        } catch (LastErrorException ignored) {
            // nothing to do about a failed close of a read-only descriptor
        }
    }

    private static IOException failure(String display, int errno) {
        String why = switch (errno) {
            case 2 -> "no such file";
            case 13 -> "permission denied";
            case 18 -> "a symlink leads out of the target's root (EXDEV); refused";
            case 20 -> "a path component is not a directory";
            case 40 -> "a symlink loop or a refused magic link (ELOOP)";
            default -> "errno " + errno;
        };
        if (errno == 2) {
            return new java.nio.file.NoSuchFileException(display);
        }
        return errno == 40 ? new RefusedException(display + ": " + why) : new IOException(display + ": " + why);
    }

    /**
     * A file refused for what it is, not for an I/O error: not a regular file (a FIFO, a device), a
     * symlink that cannot be followed safely, a file of the wrong owner.
     */
    public static final class RefusedException extends IOException {
        public RefusedException(String message) {
            super(message);
        }
    }

    /** An open descriptor of a checked file; {@link #path()} names it for Java's file APIs. */
    public static final class OpenedFile implements AutoCloseable {
        private final int fd;
        private final String display;
        private boolean closed;

        OpenedFile(int fd, String display) {
            this.fd = fd;
            this.display = display;
        }

        /** {@code /proc/self/fd/N}: opening it opens this very file. */
        public Path path() {
            return Path.of("/proc/self/fd/" + fd);
        }

        /** The path the file was asked for by (for messages). */
        public String display() {
            return display;
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                TargetFiles.close(fd);
            }
        }
    }
}
