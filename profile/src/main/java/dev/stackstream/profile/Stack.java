package dev.stackstream.profile;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Objects;

/**
 * An immutable call stack: frames root first (outermost caller first, the sampled leaf last),
 * the order of flamegraph.pl's collapsed format.
 *
 * <p>Equality and {@link #id()} cover every field of every frame plus the truncated flag, so two
 * stacks with the same display names but different modules stay distinct.
 */
public final class Stack {
    private final List<Frame> frames;
    private final boolean truncated;
    private volatile StackId id;
    private int hash;

    /**
     * @param frames root first; copied
     * @param truncated true when the sampler cut the stack at its depth limit (the root side is
     *     missing)
     */
    public Stack(List<Frame> frames, boolean truncated) {
        this.frames = List.copyOf(frames);
        this.truncated = truncated;
    }

    public static Stack of(Frame... frames) {
        return new Stack(List.of(frames), false);
    }

    public List<Frame> frames() {
        return frames;
    }

    public int depth() {
        return frames.size();
    }

    public boolean truncated() {
        return truncated;
    }

    /** The sampled frame (where the CPU was), or null for an empty stack. */
    public Frame leaf() {
        return frames.isEmpty() ? null : frames.get(frames.size() - 1);
    }

    /** Content hash; computed once. */
    public StackId id() {
        StackId result = id;
        if (result == null) {
            result = computeId();
            id = result;
        }
        return result;
    }

    private StackId computeId() {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 * frames.size() + 8);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeBoolean(truncated);
            out.writeInt(frames.size());
            for (Frame f : frames) {
                writeNullable(out, f.function());
                writeNullable(out, f.module());
                writeNullable(out, f.buildId());
                out.writeLong(f.offset());
                out.writeByte(f.kind().ordinal());
                writeNullable(out, f.file());
                out.writeInt(f.line());
            }
            byte[] d = digest.digest(bytes.toByteArray());
            long high = 0;
            long low = 0;
            for (int i = 0; i < 8; i++) {
                high = (high << 8) | (d[i] & 0xff);
                low = (low << 8) | (d[8 + i] & 0xff);
            }
            return new StackId(high, low);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeNullable(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeBoolean(false);
        } else {
            out.writeBoolean(true);
            out.writeUTF(s);
        }
    }

    /** Display names joined by ';', root first: the stack part of a collapsed line. */
    public String collapsed() {
        StringBuilder sb = new StringBuilder(frames.size() * 24);
        for (int i = 0; i < frames.size(); i++) {
            if (i > 0) {
                sb.append(';');
            }
            sb.append(frames.get(i).displayName());
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Stack other && truncated == other.truncated && frames.equals(other.frames);
    }

    @Override
    public int hashCode() {
        int h = hash;
        if (h == 0) {
            h = Objects.hash(frames, truncated);
            hash = h;
        }
        return h;
    }

    @Override
    public String toString() {
        return collapsed();
    }
}
