package dev.stackstream.profile.render;

/**
 * Frame colour schemes of the SVG and HTML flame graphs, after flamegraph.pl's {@code --colors}.
 * Colours are derived from the frame name (a hash), so the same function has the same colour in
 * every graph and every render is deterministic.
 */
public enum Palette {
    /** Warm reds, oranges and yellows: the classic CPU flame graph. */
    HOT,
    /**
     * By frame kind, as flamegraph.pl's java palette: kernel frames orange, JIT-compiled frames
     * green, native user frames red; inlined Java frames aqua.
     */
    JAVA,
    /** Greens, for memory (allocation, page fault) profiles. */
    MEM,
    /** Blues, for I/O and off-CPU profiles. */
    IO;

    /** Parses {@code hot}, {@code java}, {@code mem}, {@code io} (any case). */
    public static Palette parse(String name) {
        for (Palette p : values()) {
            if (p.name().equalsIgnoreCase(name.trim())) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown palette '" + name + "' (expected hot, java, mem or io)");
    }
}
