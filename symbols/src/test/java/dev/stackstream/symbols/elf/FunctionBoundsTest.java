package dev.stackstream.symbols.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Function bounds from the CFI of binaries nobody here built (Debian's libc and python3), checked
 * against their own symbol tables: every function symbol's range lies in one FDE that starts where
 * the symbol starts.
 */
class FunctionBoundsTest {
    private static final Path LIBC = Path.of("/usr/lib/x86_64-linux-gnu/libc.so.6");
    private static final Path PYTHON = Path.of("/usr/bin/python3");

    @ParameterizedTest
    @ValueSource(strings = {"/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/python3"})
    void symbolsStartWhereTheirFdesStart(String file) throws Exception {
        Path p = Path.of(file).toRealPath();
        assumeTrue(Files.isRegularFile(p), p + " (Debian's libc6 / python3)");
        ElfFile elf = ElfFile.parse(ElfModule.map(p));
        FunctionBounds bounds = FunctionBounds.of(elf);
        SymbolTable symbols = ElfModule.load(p, java.util.List.of(), UnaryOperator.identity(), w -> { }).symbols();
        assertTrue(bounds.size() > 1000, "FDEs in " + p + ": " + bounds.size());
        int checked = 0;
        int agree = 0;
        for (int i = 0; i < symbols.size(); i++) {
            long start = symbols.start(i);
            long end = symbols.end(i);
            if (end - start < 2 || bounds.startOf(start) == Long.MIN_VALUE || symbols.name(i).endsWith("@plt")) {
                // no size; code without CFI (hand-written asm); PLT stubs, which one FDE covers together
                continue;
            }
            checked++;
            if (bounds.startOf(start) == start && bounds.startOf(end - 1) == start) {
                agree++;
            }
        }
        assertTrue(checked > 500, "symbols with CFI in " + p + ": " + checked);
        assertTrue(agree >= checked * 0.99, agree + " of " + checked + " symbols of " + p
                + " start and end in the FDE that starts at them");
    }

    @Test
    void addressesOutsideEveryFdeHaveNoBounds() throws Exception {
        assumeTrue(Files.isRegularFile(LIBC), "Debian's libc6");
        FunctionBounds bounds = FunctionBounds.of(ElfFile.parse(ElfModule.map(LIBC.toRealPath())));
        assertEquals(Long.MIN_VALUE, bounds.startOf(0));
        assertEquals(Long.MIN_VALUE, bounds.startOf(Long.MAX_VALUE));
        assertEquals(Long.MIN_VALUE, bounds.startOf(-1));
        assertEquals(Long.MIN_VALUE, FunctionBounds.NONE.startOf(bounds.size()));
    }

    /**
     * Hostile sections: random bytes, and python3's real sections with bytes flipped. Never a
     * throw; every bound found still contains the address asked about.
     */
    @Test
    void corruptSectionsGiveFewerBoundsNeverAnError() throws Exception {
        assumeTrue(Files.isRegularFile(PYTHON), "Debian's python3");
        ElfFile elf = ElfFile.parse(ElfModule.map(PYTHON.toRealPath()));
        ElfFile.Section hdr = elf.section(".eh_frame_hdr");
        ElfFile.Section frames = elf.section(".eh_frame");
        byte[] realHdr = bytes(elf.sectionBytes(hdr));
        byte[] realFrames = bytes(elf.sectionBytes(frames));
        Random random = new Random(11);
        for (int round = 0; round < 300; round++) {
            byte[] h;
            byte[] f;
            if (round < 50) {
                h = new byte[random.nextInt(64)];
                f = new byte[random.nextInt(4096)];
                random.nextBytes(h);
                random.nextBytes(f);
                if (h.length > 4) {
                    h[0] = 1;                   /* past the version check */
                    h[3] = 0x3b;
                }
            } else {
                h = realHdr.clone();
                f = realFrames.clone();
                byte[] target = round % 2 == 0 ? h : f;
                for (int k = 0; k < 1 + random.nextInt(64); k++) {
                    target[random.nextInt(target.length)] = (byte) random.nextInt(256);
                }
            }
            FunctionBounds b = FunctionBounds.parse(ByteBuffer.wrap(h), hdr.addr(), ByteBuffer.wrap(f), frames.addr());
            for (int k = 0; k < 200; k++) {
                long v = frames.addr() + random.nextInt(1 << 24) - (1 << 20);
                long s = b.startOf(v);
                assertTrue(s == Long.MIN_VALUE || s <= v, "start " + s + " above " + v);
            }
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }
}
