package dev.stackstream.symbols.elf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A read-only view of an ELF64 little-endian file (x86-64, aarch64) held in a {@link ByteBuffer}
 * (a mapped file, or bytes copied from a process such as its [vdso]).
 *
 * <p>Every offset and size read from the file is checked against the buffer before use: a corrupt
 * or truncated file gives an {@link ElfFormatException}, never an out-of-bounds read.
 */
public final class ElfFile {
    public static final int ET_EXEC = 2;
    public static final int ET_DYN = 3;
    public static final int PT_LOAD = 1;
    public static final int PT_NOTE = 4;
    public static final int SHT_SYMTAB = 2;
    public static final int SHT_NOTE = 7;
    public static final int SHT_NOBITS = 8;
    public static final int SHT_RELA = 4;
    public static final int SHT_DYNSYM = 11;
    public static final int EM_X86_64 = 62;
    public static final int EM_AARCH64 = 183;
    private static final int NT_GNU_BUILD_ID = 3;
    /** Bounds that no sane file exceeds; they stop a corrupt count from allocating gigabytes. */
    private static final int MAX_HEADERS = 65_535;

    private final ByteBuffer buf;
    private final int type;
    private final int machine;
    private final List<Segment> loads;
    private final List<Section> sections;
    private final byte[] buildId;

    /** A PT_LOAD program header. */
    public record Segment(long offset, long vaddr, long fileSize, long memSize, int flags) {
        public boolean executable() {
            return (flags & 1) != 0;
        }
    }

    /** A section header with its name resolved. */
    public record Section(String name, int type, long flags, long addr, long offset, long size, int link,
                          long entSize) {
        public boolean executable() {
            return (flags & 4) != 0;
        }
    }

    private ElfFile(ByteBuffer buf, int type, int machine, List<Segment> loads, List<Section> sections,
                    byte[] buildId) {
        this.buf = buf;
        this.type = type;
        this.machine = machine;
        this.loads = loads;
        this.sections = sections;
        this.buildId = buildId;
    }

    /** Parses the headers; the buffer is used from position 0 and must not be modified later. */
    public static ElfFile parse(ByteBuffer source) throws ElfFormatException {
        ByteBuffer b = source.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.clear();
        long size = b.capacity();
        if (size < 64) {
            throw new ElfFormatException("file too short for an ELF header (" + size + " bytes)");
        }
        if (b.get(0) != 0x7f || b.get(1) != 'E' || b.get(2) != 'L' || b.get(3) != 'F') {
            throw new ElfFormatException("no ELF magic");
        }
        if (b.get(4) != 2) {
            throw new ElfFormatException("not a 64-bit ELF file (class " + b.get(4) + ")");
        }
        if (b.get(5) != 1) {
            throw new ElfFormatException("not a little-endian ELF file (data " + b.get(5) + ")");
        }
        int type = Short.toUnsignedInt(b.getShort(16));
        int machine = Short.toUnsignedInt(b.getShort(18));
        long phoff = b.getLong(32);
        long shoff = b.getLong(40);
        int phentsize = Short.toUnsignedInt(b.getShort(54));
        int phnum = Short.toUnsignedInt(b.getShort(56));
        int shentsize = Short.toUnsignedInt(b.getShort(58));
        int shnum = Short.toUnsignedInt(b.getShort(60));
        int shstrndx = Short.toUnsignedInt(b.getShort(62));

        List<Segment> loads = new ArrayList<>();
        byte[] buildId = null;
        if (phnum > 0) {
            if (phentsize < 56) {
                throw new ElfFormatException("program header entry size " + phentsize + " < 56");
            }
            check(b, phoff, (long) phnum * phentsize, "program headers");
            for (int i = 0; i < phnum; i++) {
                int at = (int) (phoff + (long) i * phentsize);
                int ptype = b.getInt(at);
                int flags = b.getInt(at + 4);
                long off = b.getLong(at + 8);
                long vaddr = b.getLong(at + 16);
                long filesz = b.getLong(at + 32);
                long memsz = b.getLong(at + 40);
                if (ptype == PT_LOAD) {
                    loads.add(new Segment(off, vaddr, filesz, memsz, flags));
                } else if (ptype == PT_NOTE && buildId == null && inBounds(b, off, filesz)) {
                    buildId = findBuildId(b, off, filesz);
                }
            }
        }

        List<Section> sections = new ArrayList<>();
        if (shnum > 0 && shoff != 0) {
            if (shentsize < 64) {
                throw new ElfFormatException("section header entry size " + shentsize + " < 64");
            }
            if (shnum > MAX_HEADERS) {
                throw new ElfFormatException("implausible section count " + shnum);
            }
            check(b, shoff, (long) shnum * shentsize, "section headers");
            long strOff = 0;
            long strSize = 0;
            if (shstrndx < shnum) {
                int at = (int) (shoff + (long) shstrndx * shentsize);
                strOff = b.getLong(at + 24);
                strSize = b.getLong(at + 32);
                if (!inBounds(b, strOff, strSize)) {
                    strSize = 0;
                }
            }
            for (int i = 0; i < shnum; i++) {
                int at = (int) (shoff + (long) i * shentsize);
                int nameIdx = b.getInt(at);
                String name = strSize > 0 ? cString(b, strOff, strSize, Integer.toUnsignedLong(nameIdx)) : "";
                sections.add(new Section(name == null ? "" : name, b.getInt(at + 4), b.getLong(at + 8),
                        b.getLong(at + 16), b.getLong(at + 24), b.getLong(at + 32), b.getInt(at + 40),
                        b.getLong(at + 56)));
            }
            if (buildId == null) {
                for (Section s : sections) {
                    if (s.type() == SHT_NOTE && inBounds(b, s.offset(), s.size())) {
                        buildId = findBuildId(b, s.offset(), s.size());
                        if (buildId != null) {
                            break;
                        }
                    }
                }
            }
        }
        return new ElfFile(b, type, machine, List.copyOf(loads), List.copyOf(sections), buildId);
    }

