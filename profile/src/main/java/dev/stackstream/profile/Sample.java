package dev.stackstream.profile;

import java.util.Objects;

/**
 * A stack with how often it was seen.
 *
 * @param stack the call stack
 * @param thread thread name (or {@code "name-tid"}) when the profile was taken per thread, else
 *     {@code null}
 * @param count number of samples
 * @param instructions instructions retired while in this stack (summed over its samples), or
 *     {@code -1} when no hardware counter measured them
 */
public record Sample(Stack stack, String thread, long count, long instructions) {

    public Sample {
        Objects.requireNonNull(stack, "stack");
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, got " + count);
        }
    }

    public Sample(Stack stack, String thread, long count) {
        this(stack, thread, count, -1);
    }
}
