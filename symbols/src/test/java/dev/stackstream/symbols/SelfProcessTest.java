package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Symbolizes addresses of this very JVM process: libc, libjvm, [vdso], the kernel. */
class SelfProcessTest {
    private static final int PID = (int) ProcessHandle.current().pid();
    private static Symbolizer symbolizer;

    interface Dl extends Library {
        int RTLD_NOW = 2;
        int RTLD_NOLOAD = 4;

        Pointer dlopen(String file, int mode);

        Pointer dlsym(Pointer handle, String name);
    }

    @BeforeAll
    static void open() {
        symbolizer = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false));
    }

    @AfterAll
    static void close() {
        symbolizer.close();
    }

    private static long libc(String name) {
        return Pointer.nativeValue(NativeLibrary.getInstance("c").getFunction(name));
    }

    private static Frame one(long address) {
        List<Frame> frames = symbolizer.symbolize(PID, new long[] {address}, 0);
        assertEquals(1, frames.size());
        return frames.get(0);
    }

    @Test
    void libcExportedFunctionsResolveWithBuildIdAndOffset() {
        Frame f = one(libc("malloc") + 16);
        assertEquals("malloc", f.function());
        assertEquals(FrameKind.USER, f.kind());
        assertTrue(f.module().endsWith("/libc.so.6"), f.module());
        assertNotNull(f.buildId());
        assertEquals(40, f.buildId().length(), "20-byte GNU build-id in hex");
        assertTrue(f.offset() > 0);
    }

    @Test
    void libcInternalFunctionsResolveThroughTheDebugFile() throws IOException {
        // _int_malloc is static in glibc: only the separate debug file (libc6-dbg) names it.
        Path debug = Path.of("/usr/lib/debug/.build-id");
        assumeTrue(Files.isDirectory(debug), "libc6-dbg not installed (apt-get install libc6-dbg)");
        Frame malloc = one(libc("malloc"));
        String id = malloc.buildId();
        Path file = debug.resolve(id.substring(0, 2)).resolve(id.substring(2) + ".debug");
        assumeTrue(Files.exists(file), "no debug file for this libc build-id " + id + " (libc6-dbg version mismatch)");
        // Find _int_malloc's offset from the same module by symbolizing a range of libc text
        // around malloc: a symbol only the debug file has must show up.
        boolean sawStatic = false;
        for (long a = libc("malloc") - 40_000; a < libc("malloc") + 40_000; a += 64) {
            String name = one(a).function();
            if ("_int_malloc".equals(name) || "_int_free".equals(name) || "sysmalloc".equals(name)) {
                sawStatic = true;
                break;
            }
        }
        assertTrue(sawStatic, "static glibc functions named through " + file);
    }

    @Test
    void libjvmResolvesThroughItsSymbolTable() {
        long jni = Pointer.nativeValue(NativeLibrary.getInstance("jvm").getFunction("JNI_CreateJavaVM"));
        Frame f = one(jni + 3);
        assertEquals("JNI_CreateJavaVM", f.function());
        assertTrue(f.module().endsWith("libjvm.so"));
    }

    @Test
    void callerFramesAreLookedUpOneByteBeforeTheReturnAddress() {
        // A return address equal to the first byte of the next function belongs to the caller,
        // which ended with the call; the leaf at the same address is the next function.
        long getpid = libc("getpid");
        Frame leafFrame = one(getpid);
        List<Frame> stack = symbolizer.symbolize(PID, new long[] {libc("malloc"), getpid}, 0);
        assertEquals(2, stack.size());
        assertEquals("malloc", stack.get(1).function(), "leaf last (root first)");
        Frame caller = stack.get(0);
        assertEquals(leafFrame.offset() - 1, caller.offset());
        assertTrue(leafFrame.function().contains("getpid"), leafFrame.toString());
        assertFalse(leafFrame.function().equals(caller.function()),
                "one byte before getpid is not getpid: " + caller);
    }

    @Test
    void vdsoFunctionsResolve() {
        Dl dl = Native.load("c", Dl.class);
        Pointer h = dl.dlopen("linux-vdso.so.1", Dl.RTLD_NOW | Dl.RTLD_NOLOAD);
        assumeTrue(h != null, "no vdso on this system");
        Pointer sym = dl.dlsym(h, "__vdso_clock_gettime");
        assertNotNull(sym);
        Frame f = one(Pointer.nativeValue(sym) + 2);
        assertEquals("[vdso]", f.module());
        assertTrue(f.function() != null && f.function().contains("clock_gettime"), String.valueOf(f));
        assertTrue(symbolizer.stats().byModuleKind().get(ModuleKind.VDSO).resolved() > 0);
    }

    @Test
    void kernelFramesResolveThroughKallsymsWhenReadable() throws IOException {
        long schedule = kallsyms("schedule");
        long vfsRead = kallsyms("vfs_read");
        assumeTrue(schedule != 0 && vfsRead != 0, "/proc/kallsyms addresses hidden (needs CAP_SYSLOG)");
        long user = libc("getpid");
        List<Frame> frames = symbolizer.symbolize(PID, new long[] {schedule + 8, vfsRead + 20, user}, 2);
        assertEquals(3, frames.size());
        assertEquals(FrameKind.USER, frames.get(0).kind());
        assertEquals("vfs_read", frames.get(1).function());
        assertEquals(FrameKind.KERNEL, frames.get(1).kind());
        assertEquals("[kernel.kallsyms]", frames.get(1).module());
        assertEquals("schedule", frames.get(2).function());
        assertEquals(schedule + 8, frames.get(2).offset(), "kernel frames carry the raw address");
    }

    @Test
    void kernelFramesStayHonestWhenKernelSymbolsAreOff() {
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withKernel(false)
                .withJvmPerfMaps(false))) {
            long addr = 0xffffffff81234567L;
            Frame f = s.symbolize(PID, new long[] {addr}, 1).get(0);
            assertNull(f.function());
            assertEquals("[kernel.kallsyms]", f.module());
            assertEquals(addr, f.offset());
            assertEquals("[kernel.kallsyms]+0xffffffff81234567", f.displayName());
            assertEquals(1, s.stats().byFrameKind().get(FrameKind.KERNEL).unresolved());
        }
    }

    @Test
    void addressesOutsideEveryMappingStayUnresolvedAndAreNeverDropped() {
        long[] ips = {0x10L, libc("malloc") + 8, 0x20L};
        List<Frame> frames = symbolizer.symbolize(PID, ips, 0);
        assertEquals(3, frames.size());
        assertNull(frames.get(0).function());
        assertEquals(0x1fL, frames.get(0).offset(), "callers looked up at ip - 1");
        assertEquals("malloc", frames.get(1).function());
        assertNull(frames.get(2).module());
        assertEquals("[unknown]+0x10", frames.get(2).displayName());
    }

    @Test
    void aProcessThatDoesNotExistGivesUnresolvedFramesAndAWarning() {
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false))) {
            List<Frame> frames = s.symbolize(999_999_999, new long[] {0x401000, 0x402000}, 0);
            assertEquals(2, frames.size());
            assertTrue(frames.stream().noneMatch(Frame::isResolved));
            assertTrue(s.stats().warnings().getOrDefault("maps-unreadable", 0L) >= 1, s.stats().toString());
        }
    }

    static long kallsyms(String name) throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/kallsyms"))) {
            return lines.map(l -> l.split("\\s+")).filter(f -> f.length >= 3 && f[2].equals(name)
                            && (f[1].equals("T") || f[1].equals("t")))
                    .mapToLong(f -> Long.parseUnsignedLong(f[0], 16)).findFirst().orElse(0);
        }
    }
}
