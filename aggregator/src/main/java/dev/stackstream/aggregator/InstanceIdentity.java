package dev.stackstream.aggregator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The stable id of an aggregator instance for static group membership ({@code group.instance.id}):
 * {@code --instance-id} when given (the pod name), otherwise an id kept in the state directory,
 * made once and read on every later start. A restart then rejoins the group as the same member and
 * gets its partitions back at once, instead of waiting for the killed member's session to time
 * out (45 s by default). The state directory is the right home: its state is what makes this
 * instance the natural owner of those partitions, and two instances never share one (Kafka Streams
 * locks it), so two ids never collide.
 */
final class InstanceIdentity {
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._-]{1,200}");

    private InstanceIdentity() {
    }

    /** The configured id, or the one kept in stateDir (Kafka Streams' default directory when null). */
    static String of(String configured, Path stateDir, String applicationId) {
        if (configured != null) {
            return configured;
        }
        Path dir = stateDir != null ? stateDir
                : Path.of(System.getProperty("java.io.tmpdir"), "kafka-streams");
        Path file = dir.resolve("stackstream-instance-id-" + (SAFE.matcher(applicationId).matches()
                ? applicationId : Integer.toHexString(applicationId.hashCode())));
        try {
            Files.createDirectories(dir);
            if (!Files.exists(file)) {
                String id = applicationId + "-" + UUID.randomUUID();
                try {
                    Path tmp = Files.createTempFile(dir, ".instance-id", ".tmp");
                    Files.writeString(tmp, id + "\n", StandardCharsets.UTF_8);
                    // Atomic: a crash mid-write leaves no half id behind.
                    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException raced) {
                    // another start made it first: read theirs
                }
            }
            String id = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (id.isEmpty() || id.length() > 255) {
                throw new IllegalStateException("the instance id file " + file + " holds no id; delete it to make"
                        + " a new one");
            }
            return id;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot keep the instance id in " + file + " (the state directory must be"
                    + " writable)", e);
        }
    }
}
