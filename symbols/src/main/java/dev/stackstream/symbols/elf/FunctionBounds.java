package dev.stackstream.symbols.elf;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Where the functions of a module begin and end, from its call-frame information: every FDE of
 * {@code .eh_frame} covers one function ({@code [pc_begin, pc_begin + pc_range)}), and
 * {@code .eh_frame_hdr} lists them all, sorted, for the unwinder's binary search. A stripped binary
 * keeps both (the unwinder needs them), so an address in a function that has no symbol still has
 * a known function entry.
 *
 * <p>Why: an unnamed frame reported at its instruction offset is a different frame for every
 * instruction of the function. Stacks through a stripped interpreter (Debian's python3 has no
 * names for about half of its samples' leaves) then never repeat, so every window brings hundreds
 * of new stacks to symbolize, hash, define on the wire and keep in the aggregator. Reported at its
 * function's entry, the frame is one per function, as a named frame is after
 * function-level reduction, and still names the function exactly once symbols are found by
 * build-id.
 *
 * <p>Only what GCC, Clang and the GNU assembler emit is read: the header's table in
 * {@code DW_EH_PE_datarel|sdata4} (or sdata8/udata4/udata8), FDE pointers in absolute or
 * pc-relative form of any fixed or LEB128 size. Anything else, and any entry that does not parse,
 * is left out: no bounds are better than wrong ones. Immutable and thread-safe.
 */
public final class FunctionBounds {
    public static final FunctionBounds NONE = new FunctionBounds(new long[0], new long[0]);

    private static final int DW_EH_PE_OMIT = 0xff;
    private static final int DW_EH_PE_PCREL = 0x10;
    private static final int DW_EH_PE_DATAREL = 0x30;

    /** Link-time start and end addresses, sorted by start. */
    private final long[] starts;
    private final long[] ends;

    private FunctionBounds(long[] starts, long[] ends) {
        this.starts = starts;
        this.ends = ends;
    }

    /** The bounds in a module's .eh_frame_hdr and .eh_frame; {@link #NONE} when absent or unreadable. */
    public static FunctionBounds of(ElfFile elf) {
        ElfFile.Section hdr = elf.section(".eh_frame_hdr");
        ElfFile.Section frames = elf.section(".eh_frame");
        if (hdr == null || frames == null || hdr.type() == ElfFile.SHT_NOBITS || frames.type() == ElfFile.SHT_NOBITS) {
            return NONE;
        }
        try {
            return parse(elf.sectionBytes(hdr), hdr.addr(), elf.sectionBytes(frames), frames.addr());
        } catch (ElfFormatException | RuntimeException e) {
            return NONE;
        }
    }

    /**
     * Parses the sections' bytes.
     *
     * @param hdr .eh_frame_hdr, whose link-time address is hdrAddr
     * @param frames .eh_frame, whose link-time address is framesAddr
     */
    static FunctionBounds parse(ByteBuffer hdr, long hdrAddr, ByteBuffer frames, long framesAddr) {
        try {
            return parseTable(hdr, hdrAddr, frames, framesAddr);
        } catch (BufferUnderflowException | IllegalArgumentException | IndexOutOfBoundsException e) {
            return NONE;                        /* a header or table that does not parse */
        }
    }

    private static FunctionBounds parseTable(ByteBuffer hdr, long hdrAddr, ByteBuffer frames, long framesAddr) {
        Cursor h = new Cursor(hdr, hdrAddr, hdrAddr);
        if (h.u8() != 1) {
            return NONE;
        }
        int framePtrEnc = h.u8();
        int countEnc = h.u8();
        int tableEnc = h.u8();
        if (framePtrEnc == DW_EH_PE_OMIT || countEnc == DW_EH_PE_OMIT || tableEnc == DW_EH_PE_OMIT
                || (tableEnc & 0x70) != DW_EH_PE_DATAREL) {
            return NONE;
        }
        h.pointer(framePtrEnc);
        long count = h.pointer(countEnc);
        int entrySize = fixedSize(tableEnc);
        if (entrySize == 0 || count <= 0 || count > (long) hdr.remaining() / (2L * entrySize)) {
            return NONE;
        }
        long[] starts = new long[(int) count];
        long[] ends = new long[(int) count];
        Map<Integer, Integer> cieEncodings = new HashMap<>();
        int n = 0;
        for (long i = 0; i < count; i++) {
            long start = h.pointer(tableEnc);
            long fde = h.pointer(tableEnc);
            long range = fdeRange(frames, framesAddr, fde - framesAddr, start, cieEncodings);
            if (range > 0) {
                starts[n] = start;
                ends[n] = start + range;
                n++;
            }
        }
        starts = Arrays.copyOf(starts, n);
        ends = Arrays.copyOf(ends, n);
        // The linker writes the table sorted (the unwinder's binary search needs it); one that is
        // not was not written by a linker.
        return n == 0 || !sorted(starts) ? NONE : new FunctionBounds(starts, ends);
    }

    /**
     * The pc_range of the FDE at offset off of .eh_frame, if its pc_begin is the table's start;
     * else (or when it does not parse) -1.
     */
    private static long fdeRange(ByteBuffer frames, long framesAddr, long off, long start,
                                 Map<Integer, Integer> cieEncodings) {
        if (off < 0 || off > frames.limit() - 8L) {
            return -1;
        }
        try {
            Cursor c = new Cursor(frames, framesAddr, 0);
            c.seek((int) off);
            long length = c.u32();
            if (length == 0xffffffffL) {
                length = c.u64();
            }
            if (length < 8 || length > frames.limit() - c.pos()) {
                return -1;
            }
            int idAt = c.pos();
            long ciePointer = c.u32();
            long cieAt = idAt - ciePointer;
            if (ciePointer == 0 || cieAt < 0) {
                return -1;                      /* a CIE, not an FDE, or a pointer out of the section */
            }
            Integer enc = cieEncodings.get((int) cieAt);
            if (enc == null) {
                enc = cieFdeEncoding(frames, framesAddr, (int) cieAt);
                cieEncodings.put((int) cieAt, enc);
            }
            if (enc < 0) {
                return -1;
            }
            long begin = c.pointer(enc);
            long range = c.pointer(enc & 0x0f);
            return begin == start && range > 0 && range < (1L << 32) ? range : -1;
        } catch (BufferUnderflowException | IllegalArgumentException | IndexOutOfBoundsException e) {
            return -1;
        }
    }

    /** The FDE pointer encoding ('R' augmentation) of the CIE at off; absptr without one; -1 when unreadable. */
    private static int cieFdeEncoding(ByteBuffer frames, long framesAddr, int off) {
        try {
            Cursor c = new Cursor(frames, framesAddr, 0);
            c.seek(off);
            long length = c.u32();
            if (length == 0xffffffffL) {
                length = c.u64();
            }
            if (length < 4 || c.u32() != 0) {
                return -1;
            }
            int version = c.u8();
            StringBuilder aug = new StringBuilder();
            for (int ch = c.u8(); ch != 0; ch = c.u8()) {
                if (aug.length() > 16) {
                    return -1;
                }
                aug.append((char) ch);
            }
            if (aug.indexOf("eh") >= 0) {
                return -1;                      /* pre-GCC-3 layout */
            }
            c.uleb();                           /* code alignment */
            c.sleb();                           /* data alignment */
            if (version == 1) {
                c.u8();                         /* return address register */
            } else {
                c.uleb();
            }
            if (aug.length() == 0 || aug.charAt(0) != 'z') {
                return 0;                       /* absptr */
            }
            c.uleb();                           /* augmentation data length */
            for (int i = 1; i < aug.length(); i++) {
                switch (aug.charAt(i)) {
                    case 'R':
                        return c.u8();
                    case 'L':
                        c.u8();
                        break;
                    case 'P':
                        c.pointer(c.u8() & 0x7f);   /* the personality routine (indirect or not) */
                        break;
                    case 'S':
                    case 'B':
                        break;
                    default:
                        return -1;
                }
            }
            return 0;
        } catch (BufferUnderflowException | IllegalArgumentException | IndexOutOfBoundsException e) {
            return -1;
        }
    }

    /** Bytes of a fixed-size encoding; 0 for LEB128 and unknown ones. */
    private static int fixedSize(int enc) {
        return switch (enc & 0x0f) {
            case 0x00, 0x04, 0x0c -> 8;
            case 0x02, 0x0a -> 2;
            case 0x03, 0x0b -> 4;
            default -> 0;
        };
    }

    private static boolean sorted(long[] a) {
        for (int i = 1; i < a.length; i++) {
            if (a[i] < a[i - 1]) {
                return false;
            }
        }
        return true;
    }

    /** Functions known. */
    public int size() {
        return starts.length;
    }

    /** The start of the function whose range holds vaddr, or {@code Long.MIN_VALUE}. */
    public long startOf(long vaddr) {
        int i = Arrays.binarySearch(starts, vaddr);
        if (i < 0) {
            i = -i - 2;                         /* the last start below vaddr */
        } else {
            while (i + 1 < starts.length && starts[i + 1] == vaddr) {
                i++;
            }
        }
        // Ranges do not nest in practice, but an FDE may end before the next starts (padding, code without CFI).
        return i >= 0 && vaddr < ends[i] ? starts[i] : Long.MIN_VALUE;
    }

    public long memoryBytes() {
        return 32 + 16L * starts.length;
    }

    /** Reads DWARF-encoded values from a section whose byte 0 is at link-time address base. */
    private static final class Cursor {
        private final ByteBuffer b;
        private final long base;
        private final long dataBase;

        Cursor(ByteBuffer b, long base, long dataBase) {
            this.b = b.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
            this.b.position(0);
            this.base = base;
            this.dataBase = dataBase;
        }

        int pos() {
            return b.position();
        }

        void seek(int p) {
            b.position(p);
        }

        int u8() {
            return b.get() & 0xff;
        }

        long u32() {
            return b.getInt() & 0xffffffffL;
        }

        long u64() {
            return b.getLong();
        }

        long uleb() {
            long v = 0;
            for (int shift = 0; ; shift += 7) {
                int x = u8();
                if (shift < 64) {
                    v |= (long) (x & 0x7f) << shift;
                }
                if ((x & 0x80) == 0) {
                    return v;
                }
                if (shift > 70) {
                    throw new IllegalArgumentException("LEB128 too long");
                }
            }
        }

        long sleb() {
            long v = 0;
            int shift = 0;
            int x;
            do {
                x = u8();
                if (shift < 64) {
                    v |= (long) (x & 0x7f) << shift;
                }
                shift += 7;
                if (shift > 77) {
                    throw new IllegalArgumentException("LEB128 too long");
                }
            } while ((x & 0x80) != 0);
            return shift < 64 && (x & 0x40) != 0 ? v | (-1L << shift) : v;
        }

        /** A pointer in encoding enc: absolute, pc-relative or (datarel) relative to the data base. */
        long pointer(int enc) {
            long at = base + b.position();
            long v = switch (enc & 0x0f) {
                case 0x00, 0x04, 0x0c -> b.getLong();
                case 0x01 -> uleb();
                case 0x02 -> b.getShort() & 0xffffL;
                case 0x03 -> b.getInt() & 0xffffffffL;
                case 0x09 -> sleb();
                case 0x0a -> b.getShort();
                case 0x0b -> b.getInt();
                default -> throw new IllegalArgumentException("pointer encoding 0x" + Integer.toHexString(enc));
            };
            return switch (enc & 0x70) {
                case 0x00 -> v;
                case DW_EH_PE_PCREL -> at + v;
                case DW_EH_PE_DATAREL -> dataBase + v;
                default -> throw new IllegalArgumentException("pointer application 0x" + Integer.toHexString(enc));
            };
        }
    }
}
