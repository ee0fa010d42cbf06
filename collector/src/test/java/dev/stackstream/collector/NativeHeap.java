package dev.stackstream.collector;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;

/** Bytes the C heap (glibc malloc) has handed out, through mallinfo2(3); for leak tests. */
final class NativeHeap {
    private NativeHeap() {
    }

    /** struct mallinfo2 (glibc >= 2.33), returned by value. */
    @Structure.FieldOrder({"arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
            "fordblks", "keepcost"})
    public static final class MallInfo2 extends Structure implements Structure.ByValue {
        public long arena;
        public long ordblks;
        public long smblks;
        public long hblks;
        public long hblkhd;
        public long usmblks;
        public long fsmblks;
        public long uordblks;
        public long fordblks;
        public long keepcost;
    }

    /** The libc function used. */
    public interface LibC extends Library {
        MallInfo2 mallinfo2();
    }

    private static final LibC LIBC = Native.load("c", LibC.class);

    /** Allocated bytes: in-use chunks of the arenas plus mmapped chunks. */
    static long inUseBytes() {
        MallInfo2 m = LIBC.mallinfo2();
        return m.uordblks + m.hblkhd;
    }
}
