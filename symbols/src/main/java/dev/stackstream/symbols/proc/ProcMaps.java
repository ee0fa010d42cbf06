package dev.stackstream.symbols.proc;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads the executable mappings of a process from {@code /proc/PID/maps}. */
public final class ProcMaps {
    private ProcMaps() {
    }

    /**
     * Executable mappings of pid, sorted by start.
     *
     * @throws IOException when the process is gone or its maps are not readable (another user's
     *     process needs CAP_SYS_PTRACE)
     */
    public static List<Mapping> read(Path procRoot, int pid) throws IOException {
        try (BufferedReader r = Files.newBufferedReader(procRoot.resolve(Integer.toString(pid)).resolve("maps"),
                StandardCharsets.UTF_8)) {
            List<Mapping> out = new ArrayList<>();
            String line;
            while ((line = r.readLine()) != null) {
                Mapping m = parseLine(line);
                if (m != null) {
                    out.add(m);
                }
            }
            out.sort((a, b) -> Long.compareUnsigned(a.start(), b.start()));
            return out;
        }
    }

    /**
     * One line of /proc/PID/maps ({@code start-end perms offset dev inode   path}); null for
     * non-executable mappings and lines that do not parse.
     */
    static Mapping parseLine(String line) {
        int dash = line.indexOf('-');
        int sp1 = line.indexOf(' ', dash + 1);
        if (dash <= 0 || sp1 < 0) {
            return null;
        }
        int sp2 = line.indexOf(' ', sp1 + 1);
        int sp3 = sp2 < 0 ? -1 : line.indexOf(' ', sp2 + 1);
        int sp4 = sp3 < 0 ? -1 : line.indexOf(' ', sp3 + 1);
        if (sp4 < 0) {
            return null;
        }
        String perms = line.substring(sp1 + 1, sp2);
        if (perms.length() < 3 || perms.charAt(2) != 'x') {
            return null;
        }
        int sp5 = line.indexOf(' ', sp4 + 1);
        String inodeText = sp5 < 0 ? line.substring(sp4 + 1) : line.substring(sp4 + 1, sp5);
        String path = "";
        if (sp5 >= 0) {
            int p = sp5;
            while (p < line.length() && line.charAt(p) == ' ') {
                p++;
            }
            path = line.substring(p);
        }
        try {
            long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
            long end = Long.parseUnsignedLong(line.substring(dash + 1, sp1), 16);
            long offset = Long.parseUnsignedLong(line.substring(sp2 + 1, sp3), 16);
            long inode = Long.parseLong(inodeText.trim());
            return Mapping.of(start, end, offset, path, inode, null);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
