package dev.stackstream.symbols.elf;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Loaded {@link ElfModule}s keyed by file identity and by build-id, bounded by estimated memory.
 *
 * <p>One module per binary is shared by every process mapping it. Callers hold an {@link Entry}
 * and read {@link Entry#module()} per lookup; eviction (least recently used first, when the sum of
 * module sizes exceeds the bound) clears the entry's module so its memory can be collected even
 * while processes still hold the entry, and the next lookup reloads it through {@link #reload}.
 * Failures are cached too (per identity), so a corrupt file is parsed once, not once per frame.
 */
public final class ModuleCache {
    /** Loads a module; may throw anything a file read can. */
    @FunctionalInterface
    public interface Loader {
        ElfModule load() throws Exception;
    }

    /** A cache slot: the module (null after eviction or on failure) and the failure, if any. */
    public static final class Entry {
        private final Object key;
        private final Loader loader;
        private volatile ElfModule module;
        private volatile String failure;
        private volatile long lastUsed;

        Entry(Object key, Loader loader) {
            this.key = key;
            this.loader = loader;
        }

        /** The module, or null when evicted (call {@link ModuleCache#reload}) or failed. */
        public ElfModule module() {
            return module;
        }

        /** Why loading failed, or null. */
        public String failure() {
            return failure;
        }

        void touch(long tick) {
            lastUsed = tick;
        }
    }

    private final long maxBytes;
    private final Map<Object, Entry> entries = new HashMap<>();
    private final Map<String, Entry> byBuildId = new HashMap<>();
    private final AtomicLong tick = new AtomicLong();
    private long bytes;
    private long loads;
    private long evictions;

    public ModuleCache(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** The entry for a build-id already loaded from some file, or null. */
    public synchronized Entry byBuildId(String buildId) {
        Entry e = buildId == null ? null : byBuildId.get(buildId);
        if (e != null) {
            e.touch(tick.incrementAndGet());
        }
        return e;
    }

    /**
     * The entry for key (a {@link FileIdentity} or any other identity), loading it on first use.
     * Loading happens under the cache lock: simple, and a binary is loaded once even when many
     * threads ask for it at the same moment.
     */
    public synchronized Entry get(Object key, Loader loader) {
        Entry e = entries.get(key);
        if (e == null) {
            e = new Entry(key, loader);
            entries.put(key, e);
            load(e);
        } else if (e.module == null && e.failure == null) {
            load(e);
        }
        e.touch(tick.incrementAndGet());
        return e;
    }

    /** Reloads an evicted entry (no-op when it is loaded or failed). */
    public synchronized void reload(Entry e) {
        if (e.module == null && e.failure == null) {
            if (!entries.containsKey(e.key)) {
                entries.put(e.key, e);
            }
            load(e);
        }
        e.touch(tick.incrementAndGet());
    }

    /**
     * Marks an entry used. Called per lookup, so it only copies the current tick (no atomic
     * increment): recency is as fine-grained as cache events, which is what eviction compares.
     */
    public void touch(Entry e) {
        e.touch(tick.get());
    }

    private void load(Entry e) {
        loads++;
        try {
            ElfModule m = e.loader.load();
            e.module = m;
            bytes += m.memoryBytes();
            if (m.buildId() != null) {
                byBuildId.putIfAbsent(m.buildId(), e);
            }
            evict(e);
        } catch (Exception | InternalError err) {
            // InternalError: the JVM's report of SIGBUS on a mapped file truncated under us.
            e.failure = err.getMessage() == null ? err.toString() : err.getMessage();
        }
    }

    private void evict(Entry keep) {
        if (bytes <= maxBytes) {
            return;
        }
        List<Entry> loaded = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.module != null && e != keep) {
                loaded.add(e);
            }
        }
        loaded.sort((a, b) -> Long.compare(a.lastUsed, b.lastUsed));
        for (Entry e : loaded) {
            if (bytes <= maxBytes) {
                break;
            }
            bytes -= e.module.memoryBytes();
            if (e.module.buildId() != null && byBuildId.get(e.module.buildId()) == e) {
                byBuildId.remove(e.module.buildId());
            }
            e.module = null;
            entries.remove(e.key);
            evictions++;
        }
    }

    /** Estimated bytes of the modules held. */
    public synchronized long bytes() {
        return bytes;
    }

    public synchronized long loads() {
        return loads;
    }

    public synchronized long evictions() {
        return evictions;
    }

    public synchronized int size() {
        return entries.size();
    }
}
