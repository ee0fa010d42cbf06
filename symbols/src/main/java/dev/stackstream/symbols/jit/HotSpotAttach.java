package dev.stackstream.symbols.jit;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import dev.stackstream.symbols.proc.TargetFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * HotSpot's attach protocol on Linux, spoken by the collector itself — no {@code jcmd} binary, so
 * nothing chosen by the target (or found next to it) is ever run, and nothing of the collector's
 * environment is passed anywhere.
 *
 * <p>The protocol (as the JDK's own client, {@code sun.tools.attach.VirtualMachineImpl}, speaks it):
 * <ol>
 *   <li>The JVM listens on the Unix socket {@code /tmp/.java_pid<NSPID>} (its own /tmp and its pid
 *   inside its pid namespace) once its attach listener runs.</li>
 *   <li>If the socket is not there, the client creates {@code .attach_pid<NSPID>} in the JVM's
 *   /tmp (or working directory) and sends SIGQUIT; the JVM's signal handler sees the file (owned by
 *   the JVM's uid or root) and starts the listener instead of printing a thread dump.</li>
 *   <li>The client connects and writes, each NUL-terminated: the protocol version {@code 1}, the
 *   command ({@code jcmd}) and exactly three arguments (the diagnostic command line, then two
 *   empty ones).</li>
 *   <li>The JVM replies with a decimal result code on the first line (0 = success) followed by the
 *   command's output, and closes the connection.</li>
 * </ol>
 * The JVM checks the peer's credentials: its own effective uid/gid, or root (JDK 10+).
 *
 * <p>Safety: the socket and the trigger file are resolved inside the target's root
 * ({@link TargetFiles}); the socket must be a socket and is connected to through its opened
 * descriptor, so a symlink cannot point the request at another socket of the collector's view.
 * SIGQUIT is sent only to a process that catches it (SigCgt in /proc/PID/status), since its default
 * action would kill a process that merely maps a file named libjvm.so. The whole exchange is bounded
 * by a timeout, and at most {@code maxReply} bytes of the reply are read.
 */
public final class HotSpotAttach {
    private static final int SIGQUIT = 3;
    private static final long POLL_NANOS = 20_000_000L;

    interface Signals extends Library {
        Signals INSTANCE = Native.load("c", Signals.class);

        int kill(int pid, int sig) throws LastErrorException;
    }

    /**
     * The JVM's answer.
     *
     * @param code the result code (0: the command succeeded)
     * @param output what the command printed (at most the reply bound)
     * @param truncated the reply was longer than the bound
     */
    public record Reply(int code, String output, boolean truncated) {
    }

    /** The process is not a JVM that can be asked at all (it does not catch SIGQUIT); nothing was sent. */
    public static final class NotAttachableException extends IOException {
        public NotAttachableException(String message) {
            super(message);
        }
    }

    private HotSpotAttach() {
    }

    /**
     * Runs one diagnostic command ({@code Compiler.perfmap}) in the JVM pid.
     *
     * @throws IOException why no reply came (not a JVM that handles SIGQUIT, no listener within the
     *     timeout, connection refused or closed without an answer, an unparsable answer)
     */
    public static Reply jcmd(Path procRoot, int pid, String command, Duration timeout, int maxReply)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        int nspid = PerfMapFile.nsPid(procRoot, pid);
        Path root = procRoot.resolve(Integer.toString(pid)).resolve("root");
        String socketName = ".java_pid" + nspid;
        TargetFiles.OpenedFile socket = openSocket(root, socketName);
        if (socket == null) {
            socket = startListener(procRoot, root, pid, nspid, socketName, deadline);
        }
        try (TargetFiles.OpenedFile s = socket) {
            return exchange(s.path(), command, deadline, maxReply);
        }
    }

    private static TargetFiles.OpenedFile openSocket(Path root, String name) throws IOException {
        try {
            return TargetFiles.openInRoot(root, "/tmp/" + name, TargetFiles.PATH, TargetFiles.Kind.SOCKET);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** Creates the trigger file, sends SIGQUIT and waits for the socket. */
    private static TargetFiles.OpenedFile startListener(Path procRoot, Path root, int pid, int nspid,
                                                        String socketName, long deadline)
            throws IOException, InterruptedException {
        if (!catchesSigquit(procRoot, pid)) {
            throw new NotAttachableException("process " + pid + " does not handle SIGQUIT (not a HotSpot JVM, or run with -Xrs):"
                    + " no attach request sent, since SIGQUIT would end it");
        }
        String trigger = ".attach_pid" + nspid;
        boolean created = TargetFiles.createInRoot(root, "/tmp", trigger);
        try {
            try {
                Signals.INSTANCE.kill(pid, SIGQUIT);
            } catch (LastErrorException e) {
                throw new IOException("cannot signal process " + pid + " (errno " + e.getErrorCode() + ")");
            }
            while (true) {
                TargetFiles.OpenedFile s = openSocket(root, socketName);
                if (s != null) {
                    return s;
                }
                if (System.nanoTime() - deadline >= 0) {
                    throw new IOException("JVM " + pid + " did not start its attach listener (/tmp/" + socketName
                            + ") before the timeout (is -XX:+DisableAttachMechanism set?)");
                }
                Thread.sleep(POLL_NANOS / 1_000_000);
            }
        } finally {
            if (created) {
                TargetFiles.deleteInRoot(root, "/tmp", trigger);
            }
        }
    }

    /** SigCgt of /proc/PID/status has SIGQUIT's bit: the process installed a handler for it. */
    static boolean catchesSigquit(Path procRoot, int pid) {
        try {
            for (String line : Files.readAllLines(procRoot.resolve(Integer.toString(pid)).resolve("status"))) {
                if (line.startsWith("SigCgt:")) {
                    long mask = Long.parseUnsignedLong(line.substring(7).trim(), 16);
                    return (mask & (1L << (SIGQUIT - 1))) != 0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone, or unreadable: do not signal
        }
        return false;
    }

    private static Reply exchange(Path socket, String command, long deadline, int maxReply) throws IOException {
        byte[] request = ("1\0jcmd\0" + command + "\0\0\0").getBytes(StandardCharsets.UTF_8);
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
             Selector selector = Selector.open()) {
            ch.configureBlocking(false);
            SelectionKey key = ch.register(selector, 0);
            if (!ch.connect(UnixDomainSocketAddress.of(socket))) {
                await(selector, key, SelectionKey.OP_CONNECT, deadline, "connecting");
                ch.finishConnect();
            }
            ByteBuffer out = ByteBuffer.wrap(request);
            while (out.hasRemaining()) {
                if (ch.write(out) == 0) {
                    await(selector, key, SelectionKey.OP_WRITE, deadline, "sending the request");
                }
            }
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(8192);
            boolean truncated = false;
            while (true) {
                in.clear();
                int n = ch.read(in);
                if (n < 0) {
                    break;
                }
                if (n == 0) {
                    await(selector, key, SelectionKey.OP_READ, deadline, "waiting for the reply");
                    continue;
                }
                int keep = Math.min(n, maxReply - reply.size());
                reply.write(in.array(), 0, keep);
                if (keep < n) {
                    truncated = true;
                    break;
                }
            }
            return parse(reply.toString(StandardCharsets.UTF_8), truncated);
        }
    }

    private static void await(Selector selector, SelectionKey key, int op, long deadline, String what)
            throws IOException {
        key.interestOps(op);
        long left = deadline - System.nanoTime();
        if (left <= 0 || selector.select(Math.max(1, left / 1_000_000)) == 0) {
            throw new IOException("attach timed out " + what);
        }
        selector.selectedKeys().clear();
    }

    static Reply parse(String text, boolean truncated) throws IOException {
        int nl = text.indexOf('\n');
        String first = (nl < 0 ? text : text.substring(0, nl)).trim();
        try {
            return new Reply(Integer.parseInt(first), nl < 0 ? "" : text.substring(nl + 1), truncated);
        } catch (NumberFormatException e) {
            throw new IOException("not an attach reply (no result code): "
                    + (first.length() > 80 ? first.substring(0, 80) + "..." : first)
                    + (text.isEmpty() ? " (connection closed without an answer: the JVM refused our credentials?)" : ""));
        }
    }
}
