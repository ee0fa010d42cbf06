package dev.stackstream.collector.sampling;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Measures a cgroup v2 target: CPU from {@code cpu.stat} ({@code usage_usec}, every task of the
 * cgroup, microsecond resolution) and memory from {@code memory.current} (which, unlike a process's
 * VmRSS, also counts page cache charged to the cgroup). A controller that is not enabled for the
 * cgroup gives an absent reading.
 */
final class CgroupMeter implements TargetMeter {
    private final Path dir;

    CgroupMeter(String path) {
        this.dir = Path.of(path);
    }

    @Override
    public void track(int pid) {
        // every task in the cgroup is already counted by the cgroup's own files
    }

    @Override
    public void untrack(int pid) {
    }

    @Override
    public Reading read() {
        return new Reading(cpuNanos(), memoryBytes());
    }

    private OptionalLong cpuNanos() {
        try {
            for (String line : Files.readAllLines(dir.resolve("cpu.stat"), StandardCharsets.UTF_8)) {
                if (line.startsWith("usage_usec ")) {
                    return OptionalLong.of(Long.parseLong(line.substring(11).trim()) * 1000);
                }
            }
        } catch (IOException | RuntimeException e) {
            // absent: not measured
        }
        return OptionalLong.empty();
    }

    private OptionalLong memoryBytes() {
        try {
            return OptionalLong.of(Long.parseLong(Files.readString(dir.resolve("memory.current")).trim()));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }
}
