package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.symbols.demangle.Demangler;
import dev.stackstream.symbols.elf.ElfModule;
import dev.stackstream.symbols.elf.FileIdentity;
import dev.stackstream.symbols.elf.ModuleCache;
import dev.stackstream.symbols.kernel.KernelSymbols;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CachesAndKernelTest {
    @TempDir
    Path dir;

    private static ElfModule load(Path p) throws Exception {
        return ElfModule.load(p, List.of(), new Demangler(true), m -> { });
    }

    @Test
    void cacheIsBoundedByMemoryAndReloadsEvictedModules() throws Exception {
        Path libc = Path.of("/usr/lib/x86_64-linux-gnu/libc.so.6");
        Path libm = Path.of("/usr/lib/x86_64-linux-gnu/libm.so.6");
        long libcBytes = load(libc).memoryBytes();
        ModuleCache cache = new ModuleCache(libcBytes + 1000); // room for about one of them
        AtomicInteger loads = new AtomicInteger();
        ModuleCache.Entry c = cache.get(FileIdentity.of(libc), () -> {
            loads.incrementAndGet();
            return load(libc);
        });
        assertNotNull(c.module());
        ModuleCache.Entry m = cache.get(FileIdentity.of(libm), () -> {
            loads.incrementAndGet();
            return load(libm);
        });
        assertNotNull(m.module());
        assertTrue(cache.bytes() <= libcBytes + 1000, "bound held: " + cache.bytes());
        assertNull(c.module(), "least recently used module evicted");
        assertEquals(1, cache.evictions());
        cache.reload(c);
        assertNotNull(c.module(), "evicted entry reloads on use");
        assertEquals(3, loads.get());
    }

    @Test
    void sameBuildIdIsOneModuleAndFailuresAreCachedToo() throws Exception {
        Path libc = Path.of("/usr/lib/x86_64-linux-gnu/libc.so.6");
        ModuleCache cache = new ModuleCache(1L << 30);
        ModuleCache.Entry e = cache.get(FileIdentity.of(libc), () -> load(libc));
        assertSame(e, cache.byBuildId(e.module().buildId()));
        Path junk = dir.resolve("junk.so");
        Files.write(junk, new byte[100]);
        AtomicInteger attempts = new AtomicInteger();
        for (int i = 0; i < 3; i++) {
            ModuleCache.Entry bad = cache.get(FileIdentity.of(junk), () -> {
                attempts.incrementAndGet();
                return load(junk);
            });
            assertNull(bad.module());
            assertTrue(bad.failure().contains("ELF"), bad.failure());
        }
        assertEquals(1, attempts.get(), "a corrupt file is parsed once");
    }

    @Test
    void oneSymbolTablePerBinaryAcrossProcesses() throws Exception {
        Path p = TestPrograms.compile(dir, "twice", TestPrograms.C_SOURCE, false);
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false).withKernel(false));
             TestPrograms.Running r1 = TestPrograms.start(p)) {
            assertEquals("main", s.symbolize(r1.pid(), new long[] {r1.addresses()[2]}, 0).get(0).function());
            long modules = s.stats().cachedModules();
            try (TestPrograms.Running r2 = TestPrograms.start(p)) {
                assertEquals("main", s.symbolize(r2.pid(), new long[] {r2.addresses()[2]}, 0).get(0).function());
                assertEquals(modules, s.stats().cachedModules(), "second process reuses the first's table");
            }
        }
    }

    @Test
    void hiddenKallsymsAddressesMakeKernelSymbolsUnreadable() throws Exception {
        Path fake = dir.resolve("kallsyms");
        Files.writeString(fake, """
                0000000000000000 T _text
                0000000000000000 T schedule
                0000000000000000 t ext4_read	[ext4]
                """);
        KernelSymbols ks = KernelSymbols.load(fake);
        assertFalse(ks.readable());
        assertEquals(3, ks.zeroLines());
    }

    @Test
    void kallsymsParsingHandlesModulesAndIgnoresData() throws Exception {
        Path fake = dir.resolve("kallsyms");
        Files.writeString(fake, """
                ffffffff81000000 T _text
                ffffffff81000100 t helper
                ffffffff81000200 D some_data
                ffffffff81000300 T schedule
                ffffffffc0001000 t ext4_read	[ext4]
                """);
        KernelSymbols ks = KernelSymbols.load(fake);
        assertTrue(ks.readable());
        assertEquals(4, ks.size());
        assertEquals("helper", ks.name(ks.indexOf(0xffffffff81000250L)), "data symbols do not end functions");
        int i = ks.indexOf(0xffffffffc0001010L);
        assertEquals("ext4_read", ks.name(i));
        assertEquals("[ext4]", ks.module(i));
        assertEquals(-1, ks.indexOf(0xffffffff80000000L));
    }
    /** Every text symbol of the running kernel is found at its address with its own name and module. */
    @Test
    void realKallsymsRoundTripsEveryTextSymbol() throws Exception {
        Path kallsyms = Path.of("/proc/kallsyms");
        java.util.List<String> lines = Files.readAllLines(kallsyms);
        KernelSymbols ks = KernelSymbols.load(kallsyms);
        org.junit.jupiter.api.Assumptions.assumeTrue(ks.readable(), "kallsyms addresses hidden (needs CAP_SYSLOG)");
        java.util.Map<Long, java.util.Set<String>> expected = new java.util.HashMap<>();
        int text = 0;
        for (String line : lines) {
            String[] f = line.split("[ \t]+");
            if (f.length >= 3 && "tTwW".indexOf(f[1].charAt(0)) >= 0 && !f[0].matches("0+")) {
                String module = f.length > 3 ? (f[3].startsWith("[") ? f[3] : "[" + f[3] + "]") : null;
                expected.computeIfAbsent(Long.parseUnsignedLong(f[0], 16), k -> new java.util.HashSet<>())
                        .add(f[2] + "|" + module);
                text++;
            }
        }
        assertEquals(text, ks.size(), "every text symbol kept");
        for (java.util.Map.Entry<Long, java.util.Set<String>> e : expected.entrySet()) {
            int i = ks.indexOf(e.getKey());
            assertEquals((long) e.getKey(), ks.start(i));
            assertTrue(e.getValue().contains(ks.name(i) + "|" + ks.module(i)),
                    "at " + Long.toHexString(e.getKey()) + ": " + ks.name(i) + " not in " + e.getValue());
        }
    }
}
