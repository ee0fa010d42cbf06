package dev.stackstream.collector.publish;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import dev.stackstream.profile.StackId;

/**
 * When each stack's definition was last acknowledged on the stacks topic, so a definition is sent
 * the first time its stack is used and again once it is older than the refresh interval.
 *
 * <p>Bounded: beyond {@code maxEntries} the least recently used ids are forgotten, which only
 * means their definition is sent once more. Not thread-safe: the publisher guards it.
 */
final class DefinitionTracker {
    private final Duration refresh;
    private final Map<StackId, Instant> lastSent;

    DefinitionTracker(Duration refresh, int maxEntries) {
        this.refresh = refresh;
        this.lastSent = new LinkedHashMap<>(1024, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<StackId, Instant> eldest) {
                return size() > maxEntries;
            }
        };
    }

    /** True when the stack's definition must travel with a window published at {@code now}. */
    boolean needsDefinition(StackId id, Instant now) {
        Instant sent = lastSent.get(id);
        return sent == null || !now.isBefore(sent.plus(refresh));
    }

    /** The definition was acknowledged at {@code when}. */
    void sent(StackId id, Instant when) {
        lastSent.put(id, when);
    }

    int size() {
        return lastSent.size();
    }
}
