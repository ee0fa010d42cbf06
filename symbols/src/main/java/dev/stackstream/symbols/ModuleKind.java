package dev.stackstream.symbols;

/** What kind of module an address fell in; symbolization hit rates are reported per kind. */
public enum ModuleKind {
    /** A file-backed ELF executable or shared library. */
    ELF,
    /** The kernel ([kernel.kallsyms]). */
    KERNEL,
    /** Anonymous executable memory named through a perf map (JIT code). */
    JIT,
    /** The kernel-provided [vdso] image. */
    VDSO,
    /** Anonymous executable memory without a perf map, special mappings, or no mapping at all. */
    OTHER
}
