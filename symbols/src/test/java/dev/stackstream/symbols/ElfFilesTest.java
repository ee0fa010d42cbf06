package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Frame;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real binaries built for the test: PIE and non-PIE executables, C++ names, stripped binaries
 * with debug files found by .gnu_debuglink and by build-id, deleted and replaced files.
 */
class ElfFilesTest {
    @TempDir
    Path dir;

    private static Symbolizer symbolizer(Path... debugDirs) {
        return Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false).withKernel(false)
                .withDebugDirs(List.of(debugDirs)));
    }

    private static String name(Symbolizer s, int pid, long address) {
        return s.symbolize(pid, new long[] {address}, 0).get(0).function();
    }

    private void assertNames(Path program, Path... debugDirs) throws Exception {
        try (TestPrograms.Running r = TestPrograms.start(program); Symbolizer s = symbolizer(debugDirs)) {
            long[] a = r.addresses();
            assertEquals("hidden_work", name(s, r.pid(), a[0]));
            assertEquals("hidden_work", name(s, r.pid(), a[0] + 5));
            assertEquals("visible_work", name(s, r.pid(), a[1] + 1));
            assertEquals("main", name(s, r.pid(), a[2]));
            Frame f = s.symbolize(r.pid(), new long[] {a[2]}, 0).get(0);
            assertEquals(program.toString(), f.module());
            assertNotNull(f.buildId());
        }
    }

    @Test
    void pieExecutable() throws Exception {
        assertNames(TestPrograms.compile(dir, "pie", TestPrograms.C_SOURCE, false, "-pie", "-fPIE"));
    }

    @Test
    void nonPieExecutable() throws Exception {
        assertNames(TestPrograms.compile(dir, "nopie", TestPrograms.C_SOURCE, false, "-no-pie", "-fno-PIE"));
    }

    @Test
    void cxxNamesAreDemangled() throws Exception {
        Path p = TestPrograms.compile(dir, "cxx", TestPrograms.CXX_SOURCE, true);
        try (TestPrograms.Running r = TestPrograms.start(p); Symbolizer s = symbolizer()) {
            assertEquals("stackstream::test::work(std::vector<int, std::allocator<int> >&, char const*)",
                    name(s, r.pid(), r.addresses()[0] + 2));
            assertEquals("stackstream::test::Box<double>::twice(int) const", name(s, r.pid(), r.addresses()[1]));
        }
    }

    @Test
    void strippedBinaryUsesItsGnuDebuglink() throws Exception {
        Path p = TestPrograms.compile(dir, "linked", TestPrograms.C_SOURCE, false, "-g");
        Path debug = dir.resolve("linked.debug");
        TestPrograms.run(List.of("objcopy", "--only-keep-debug", p.toString(), debug.toString()));
        TestPrograms.run(List.of("strip", "--strip-all", p.toString()));
        TestPrograms.run(List.of("objcopy", "--add-gnu-debuglink=" + debug, p.toString()));
        assertNames(p);
        // The same binary without its debug file: static functions are not named, never guessed.
        Files.delete(debug);
        try (TestPrograms.Running r = TestPrograms.start(p); Symbolizer s = symbolizer()) {
            Frame f = s.symbolize(r.pid(), new long[] {r.addresses()[0]}, 0).get(0);
            assertNull(f.function());
            assertEquals(p.toString(), f.module());
            assertTrue(f.displayName().startsWith("linked+0x"), f.displayName());
            // Every instruction of the unnamed function is one frame: its entry, from the CFI.
            Frame inside = s.symbolize(r.pid(), new long[] {r.addresses()[0] + 5}, 0).get(0);
            assertNull(inside.function());
            assertEquals(f, inside, "an address inside hidden_work gives the frame of its entry");
            Frame caller = s.symbolize(r.pid(), new long[] {r.addresses()[1] + 1}, 0).get(0);
            assertEquals(s.symbolize(r.pid(), new long[] {r.addresses()[1]}, 0).get(0), caller);
            assertNotEquals(f.offset(), caller.offset(), "visible_work is another function");
        }
    }

    @Test
    void debugLinkWithWrongCrcIsRejected() throws Exception {
        Path p = TestPrograms.compile(dir, "badcrc", TestPrograms.C_SOURCE, false, "-g", "-Wl,--build-id=none");
        Path debug = dir.resolve("badcrc.debug");
        TestPrograms.run(List.of("objcopy", "--only-keep-debug", p.toString(), debug.toString()));
        TestPrograms.run(List.of("strip", "--strip-all", p.toString()));
        TestPrograms.run(List.of("objcopy", "--add-gnu-debuglink=" + debug, p.toString()));
        Files.write(debug, new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
        try (TestPrograms.Running r = TestPrograms.start(p); Symbolizer s = symbolizer()) {
            assertNull(name(s, r.pid(), r.addresses()[0]));
            assertTrue(s.stats().warnings().getOrDefault("debug-file", 0L) >= 1, s.stats().toString());
        }
    }

    @Test
    void strippedBinaryUsesTheBuildIdDebugDirectory() throws Exception {
        Path p = TestPrograms.compile(dir, "byid", TestPrograms.C_SOURCE, false, "-g", "-Wl,--build-id");
        String id = TestPrograms.output(List.of("readelf", "-n", p.toString())).lines()
                .filter(l -> l.contains("Build ID:")).findFirst().orElseThrow().split(":")[1].trim();
        Path root = dir.resolve("debugroot");
        Path debug = root.resolve(".build-id").resolve(id.substring(0, 2)).resolve(id.substring(2) + ".debug");
        Files.createDirectories(debug.getParent());
        TestPrograms.run(List.of("objcopy", "--only-keep-debug", p.toString(), debug.toString()));
        TestPrograms.run(List.of("strip", "--strip-all", p.toString()));
        assertNames(p, root);
    }

    @Test
    void deletedAndReplacedExecutablesStillResolve() throws Exception {
        Path p = TestPrograms.compile(dir, "victim", TestPrograms.C_SOURCE, false);
        Path other = TestPrograms.compile(dir, "other", TestPrograms.C_SOURCE.replace("hidden_work", "changed_work")
                .replace("visible_work", "moved_work"), false, "-no-pie", "-fno-PIE");
        try (TestPrograms.Running r = TestPrograms.start(p); Symbolizer s = symbolizer()) {
            // Replace the file under its path (new inode), as a package upgrade does.
            Files.move(other, p, StandardCopyOption.REPLACE_EXISTING);
            assertEquals("hidden_work", name(s, r.pid(), r.addresses()[0]));
            assertEquals("visible_work", name(s, r.pid(), r.addresses()[1]));
            Frame f = s.symbolize(r.pid(), new long[] {r.addresses()[2]}, 0).get(0);
            assertEquals("main", f.function());
            assertEquals(p.toString(), f.module(), "the path without ' (deleted)'");
        }
        Path q = TestPrograms.compile(dir, "gone", TestPrograms.C_SOURCE, false);
        try (TestPrograms.Running r = TestPrograms.start(q); Symbolizer s = symbolizer()) {
            Files.delete(q);
            assertEquals("hidden_work", name(s, r.pid(), r.addresses()[0]));
        }
    }

    @Test
    void stacksDrainedAfterTheExitNoticeStillResolve() throws Exception {
        Path p = TestPrograms.compile(dir, "exits", TestPrograms.C_SOURCE, false);
        try (Symbolizer s = symbolizer()) {
            long[] a;
            int pid;
            try (TestPrograms.Running r = TestPrograms.start(p)) {
                a = r.addresses();
                pid = r.pid();
                assertEquals("main", name(s, pid, a[2]));
            }
            s.onProcessExit(pid);
            // The process is gone, but a stack sampled before it exited can still be named.
            assertEquals("hidden_work", name(s, pid, a[0]));
            assertEquals(1, ((ProcSymbolizer) s).trackedProcesses());
        }
    }

    @Test
    void anotherMountNamespaceIsReadThroughProcRoot() throws IOException {
        // Files are opened inside /proc/PID/root: for a process in our namespace that is the
        // same file, which is what this checks; containers are covered by the same path rule.
        int self = (int) ProcessHandle.current().pid();
        var m = dev.stackstream.symbols.proc.Mapping.of(0x1000, 0x2000, 0, "/usr/bin/true", 0, null);
        try (MappedFiles.Opened o = MappedFiles.open(Path.of("/proc"), self, m)) {
            assertTrue(o.throughTarget());
            assertEquals(Path.of("/proc/" + self + "/root"), o.targetRoot());
            assertTrue(Files.isSameFile(o.file().path(), Path.of("/usr/bin/true")));
        }
        var deleted = dev.stackstream.symbols.proc.Mapping.of(0x1000, 0x2000, 0, "/x (deleted)", 0, null);
        assertEquals(Path.of("/proc/" + self + "/map_files/1000-2000"),
                MappedFiles.mapFile(Path.of("/proc/" + self), deleted));
    }
}
