package dev.stackstream.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.stackstream.symbols.demangle.Demangler;
import dev.stackstream.symbols.elf.ElfModule;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** PLT entries are named like binutils' objdump names them ({@code name@plt}). */
class PltTest {
    private static final Pattern ENTRY = Pattern.compile("^([0-9a-f]+) <(.+@plt)>:$");

    private static void check(Path binary, boolean ifuncs) throws Exception {
        assumeTrue(Files.isReadable(binary) && TestPrograms.onPath("objdump"), binary + " or objdump missing");
        ElfModule m = ElfModule.load(binary, List.of(Path.of("/usr/lib/debug")), new Demangler(false), w -> { });
        // .plt is mapped at file offset == link address in these binaries (checked through readelf).
        String sections = TestPrograms.output(List.of("readelf", "-SW", binary.toString()));
        Matcher plt = Pattern.compile("\\] \\.plt\\s+PROGBITS\\s+([0-9a-f]+) ([0-9a-f]+) ").matcher(sections);
        assertTrue(plt.find() && Long.parseLong(plt.group(1), 16) == Long.parseLong(plt.group(2), 16),
                ".plt at offset == address");
        int checked = 0;
        int absolute = 0;
        String listing = TestPrograms.output(List.of("objdump", "-d", "-j", ".plt", binary.toString()))
                + TestPrograms.output(List.of("objdump", "-d", "-j", ".plt.got", binary.toString()));
        int pltGot = 0;
        for (String line : listing.split("\n")) {
            Matcher e = ENTRY.matcher(line.trim());
            if (!e.matches()) {
                continue;
            }
            long addr = Long.parseUnsignedLong(e.group(1), 16);
            String ours = m.functionAt(addr + 2);
            pltGot += listing.indexOf(line) > listing.indexOf("section .plt.got") && listing.contains("section .plt.got")
                    ? 1 : 0;
            if (e.group(2).startsWith("*ABS*+")) {
                // An ifunc called through the PLT: objdump prints the resolver address, we its name.
                absolute++;
                assertTrue(ours != null && ours.endsWith("@plt"), e.group(2) + " vs " + ours);
            } else {
                assertEquals(e.group(2), ours, "PLT entry at " + e.group(1));
            }
            checked++;
        }
        assertTrue(checked > 10, "PLT entries compared: " + checked);
        assertTrue(pltGot >= 2, ".plt.got entries compared: " + pltGot);
        assertEquals(ifuncs, absolute > 0);
    }

    @Test
    void executableWithLazyPlt() throws Exception {
        check(Path.of("/usr/bin/sqlite3"), false);
    }

    @Test
    void libcWithIfuncEntriesOutOfOrder() throws Exception {
        check(Path.of("/usr/lib/x86_64-linux-gnu/libc.so.6"), true);
    }
}
