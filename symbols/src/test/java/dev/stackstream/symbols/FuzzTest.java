package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.symbols.elf.ElfFormatException;
import dev.stackstream.symbols.elf.ElfModule;
import dev.stackstream.symbols.elf.SymbolTable;
import dev.stackstream.symbols.jit.PerfMap;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutates real ELF files and perf maps (bit flips, truncation, random header fields) with a fixed
 * seed: no exception other than the documented ones may escape the readers, and no exception at
 * all out of {@link Symbolizer#symbolize}; whatever loads must stay internally consistent.
 */
class FuzzTest {
    private static final long SEED = 0x5eed_5717_b015L;
    private static final List<Path> SAMPLES = List.of(Path.of("/usr/bin/true"), Path.of("/bin/ls"),
            Path.of("/usr/lib/x86_64-linux-gnu/libz.so.1"), Path.of("/usr/lib/x86_64-linux-gnu/libm.so.6"),
            Path.of("/usr/lib/x86_64-linux-gnu/libc.so.6"));

    private static List<byte[]> samples() throws IOException {
        List<byte[]> out = new ArrayList<>();
        for (Path p : SAMPLES) {
            if (Files.isReadable(p)) {
                out.add(Files.readAllBytes(p));
            }
        }
        assertTrue(out.size() >= 2, "real ELF files to mutate");
        return out;
    }

    static byte[] mutate(byte[] original, Random rnd) {
        byte[] b = original.clone();
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long shoff = bb.getLong(40);
        int kind = rnd.nextInt(6);
        switch (kind) {
            case 0 -> { // bit flips anywhere
                int flips = 1 + rnd.nextInt(32);
                for (int i = 0; i < flips; i++) {
                    int at = rnd.nextInt(b.length);
                    b[at] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 1 -> { // bit flips in the ELF header and program headers
                for (int i = 0; i < 1 + rnd.nextInt(6); i++) {
                    int at = rnd.nextInt(Math.min(b.length, 64 + 56 * 14));
                    b[at] ^= (byte) (1 << rnd.nextInt(8));
                }
            }
            case 2 -> { // truncation
                return java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            case 3 -> { // random header fields
                int[] fields = {16, 18, 24, 32, 40, 52, 54, 56, 58, 60, 62};
                int f = fields[rnd.nextInt(fields.length)];
                if (f == 32 || f == 40 || f == 24) {
                    bb.putLong(f, rnd.nextBoolean() ? rnd.nextLong() : rnd.nextInt(b.length + 100));
                } else {
                    bb.putShort(f, (short) rnd.nextInt(65536));
                }
            }
            case 4 -> { // random section header fields (offsets, sizes, links, entsize)
                if (shoff > 0 && shoff < b.length - 64) {
                    int shnum = Short.toUnsignedInt(bb.getShort(60));
                    int idx = rnd.nextInt(Math.max(1, shnum));
                    long at = shoff + 64L * idx + new int[] {4, 24, 32, 40, 56}[rnd.nextInt(5)];
                    if (at + 8 <= b.length) {
                        bb.putLong((int) at, rnd.nextBoolean() ? rnd.nextLong() : rnd.nextInt(1 << 24));
                    }
                }
            }
            default -> { // a run of random bytes
                int at = rnd.nextInt(b.length);
                int len = Math.min(b.length - at, 1 + rnd.nextInt(4096));
                byte[] junk = new byte[len];
                rnd.nextBytes(junk);
                System.arraycopy(junk, 0, b, at, len);
            }
        }
        return b;
    }

    static void checkSane(SymbolTable t) {
        for (int i = 0; i < t.size(); i++) {
            assertTrue(Long.compareUnsigned(t.start(i), t.end(i)) < 0 || t.end(i) > t.start(i),
                    "symbol " + i + " has an empty range");
            if (i > 0) {
                assertTrue(t.start(i - 1) < t.start(i), "sorted, unique starts");
            }
        }
        for (int i = 0; i < t.size(); i += Math.max(1, t.size() / 50)) {
            int found = t.indexOf(t.start(i));
            assertTrue(found >= 0, "a symbol's own start resolves");
            assertTrue(t.start(found) <= t.start(i) && t.start(i) < t.end(found));
            assertNotNull(t.name(found));
        }
    }

    @Test
    void elfReaderSurvivesThousandsOfMutations() throws IOException {
        List<byte[]> samples = samples();
        Random rnd = new Random(SEED);
        UnaryOperator<String> demangle = new dev.stackstream.symbols.demangle.Demangler(true);
        int loaded = 0;
        int rejected = 0;
        int iterations = 3000;
        // A time cap keeps the suite short on slow machines; the iteration floor below still holds.
        long deadline = System.nanoTime() + 12_000_000_000L;
        int done = 0;
        for (; done < iterations && System.nanoTime() < deadline; done++) {
            byte[] original = samples.get(rnd.nextInt(samples.size()));
            byte[] mutated = mutate(original, rnd);
            try {
                ElfModule m = ElfModule.fromImage(ByteBuffer.wrap(mutated), demangle, msg -> { });
                checkSane(m.symbols());
                for (int k = 0; k < 20; k++) {
                    m.functionAt(rnd.nextInt(Math.max(1, mutated.length)));
                }
                loaded++;
            } catch (ElfFormatException e) {
                rejected++;
            }
        }
        System.out.printf("ELF fuzz: %d iterations, %d loaded, %d rejected%n", done, loaded, rejected);
        assertTrue(done >= 1000, "at least 1000 iterations ran, got " + done);
        assertTrue(loaded > 0 && rejected > 0, "both outcomes occur: loaded " + loaded + ", rejected " + rejected);
    }

    @Test
    void corruptFilesMappedIntoAProcessGiveUnresolvedFramesAndWarnings(@TempDir Path dir) throws IOException {
        List<byte[]> samples = samples();
        Random rnd = new Random(SEED + 1);
        int self = (int) ProcessHandle.current().pid();
        int unresolved = 0;
        try (Symbolizer s = Symbolizers.create(SymbolizerOptions.defaults().withJvmPerfMaps(false)
                .withKernel(false).withDebugDirs(List.of(dir)))) {
            for (int i = 0; i < 300; i++) {
                Path f = dir.resolve("corrupt-" + i + ".so");
                byte[] bytes = i % 10 == 0 ? new byte[i] : mutate(samples.get(rnd.nextInt(samples.size())), rnd);
                Files.write(f, bytes);
                // Pretend the file is mapped at a low, otherwise unused range of this process.
                long start = 0x10000L + i * 0x100000L;
                s.onMapping(self, start, 0x100000, 0, f.toString(), null);
                long[] ips = new long[8];
                for (int k = 0; k < ips.length; k++) {
                    ips[k] = start + rnd.nextInt(0x100000);
                }
                List<Frame> frames = s.symbolize(self, ips, 0);
                assertEquals(ips.length, frames.size());
                for (Frame fr : frames) {
                    assertEquals(f.toString(), fr.module());
                    if (!fr.isResolved()) {
                        unresolved++;
                    }
                }
            }
            s.onMapping(self, 0x7000_0000L, 0x1000, 0, dir.resolve("missing.so").toString(), null);
            Frame missing = s.symbolize(self, new long[] {0x7000_0010L}, 0).get(0);
            assertNull(missing.function());
            assertEquals(0x10, missing.offset());
            SymbolizerStats st = s.stats();
            assertTrue(st.warnings().getOrDefault("elf-unreadable", 0L) > 0, st.toString());
            assertTrue(unresolved > 0);
        }
    }

    @Test
    void perfMapReaderSurvivesMutations() throws IOException {
        Random rnd = new Random(SEED + 2);
        StringBuilder base = new StringBuilder();
        for (int i = 0; i < 200; i++) {
            base.append(i % 2 == 0 ? "0x" : "").append(Long.toHexString(0x7f0000000000L + i * 0x100L)).append(' ')
                    .append(Integer.toHexString(0x80)).append(" Lcom/example/C").append(i).append(";m()V\n");
        }
        byte[] original = base.toString().getBytes(StandardCharsets.UTF_8);
        for (int it = 0; it < 2000; it++) {
            byte[] b = original.clone();
            switch (it % 3) {
                case 0 -> {
                    for (int k = 0; k < 1 + rnd.nextInt(40); k++) {
                        b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                    }
                }
                case 1 -> b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
                default -> rnd.nextBytes(b);
            }
            PerfMap m = PerfMap.parse(new ByteArrayInputStream(b));
            for (int i = 0; i < m.size(); i++) {
                assertTrue(Long.compareUnsigned(m.start(i), m.end(i)) < 0);
                assertNotNull(m.name(i));
                if (i > 0) {
                    assertTrue(Long.compareUnsigned(m.start(i - 1), m.start(i)) < 0);
                }
            }
            m.nameAt(rnd.nextLong());
            assertTrue(m.size() + m.badLines() <= 200 + b.length);
        }
    }
}
