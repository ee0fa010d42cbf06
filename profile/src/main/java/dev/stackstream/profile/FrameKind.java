package dev.stackstream.profile;

/** Where a frame's code lives; decides its colour in the java-style palette and its suffix in collapsed output. */
public enum FrameKind {
    /** Native user-space code: executables and shared libraries. */
    USER,
    /** Kernel code; collapsed output marks these frames with the {@code _[k]} suffix. */
    KERNEL,
    /** Code generated at run time (JVM JIT, V8...), named through a perf map; suffix {@code _[j]}. */
    JIT
}
