package dev.stackstream.symbols;

import dev.stackstream.symbols.elf.ElfModule;
import dev.stackstream.symbols.elf.FileIdentity;
import dev.stackstream.symbols.proc.Mapping;
import dev.stackstream.symbols.proc.TargetFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * Opens the file behind a file mapping of a target process, through {@link TargetFiles} (inside the
 * target's root, regular files only, never blocking), and says what proves it is the mapped file.
 *
 * <p>Where from, in order:
 * <ol>
 *   <li>{@code /proc/PID/map_files/START-END} when maps says {@code (deleted)} or when the path's inode
 *   is not the mapped one (a package upgrade replaced the binary): that link is the very file
 *   mapped;</li>
 *   <li>the path inside the target's root, {@code /proc/PID/root} (its mount namespace; "/" for
 *   processes in ours);</li>
 *   <li>when the target's root cannot be reached — the process has exited, is a zombie not yet
 *   reaped (stacks drained at the end of a short command are symbolized then), or belongs to
 *   another user without CAP_SYS_PTRACE — the path in the collector's own view. Such a file counts
 *   only when {@link #proven} by the mapping's inode or build-id.</li>
 * </ol>
 */
final class MappedFiles {
    private MappedFiles() {
    }

    /**
     * An opened mapped file.
     *
     * @param targetRoot the target's /proc/PID/root when the file was reached through it, else null
     * @param throughTarget reached through the live target (its root or map_files): no proof needed
     */
    record Opened(TargetFiles.OpenedFile file, Path targetRoot, boolean throughTarget) implements AutoCloseable {
        @Override
        public void close() {
            file.close();
        }
    }

    static Opened open(Path proc, int pid, Mapping m) throws IOException {
        Path dir = proc.resolve(Integer.toString(pid));
        Path root = dir.resolve("root");
        if (!Files.isDirectory(root)) {
            return new Opened(TargetFiles.openInRoot(Path.of("/"), m.path()), null, false);
        }
        if (m.deleted()) {
            return new Opened(TargetFiles.openTrusted(mapFile(dir, m)), root, true);
        }
        TargetFiles.OpenedFile f = TargetFiles.openInRoot(root, m.path());
        if (m.inode() != 0) {
            boolean replaced;
            try {
                replaced = FileIdentity.of(f.path()).inode() != m.inode();
            } catch (IOException e) {
                f.close();
                throw e;
            }
            if (replaced) {
                f.close();
                return new Opened(TargetFiles.openTrusted(mapFile(dir, m)), root, true);
            }
        }
        return new Opened(f, root, true);
    }

    static Path mapFile(Path procPid, Mapping m) {
        return procPid.resolve("map_files").resolve(Long.toHexString(m.start()) + "-" + Long.toHexString(m.end()));
    }

    /**
     * For a file not reached through the target: its inode (from /proc/PID/maps) or its build-id
     * (from the kernel's MMAP2 record) matches the mapping. A file replaced since must give
     * unresolved frames, never another binary's names.
     */
    static boolean proven(Mapping m, FileIdentity id, ElfModule module) {
        if (m.inode() != 0) {
            return m.inode() == id.inode();
        }
        return m.buildId() != null && module != null && module.buildId() != null
                && module.buildId().equals(HexFormat.of().formatHex(m.buildId()));
    }

    /**
     * True when the mapping's build-id (reported by the kernel or the sampler) and the file's
     * disagree: the file read is not the one mapped (a pid reused, a binary replaced in place), so
     * its names must not be used.
     */
    static boolean buildIdsDisagree(Mapping m, ElfModule module) {
        return m.buildId() != null && m.buildId().length > 0 && module != null && module.buildId() != null
                && !module.buildId().equals(HexFormat.of().formatHex(m.buildId()));
    }
}
