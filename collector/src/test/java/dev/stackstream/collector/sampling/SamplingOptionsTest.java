package dev.stackstream.collector.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SamplingOptionsTest {

    @Test
    void defaultsMatchTheNativeCore() {
        SamplingOptions o = SamplingOptions.builder().build();
        assertEquals(0, o.pid());
        assertNull(o.cgroupPath());
        assertEquals(999, o.frequencyHz());
        assertEquals(SamplingOptions.Event.CPU_CLOCK, o.event());
        assertEquals(SamplingOptions.KernelMode.AUTO, o.kernelMode());
        assertTrue(o.perThread());
        assertTrue(o.followChildren());
        assertEquals(127, o.maxDepth());
        assertEquals(64L << 20, o.tableBytes());
    }

    @Test
    void pidAndCgroupAreExclusiveAndToBuilderCopies() {
        SamplingOptions cg = SamplingOptions.builder().cgroupPath("/sys/fs/cgroup/x").frequencyHz(99).build();
        assertTrue(cg.isCgroupTarget());
        SamplingOptions p = cg.toBuilder().pid(7).build();
        assertFalse(p.isCgroupTarget());
        assertEquals(7, p.pid());
        assertEquals(99, p.frequencyHz());
    }

    @Test
    void rejectsOutOfRangeValuesNamingThem() {
        var e = assertThrows(IllegalArgumentException.class, () -> SamplingOptions.builder().frequencyHz(0).build());
        assertTrue(e.getMessage().contains("frequency"));
        e = assertThrows(IllegalArgumentException.class, () -> SamplingOptions.builder().maxDepth(513).build());
        assertTrue(e.getMessage().contains("maxDepth"));
        e = assertThrows(IllegalArgumentException.class, () -> SamplingOptions.builder().ringPages(3).build());
        assertTrue(e.getMessage().contains("power of two"));
        assertThrows(IllegalArgumentException.class, () -> SamplingOptions.builder().pid(-1));
    }

    /** The page-fault ring holds a 16,500-fault burst (dd of a 64 MiB buffer) without loss: BENCHMARKS.md. */
    @Test
    void pageFaultsGetASmallStackCopyAndAnEightMebibyteRing() {
        SamplingOptions faults = ProfileKind.PAGE_FAULTS.applyTo(SamplingOptions.builder().period(1)).build();
        assertEquals(SamplingOptions.Event.PAGE_FAULTS, faults.event());
        assertEquals(2048, faults.stackBytes());
        assertEquals(8L << 20, (long) faults.ringPages() * 4096);
        SamplingOptions wall = ProfileKind.WALL.applyTo(SamplingOptions.builder()).build();
        assertEquals(0, wall.ringPages(), "other types keep the native default ring");
    }

    @Test
    void allocSamplesEvery512KiBByDefaultWithItsOwnCopyAndRing() {
        SamplingOptions alloc = ProfileKind.byName("ALLOC").applyTo(SamplingOptions.builder()).build();
        assertEquals(SamplingOptions.Event.ALLOC, alloc.event());
        assertEquals(5, alloc.event().nativeValue(), "SS_EVENT_ALLOC");
        assertEquals(512 * 1024, alloc.allocIntervalBytes());
        assertEquals(8192, alloc.stackBytes());
        assertEquals(4L << 20, (long) alloc.ringPages() * 4096);
        assertTrue(alloc.toString().contains("every 524288 bytes"), alloc.toString());
        var e = assertThrows(IllegalArgumentException.class,
                () -> SamplingOptions.builder().allocIntervalBytes(0).build());
        assertTrue(e.getMessage().contains("alloc interval"));
    }
}