    private static byte[] findBuildId(ByteBuffer b, long off, long size) {
        long p = off;
        long end = off + size;
        while (p + 12 <= end) {
            long namesz = Integer.toUnsignedLong(b.getInt((int) p));
            long descsz = Integer.toUnsignedLong(b.getInt((int) p + 4));
            int ntype = b.getInt((int) p + 8);
            long name = p + 12;
            long desc = name + align4(namesz);
            long next = desc + align4(descsz);
            if (next > end || next <= p) {
                return null;
            }
            if (ntype == NT_GNU_BUILD_ID && namesz == 4 && b.get((int) name) == 'G' && b.get((int) name + 1) == 'N'
                    && b.get((int) name + 2) == 'U' && descsz > 0 && descsz <= 64) {
                byte[] id = new byte[(int) descsz];
                b.get((int) desc, id);
                return id;
            }
            p = next;
        }
        return null;
    }

    private static long align4(long v) {
        return (v + 3) & ~3L;
    }

    static boolean inBounds(ByteBuffer b, long off, long len) {
        return off >= 0 && len >= 0 && off <= b.capacity() && len <= b.capacity() - off;
    }

    static void check(ByteBuffer b, long off, long len, String what) throws ElfFormatException {
        if (!inBounds(b, off, len)) {
            throw new ElfFormatException(what + " [" + off + ", +" + len + ") outside the file ("
                    + b.capacity() + " bytes)");
        }
    }

    /** NUL-terminated string at table[idx], or null when it runs off the table. */
    static String cString(ByteBuffer b, long tableOff, long tableSize, long idx) {
        if (idx < 0 || idx >= tableSize) {
            return null;
        }
        int start = (int) (tableOff + idx);
        int limit = (int) (tableOff + tableSize);
        int p = start;
        while (p < limit && b.get(p) != 0) {
            p++;
        }
        if (p >= limit) {
            return null;
        }
        byte[] bytes = new byte[p - start];
        b.get(start, bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** ET_EXEC, ET_DYN... */
    public int type() {
        return type;
    }

    public int machine() {
        return machine;
    }

    public List<Segment> loadSegments() {
        return loads;
    }

    public List<Section> sections() {
        return sections;
    }

    /** GNU build-id (from a PT_NOTE segment or a note section), or null. */
    public byte[] buildId() {
        return buildId == null ? null : buildId.clone();
    }

    /** The first section of that name, or null. */
    public Section section(String name) {
        for (Section s : sections) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        return null;
    }

    /** The section at index i, or null. */
    public Section section(int index) {
        return index >= 0 && index < sections.size() ? sections.get(index) : null;
    }

    /** The bytes of a section (a view; bounds checked), little-endian. */
    public ByteBuffer sectionBytes(Section s) throws ElfFormatException {
        if (s.type() == SHT_NOBITS) {
            throw new ElfFormatException("section " + s.name() + " has no bytes in this file (NOBITS)");
        }
        check(buf, s.offset(), s.size(), "section " + s.name());
        return buf.slice((int) s.offset(), (int) s.size()).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The .gnu_debuglink target: the debug file's name and the CRC-32 of its contents; null when
     * absent or malformed.
     */
    public DebugLink debugLink() {
        Section s = section(".gnu_debuglink");
        if (s == null || s.type() == SHT_NOBITS || !inBounds(buf, s.offset(), s.size())) {
            return null;
        }
        String name = cString(buf, s.offset(), s.size(), 0);
        if (name == null || name.isEmpty()) {
            return null;
        }
        long crcAt = align4(name.getBytes(StandardCharsets.UTF_8).length + 1L);
        if (crcAt + 4 > s.size()) {
            return null;
        }
        return new DebugLink(name, buf.getInt((int) (s.offset() + crcAt)));
    }

    /** A .gnu_debuglink entry. */
    public record DebugLink(String fileName, int crc32) {
    }
}
