package dev.stackstream.collector.sampling;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CgroupMeterTest {

    /**
     * This JVM's own cgroup v2 directory: the "0::/path" line of /proc/self/cgroup under the cgroup2
     * mount (/sys/fs/cgroup on pure v2 hosts, /sys/fs/cgroup/unified on hybrid ones like this VM).
     */
    private static Path ownCgroup() throws Exception {
        String mount = null;
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = java.util.Arrays.asList(f).indexOf("-");
            if (dash > 0 && "cgroup2".equals(f[dash + 1])) {
                mount = f[4];
            }
        }
        assertTrue(mount != null, "a cgroup2 mount");
        for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
            if (line.startsWith("0::")) {
                return Path.of(mount + line.substring(3));
            }
        }
        throw new IllegalStateException("no cgroup v2 line in /proc/self/cgroup");
    }

    @Test
    void readsCpuOfOurOwnCgroupAndItGrows() throws Exception {
        Path dir = ownCgroup();
        CgroupMeter meter = new CgroupMeter(dir.toString());
        TargetMeter.Reading first = meter.read();
        assertTrue(first.cpuNanos().isPresent(), "cpu.stat usage_usec of " + dir);
        long end = System.nanoTime() + 200_000_000L;
        long x = 0;
        while (System.nanoTime() < end) {
            x += System.nanoTime() & 1;
        }
        TargetMeter.Reading second = meter.read();
        assertTrue(second.cpuNanos().getAsLong() > first.cpuNanos().getAsLong() + 50_000_000L,
                "200 ms of spinning shows in the cgroup's CPU (" + x + ")");
        if (Files.exists(dir.resolve("memory.current"))) {
            assertTrue(second.rssBytes().getAsLong() > 1 << 20, "memory.current");
        }
    }

    @Test
    void aMissingCgroupReadsAsNotMeasured() {
        TargetMeter.Reading r = new CgroupMeter("/sys/fs/cgroup/stackstream-no-such-group").read();
        assertTrue(r.cpuNanos().isEmpty());
        assertTrue(r.rssBytes().isEmpty());
    }
}
