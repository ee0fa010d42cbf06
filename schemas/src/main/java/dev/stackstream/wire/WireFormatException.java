package dev.stackstream.wire;

/**
 * Bytes that are not a record this reader can decode: not Avro single-object encoding (foreign
 * bytes), a schema fingerprint no released version has, the wrong record type, or a truncated or
 * corrupt body. The message names what was seen, so a dead-letter entry explains itself.
 */
public final class WireFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    public WireFormatException(String message) {
        super(message);
    }

    public WireFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
