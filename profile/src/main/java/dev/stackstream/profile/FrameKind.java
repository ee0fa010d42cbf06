package dev.stackstream.profile;

/**
 * Where a frame's code lives; decides its colour in the java-style palette and its suffix in
 * folded output. The annotation suffixes ({@code _[k]}, {@code _[j]}, {@code _[i]}) are defined
 * here and nowhere else, so the folded reader, writer, perf-script reader and colours agree.
 */
public enum FrameKind {
    /** Native user-space code: executables and shared libraries; no suffix. */
    USER(""),
    /** Kernel code; folded output marks these frames with the {@code _[k]} suffix. */
    KERNEL("_[k]"),
    /** Code generated at run time (JVM JIT, V8...), named through a perf map; suffix {@code _[j]}. */
    JIT("_[j]");

    /**
     * Suffix stackcollapse-perf.pl gives frames inlined into their caller ({@code a->b} chains);
     * part of the name, not a kind.
     */
    public static final String INLINE_SUFFIX = "_[i]";

    private final String suffix;

    FrameKind(String suffix) {
        this.suffix = suffix;
    }

    /** The annotation folded text appends to a frame of this kind ({@code ""} for {@link #USER}). */
    public String suffix() {
        return suffix;
    }
}
