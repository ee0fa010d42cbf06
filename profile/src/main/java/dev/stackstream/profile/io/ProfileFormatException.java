package dev.stackstream.profile.io;

import java.io.IOException;

/** Input that is not in the format it claims to be; the message names the source and line. */
public final class ProfileFormatException extends IOException {
    private static final long serialVersionUID = 1L;
    private final String source;
    private final long lineNumber;

    public ProfileFormatException(String source, long lineNumber, String message) {
        super(source + ":" + lineNumber + ": " + message);
        this.source = source;
        this.lineNumber = lineNumber;
    }

    /** The file name (or "stdin") the bad line came from. */
    public String source() {
        return source;
    }

    /** 1-based line number of the offending line. */
    public long lineNumber() {
        return lineNumber;
    }

    /** An offending line as error messages quote it: in single quotes, cut to 120 characters. */
    public static String quote(String line) {
        return line.length() <= 120 ? "'" + line + "'" : "'" + line.substring(0, 117) + "...'";
    }
}
