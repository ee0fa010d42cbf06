package dev.stackstream.command;

import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The secret values this process was given (passwords, JAAS configs, tokens), so that an error
 * message that happens to quote one (a client library's "invalid value X for ...") is printed with
 * {@code [hidden]} in its place. Values shorter than 4 characters are not remembered: scrubbing
 * "a" out of every message would hide more than it protects.
 */
public final class Secrets {
    private static final List<String> VALUES = new CopyOnWriteArrayList<>();

    private Secrets() {
    }

    /** Remembers a secret value. */
    public static void remember(String value) {
        if (value != null && value.length() >= 4 && !VALUES.contains(value)) {
            VALUES.add(value);
            // Longest first: a JAAS config is hidden whole before the password inside it.
            VALUES.sort(Comparator.comparingInt(String::length).reversed());
        }
    }

    /** text with every remembered secret replaced by {@code [hidden]}. */
    public static String scrub(String text) {
        if (text == null) {
            return null;
        }
        String out = text;
        for (String v : VALUES) {
            out = out.replace(v, "[hidden]");
        }
        return out;
    }
}
