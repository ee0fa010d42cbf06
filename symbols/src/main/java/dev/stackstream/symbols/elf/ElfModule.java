package dev.stackstream.symbols.elf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32;

/**
 * The symbols of one ELF binary, ready for lookups by file offset: its PT_LOAD segments (file
 * offset to link-time address), build-id, and a {@link SymbolTable} merged from the best sources —
 * a separate debug file found by build-id or .gnu_debuglink, else the file's own .symtab — plus its
 * .dynsym and PLT entries. Immutable; shared by every process that maps the binary.
 */
public final class ElfModule {
    /** Files larger than this are not mapped (a ByteBuffer indexes with int). */
    private static final long MAX_FILE = Integer.MAX_VALUE;

    private final String buildId;
    /** PT_LOAD file offsets, link-time addresses and extents, as arrays: this is the hot path. */
    private final long[] loadOffsets;
    private final long[] loadVaddrs;
    private final long[] loadSizes;
    private final SymbolTable symbols;
    private final String symbolSource;

    private ElfModule(String buildId, List<ElfFile.Segment> loads, SymbolTable symbols, String symbolSource) {
        this.buildId = buildId;
        int n = loads.size();
        this.loadOffsets = new long[n];
        this.loadVaddrs = new long[n];
        this.loadSizes = new long[n];
        for (int i = 0; i < n; i++) {
            ElfFile.Segment s = loads.get(i);
            loadOffsets[i] = s.offset();
            loadVaddrs[i] = s.vaddr();
            loadSizes[i] = s.fileSize(); // code is file-backed; memsz beyond filesz is .bss
        }
        this.symbols = symbols;
        this.symbolSource = symbolSource;
    }

    /** Lower-case hex build-id, or null. */
    public String buildId() {
        return buildId;
    }

    public SymbolTable symbols() {
        return symbols;
    }

    /** Which file the main symbol table came from (the binary itself, or its debug file). */
    public String symbolSource() {
        return symbolSource;
    }

    public long memoryBytes() {
        return 256 + loadOffsets.length * 24L + symbols.memoryBytes();
    }

    /** The link-time address of a file offset, or {@code Long.MIN_VALUE} when no segment maps it. */
    public long fileOffsetToVirtual(long fileOffset) {
        for (int i = 0; i < loadOffsets.length; i++) {
            long rel = fileOffset - loadOffsets[i];
            if (fileOffset >= loadOffsets[i] && rel < loadSizes[i]) {
                return rel + loadVaddrs[i];
            }
        }
        return Long.MIN_VALUE;
    }

    /** Demangled name of the function at a file offset, or null. */
    public String functionAt(long fileOffset) {
        long v = fileOffsetToVirtual(fileOffset);
        return v == Long.MIN_VALUE ? null : symbols.nameAt(v);
    }

    /**
     * Loads a binary from disk.
     *
     * @param file where to read it (may be a /proc/PID/root/... or /proc/PID/map_files/... path)
     * @param debugDirs roots for separate debug files
     * @param warn receives one message per problem that did not stop loading (a bad debug file)
     * @throws IOException unreadable file
     * @throws ElfFormatException not a usable ELF64 LE file
     */
    public static ElfModule load(Path file, List<Path> debugDirs, UnaryOperator<String> demangler,
                                 Consumer<String> warn) throws IOException, ElfFormatException {
        return load(file, file, debugDirs, demangler, warn);
    }

    /**
     * As {@link #load(Path, List, UnaryOperator, Consumer)}, for a file read through another path
     * than the one the process knows it by (/proc/PID/root/..., /proc/PID/map_files/...): the
     * .gnu_debuglink search looks next to both, and under the debug roots by the logical path.
     */
    public static ElfModule load(Path file, Path logicalPath, List<Path> debugDirs, UnaryOperator<String> demangler,
                                 Consumer<String> warn) throws IOException, ElfFormatException {
        ElfFile elf = ElfFile.parse(map(file));
        String buildId = hex(elf.buildId());
        ElfFile debug = null;
        String source = file.toString();
        Path debugPath = findDebugFile(file, logicalPath, elf, debugDirs, warn);
        if (debugPath != null) {
            try {
                debug = ElfFile.parse(map(debugPath));
                source = debugPath.toString();
            } catch (IOException | ElfFormatException e) {
                warn.accept("debug file " + debugPath + " unusable: " + e.getMessage());
            }
        }
        return build(elf, debug, buildId, source, demangler, warn);
    }

    /** A module from bytes already in memory (the [vdso] image read from a process). */
    public static ElfModule fromImage(ByteBuffer image, UnaryOperator<String> demangler, Consumer<String> warn)
            throws ElfFormatException {
        ElfFile elf = ElfFile.parse(image);
        return build(elf, null, hex(elf.buildId()), "[vdso]", demangler, warn);
    }

