package dev.stackstream.symbols.elf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import dev.stackstream.symbols.proc.TargetFiles;
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
    private final FunctionBounds functions;

    private ElfModule(String buildId, List<ElfFile.Segment> loads, SymbolTable symbols, String symbolSource,
                      FunctionBounds functions) {
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
        this.functions = functions;
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
        return 256 + loadOffsets.length * 24L + symbols.memoryBytes() + functions.memoryBytes();
    }

    /** The link-time address of a file offset, or {@code Long.MIN_VALUE} when no segment maps it. */
    public long fileOffsetToVirtual(long fileOffset) {
        int i = segmentOf(fileOffset);
        return i < 0 ? Long.MIN_VALUE : fileOffset - loadOffsets[i] + loadVaddrs[i];
    }

    /** The PT_LOAD segment whose file bytes hold a file offset, or -1. */
    private int segmentOf(long fileOffset) {
        for (int i = 0; i < loadOffsets.length; i++) {
            if (fileOffset >= loadOffsets[i] && fileOffset - loadOffsets[i] < loadSizes[i]) {
                return i;
            }
        }
        return -1;
    }

    /** Demangled name of the function at a file offset, or null. */
    public String functionAt(long fileOffset) {
        long v = fileOffsetToVirtual(fileOffset);
        return v == Long.MIN_VALUE ? null : symbols.nameAt(v);
    }

    /**
     * The file offset of the entry of the function that holds a file offset, by the module's
     * call-frame information ({@link FunctionBounds}); -1 when no FDE covers it. This is how a
     * function without a symbol is still one frame.
     */
    public long functionEntryAt(long fileOffset) {
        int i = segmentOf(fileOffset);
        long start = i < 0 ? Long.MIN_VALUE : functions.startOf(fileOffset - loadOffsets[i] + loadVaddrs[i]);
        return start == Long.MIN_VALUE || start < loadVaddrs[i] ? -1 : start - loadVaddrs[i] + loadOffsets[i];
    }

    /**
     * Loads a binary from disk (a path of the collector's own view).
     *
     * @param file where to read it
     * @param debugDirs roots for separate debug files
     * @param warn receives one message per problem that did not stop loading (a bad debug file)
     * @throws IOException unreadable file, or not a regular file
     * @throws ElfFormatException not a usable ELF64 LE file
     */
    public static ElfModule load(Path file, List<Path> debugDirs, UnaryOperator<String> demangler,
                                 Consumer<String> warn) throws IOException, ElfFormatException {
        return load(file, file, null, debugDirs, demangler, warn);
    }

    /**
     * As {@link #load(Path, List, UnaryOperator, Consumer)}, for a file read through another path
     * than the one the process knows it by (an opened descriptor's /proc/self/fd/N, a
     * /proc/PID/map_files link). The .gnu_debuglink search looks next to the logical path inside
     * {@code targetRoot} (the target's /proc/PID/root, resolved without leaving it; null when the
     * target is gone), next to it in the collector's own view, and under the debug roots.
     */
    public static ElfModule load(Path file, Path logicalPath, Path targetRoot, List<Path> debugDirs,
                                 UnaryOperator<String> demangler, Consumer<String> warn)
            throws IOException, ElfFormatException {
        ElfFile elf = ElfFile.parse(map(file));
        String buildId = hex(elf.buildId());
        ElfFile debug = null;
        String source = logicalPath.toString();
        DebugFile found = findDebugFile(file, logicalPath, targetRoot, elf, debugDirs, warn);
        if (found != null) {
            try {
                debug = ElfFile.parse(found.image());
                source = found.source();
            } catch (ElfFormatException e) {
                warn.accept("debug file " + found.source() + " unusable: " + e.getMessage());
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
        return new ElfModule(buildId, elf.loadSegments(), b.build(demangler), source, FunctionBounds.of(elf));
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

    /** A separate debug file found for a binary: its mapped image and where it was found. */
    record DebugFile(ByteBuffer image, String source) {
    }

    /**
     * The separate debug file for elf: {@code DIR/.build-id/xx/rest.debug} whose build-id matches,
     * else the .gnu_debuglink name next to the binary (inside the target's root, then in our own
     * view), in its .debug/ subdirectory or under a debug root, whose CRC-32 matches. Null when none.
     * Every candidate is opened as a regular file without blocking ({@link TargetFiles}).
     */
    static DebugFile findDebugFile(Path file, Path logicalPath, Path targetRoot, ElfFile elf,
                                   List<Path> debugDirs, Consumer<String> warn) {
        String buildId = hex(elf.buildId());
        if (buildId != null && buildId.length() > 2) {
            for (Path dir : debugDirs) {
                Path p = dir.resolve(".build-id").resolve(buildId.substring(0, 2))
                        .resolve(buildId.substring(2) + ".debug");
                ByteBuffer image = mapIfRegular(null, p);
                if (image != null) {
                    if (buildId.equals(buildIdOf(image))) {
                        return new DebugFile(image, p.toString());
                    }
                    warn.accept("debug file " + p + " has a different build-id; ignored");
                }
            }
        }
        ElfFile.DebugLink link = elf.debugLink();
        if (link == null || link.fileName().contains("/") || link.fileName().equals("..")) {
            return null;
        }
        List<Candidate> candidates = new ArrayList<>();
        Path logicalDir = logicalPath.toAbsolutePath().getParent();
        if (logicalDir != null) {
            for (Path root : targetRoot == null ? new Path[] {null} : new Path[] {targetRoot, null}) {
                candidates.add(new Candidate(root, logicalDir.resolve(link.fileName())));
                candidates.add(new Candidate(root, logicalDir.resolve(".debug").resolve(link.fileName())));
            }
            if (logicalDir.getNameCount() > 0) {
                for (Path root : debugDirs) {
                    candidates.add(new Candidate(null,
                            root.resolve(logicalDir.toString().substring(1)).resolve(link.fileName())));
                }
            }
        }
        for (Candidate c : candidates) {
            Path root = c.root();
            Path p = c.path();
            if (root == null && (p.equals(file.toAbsolutePath()) || p.equals(logicalPath.toAbsolutePath()))) {
                continue;
            }
            ByteBuffer image = mapIfRegular(root, p);
            if (image == null) {
                continue;
            }
            String where = root == null ? p.toString() : root + p.toString();
            String cid = buildIdOf(image);
            if (buildId != null && buildId.equals(cid)) {
                return new DebugFile(image, where); // same build-id: the CRC would match too
            }
            if (crc32(image) == link.crc32()) {
                return new DebugFile(image, where);
            }
            warn.accept("debug file " + where + " fails the .gnu_debuglink CRC check; ignored");
        }
        return null;
    }

    /** A debug-file candidate: a path inside root (the target's), or in our own view when root is null. */
    private record Candidate(Path root, Path path) {
    }

    /** The file mapped, or null when it is missing or not a regular file. */
    private static ByteBuffer mapIfRegular(Path root, Path p) {
        try (TargetFiles.OpenedFile f = TargetFiles.openInRoot(root == null ? Path.of("/") : root, p.toString())) {
            return mapOpened(f);
        } catch (IOException e) {
            return null;
        }
    }

    private static String buildIdOf(ByteBuffer image) {
        try {
            return hex(ElfFile.parse(image.duplicate()).buildId());
        } catch (ElfFormatException | RuntimeException e) {
            return null;
        }
    }

    static int crc32(ByteBuffer image) {
        CRC32 crc = new CRC32();
        crc.update(image.duplicate());
        return (int) crc.getValue();
    }

    static int crc32(Path p) throws IOException {
        return crc32(map(p));
    }

    /**
     * Maps a file read-only (the mapping is released when the buffer is collected). The file is
     * opened through {@link TargetFiles}: a FIFO or device under the path is refused, not waited on.
     */
    static ByteBuffer map(Path p) throws IOException {
        try (TargetFiles.OpenedFile f = TargetFiles.openTrusted(p)) {
            return mapOpened(f);
        }
    }

    private static ByteBuffer mapOpened(TargetFiles.OpenedFile f) throws IOException {
        try (FileChannel ch = FileChannel.open(f.path(), StandardOpenOption.READ)) {
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
