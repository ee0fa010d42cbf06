package dev.stackstream.symbols;

/** Creates {@link Symbolizer}s. */
public final class Symbolizers {
    private Symbolizers() {
    }

    /** A symbolizer for live processes (reads /proc, ELF files, perf maps, kallsyms). */
    public static Symbolizer create(SymbolizerOptions options) {
        return new ProcSymbolizer(options);
    }
}