    private static ElfModule build(ElfFile elf, ElfFile debug, String buildId, String source,
                                   UnaryOperator<String> demangler, Consumer<String> warn) throws ElfFormatException {
        SymbolTableBuilder b = new SymbolTableBuilder();
        boolean haveSymtab = false;
        if (debug != null) {
            haveSymtab = addAll(b, debug, ElfFile.SHT_SYMTAB, 0, warn) > 0;
        }
        if (!haveSymtab) {
            addAll(b, elf, ElfFile.SHT_SYMTAB, 0, warn);
        }
        addAll(b, elf, ElfFile.SHT_DYNSYM, 1, warn);
        try {
            b.addPltSymbols(elf);
            b.addPltGotSymbols(elf);
        } catch (ElfFormatException | RuntimeException e) {
            warn.accept("PLT entries unreadable: " + e.getMessage());
        }
        if (elf.loadSegments().isEmpty()) {
            throw new ElfFormatException("no PT_LOAD segments");
        }
        return new ElfModule(buildId, elf.loadSegments(), b.build(demangler), source);
    }

    private static int addAll(SymbolTableBuilder b, ElfFile elf, int type, int priority, Consumer<String> warn) {
        int n = 0;
        for (ElfFile.Section s : elf.sections()) {
            if (s.type() == type) {
                try {
                    n += b.addSymbols(elf, s, priority);
                } catch (ElfFormatException | RuntimeException e) {
                    warn.accept("symbol section " + s.name() + " unreadable: " + e.getMessage());
                }
            }
        }
        return n;
    }

    /**
     * The separate debug file for elf: {@code DIR/.build-id/xx/rest.debug} whose build-id matches,
     * else the .gnu_debuglink name next to the file, in its .debug/ subdirectory or under a debug
     * root, whose CRC-32 matches. Null when none.
     */
    static Path findDebugFile(Path file, Path logicalPath, ElfFile elf, List<Path> debugDirs,
                              Consumer<String> warn) {
        String buildId = hex(elf.buildId());
        if (buildId != null && buildId.length() > 2) {
            for (Path dir : debugDirs) {
                Path p = dir.resolve(".build-id").resolve(buildId.substring(0, 2))
                        .resolve(buildId.substring(2) + ".debug");
                if (Files.isRegularFile(p)) {
                    if (buildId.equals(buildIdOf(p))) {
                        return p;
                    }
                    warn.accept("debug file " + p + " has a different build-id; ignored");
                }
            }
        }
        ElfFile.DebugLink link = elf.debugLink();
        if (link == null || link.fileName().contains("/")) {
            return null;
        }
        List<Path> candidates = new ArrayList<>();
        for (Path p : List.of(file, logicalPath)) {
            Path dir = p.toAbsolutePath().getParent();
            if (dir != null && !dir.toString().contains("/map_files")) {
                candidates.add(dir.resolve(link.fileName()));
                candidates.add(dir.resolve(".debug").resolve(link.fileName()));
            }
        }
        Path logicalDir = logicalPath.toAbsolutePath().getParent();
        if (logicalDir != null && logicalDir.getNameCount() > 0) {
            for (Path root : debugDirs) {
                candidates.add(root.resolve(logicalDir.toString().substring(1)).resolve(link.fileName()));
            }
        }
        for (Path c : candidates) {
            if (c.equals(file.toAbsolutePath()) || !Files.isRegularFile(c)) {
                continue;
            }
            String cid = buildIdOf(c);
            if (buildId != null && buildId.equals(cid)) {
                return c; // same build-id: the CRC would match too, skip reading the whole file
            }
            try {
                if (crc32(c) == link.crc32()) {
                    return c;
                }
                warn.accept("debug file " + c + " fails the .gnu_debuglink CRC check; ignored");
            } catch (IOException e) {
                warn.accept("debug file " + c + " unreadable: " + e.getMessage());
            }
        }
        return null;
    }

    private static String buildIdOf(Path p) {
        try {
            return hex(ElfFile.parse(map(p)).buildId());
        } catch (IOException | ElfFormatException | RuntimeException e) {
            return null;
        }
    }

    static int crc32(Path p) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(map(p));
        return (int) crc.getValue();
    }

    /** Maps a file read-only; the mapping is released when the buffer is collected. */
    static ByteBuffer map(Path p) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > MAX_FILE) {
                throw new IOException("file larger than 2 GiB: " + size + " bytes");
            }
            if (size == 0) {
                return ByteBuffer.allocate(0);
            }
            MappedByteBuffer mb = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            return mb;
        }
    }

    static String hex(byte[] id) {
        return id == null || id.length == 0 ? null : HexFormat.of().formatHex(id);
    }
}
