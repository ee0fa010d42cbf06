package dev.stackstream.collector.sampling;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * The fields of {@code /proc/PID/stat} and {@code /proc/PID/status} the collector uses.
 *
 * <p>Times in {@code stat} are in clock ticks of USER_HZ, which the kernel fixes at 100 for user
 * space on every architecture we build for (x86-64, arm64), independent of the kernel's CONFIG_HZ;
 * hence the constant rather than a sysconf call.
 *
 * @param state one-letter state ({@code R}, {@code S}, {@code Z} for a zombie...)
 * @param utimeTicks user time of the whole process (all threads)
 * @param stimeTicks system time of the whole process
 * @param cutimeTicks user time of children it has waited for (and their waited-for children)
 * @param cstimeTicks system time of those children
 * @param startTicks start time after boot; identifies the process across pid reuse
 */
record ProcStat(char state, long utimeTicks, long stimeTicks, long cutimeTicks, long cstimeTicks,
                long startTicks) {
    static final long NANOS_PER_TICK = 1_000_000_000L / 100;

    /** CPU time of the process itself. */
    long selfNanos() {
        return (utimeTicks + stimeTicks) * NANOS_PER_TICK;
    }

    /** CPU time of the process plus the children it has reaped. */
    long treeNanos() {
        return (utimeTicks + stimeTicks + cutimeTicks + cstimeTicks) * NANOS_PER_TICK;
    }

    /** Reads /proc/PID/stat; null when the process does not exist (any more) or the file is unreadable. */
    static ProcStat read(int pid) {
        try {
            return parse(Files.readString(Path.of("/proc", Integer.toString(pid), "stat"), StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Parses a stat line. The command name (field 2) is in parentheses and may itself contain
     * spaces and parentheses, so fields are counted from the LAST ')'.
     */
    static ProcStat parse(String line) {
        int close = line.lastIndexOf(')');
        if (close < 0) {
            throw new IllegalArgumentException("not a /proc/PID/stat line: " + line);
        }
        String[] f = line.substring(close + 1).trim().split(" +");
        // f[0] is field 3 (state); field n is f[n - 3]
        if (f.length < 20) {
            throw new IllegalArgumentException("short /proc/PID/stat line: " + line);
        }
        return new ProcStat(f[0].charAt(0), Long.parseLong(f[11]), Long.parseLong(f[12]),
                Long.parseLong(f[13]), Long.parseLong(f[14]), Long.parseLong(f[19]));
    }

    /** VmRSS of /proc/PID/status in bytes; empty when absent (kernel threads, zombies) or unreadable. */
    static OptionalLong rssBytes(int pid) {
        try {
            return parseRss(Files.readString(Path.of("/proc", Integer.toString(pid), "status"), StandardCharsets.UTF_8));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    static OptionalLong parseRss(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("VmRSS:")) {
                String[] parts = line.substring(6).trim().split("\\s+");
                long value = Long.parseLong(parts[0]);
                long unit = parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? 1024 : 1;
                return OptionalLong.of(value * unit);
            }
        }
        return OptionalLong.empty();
    }
}
