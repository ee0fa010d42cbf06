package dev.stackstream.symbols.elf;

/** The bytes are not a well-formed ELF64 little-endian file, or point outside themselves. */
public final class ElfFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    public ElfFormatException(String message) {
        super(message);
    }
}
