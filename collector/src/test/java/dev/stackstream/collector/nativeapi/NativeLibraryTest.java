package dev.stackstream.collector.nativeapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NativeLibraryTest {

    @Test
    void loadsThePackagedLibraryOfTheRightVersion() throws Exception {
        StackstreamLibrary lib = NativeLoader.library();
        assertEquals(NativeLoader.API_VERSION, lib.ss_api_version());
        assertTrue(lib.ss_strerror(-3).toLowerCase().contains("no such process"), lib.ss_strerror(-3));
    }

    /** ss_options_init writes the documented defaults; reading them back through JNA checks the struct layout. */
    @Test
    void optionsLayoutMatchesTheHeader() throws Exception {
        SsOptions o = new SsOptions();
        o.target_kind = 77;
        o.table_bytes = 5;
        NativeLoader.library().ss_options_init(o);
        assertEquals(SsOptions.TARGET_PID, o.target_kind);
        assertEquals(0, o.pid);
        assertNull(o.cgroup_path);
        assertEquals(0, o.event);
        assertEquals(999, o.frequency_hz);
        assertEquals(-1, o.kernel_mode);
        assertEquals(1, o.per_thread);
        assertEquals(1, o.follow_children);
        assertEquals(127, o.max_depth);
        assertTrue(o.table_bytes == 0 || o.table_bytes == 64L << 20, "table_bytes " + o.table_bytes);
        assertEquals(0, o.unwind, "unwind AUTO");
        assertEquals(0, o.stack_bytes, "stack_bytes: the native default");
        assertEquals(0, o.unwind_cache_bytes, "unwind_cache_bytes: the native default");
        assertEquals(80, o.size(), "sizeof(ss_options) on LP64");
    }

    @Test
    void statsLayoutSize() {
        assertEquals(10 * 8 + 4 * 4 + 9 * 8 + 2 * 4 + 8 * 8, new SsStats().size(), "sizeof(ss_stats)");
    }
}
