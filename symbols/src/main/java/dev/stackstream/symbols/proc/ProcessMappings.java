package dev.stackstream.symbols.proc;

import dev.stackstream.symbols.Addresses;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The executable mappings of one process, sorted and immutable: lookups are a binary search over
 * a plain array, and updates publish a new instance (copy-on-write), so readers never lock.
 * Each mapping sits in a {@link Slot} that carries the symbolizer's module for it; slots of
 * unchanged mappings are carried over by updates, so a module is resolved once per mapping.
 */
public final class ProcessMappings {
    public static final ProcessMappings EMPTY = new ProcessMappings(new Slot[0]);

    private final Slot[] slots;
    private final long[] starts;

    private ProcessMappings(Slot[] sorted) {
        this.slots = sorted;
        this.starts = new long[sorted.length];
        for (int i = 0; i < sorted.length; i++) {
            starts[i] = sorted[i].mapping.start();
        }
    }

    /** From mappings in any order; where two overlap, the later in the list wins. */
    public static ProcessMappings of(List<Mapping> list) {
        return EMPTY.mergedWith(list);
    }

    /**
     * This view updated by a re-read of /proc/PID/maps: every mapping read replaces the ones it
     * overlaps (the kernel re-mapped that range), and mappings it does not overlap are kept. A
     * re-read shows only what is mapped now, while stacks drained late were sampled earlier: a
     * library unmapped since then must still name them, and the maps of a process that has exited
     * but is not reaped yet (a zombie: the file is empty) must not erase what the sampler reported.
     * Slots whose mapping is identical (same range, offset and path) are reused with their module.
     */
    public ProcessMappings mergedWith(List<Mapping> list) {
        Map<String, Slot> old = new HashMap<>();
        for (Slot s : slots) {
            old.put(key(s.mapping), s);
        }
        List<Slot> fresh = new ArrayList<>(list.size());
        for (Mapping m : list) {
            Slot s = old.get(key(m));
            fresh.add(s != null ? s : new Slot(m));
        }
        List<Slot> all = new ArrayList<>(Arrays.asList(slots));
        all.addAll(fresh); // build(): later entries replace the earlier ones they overlap
        return build(all);
    }

    private static String key(Mapping m) {
        // No inode: mappings the sampler reported (inode unknown, build-id known) must keep their
        // slot when /proc/PID/maps is re-read.
        return Long.toHexString(m.start()) + '-' + Long.toHexString(m.end()) + ':' + m.fileOffset() + ':'
                + m.path();
    }

    private static ProcessMappings build(List<Slot> unsorted) {
        List<Slot> sorted = new ArrayList<>(unsorted.size());
        for (Slot s : unsorted) {
            // Later entries replace earlier overlapping ones: the kernel re-mapped that range.
            sorted.removeIf(o -> overlaps(o.mapping, s.mapping));
            sorted.add(s);
        }
        sorted.sort((a, b) -> Long.compareUnsigned(a.mapping.start(), b.mapping.start()));
        return new ProcessMappings(sorted.toArray(new Slot[0]));
    }

    private static boolean overlaps(Mapping a, Mapping b) {
        return Long.compareUnsigned(a.start(), b.end()) < 0 && Long.compareUnsigned(b.start(), a.end()) < 0;
    }

    /** A copy with m added; mappings it overlaps are removed (the kernel replaced them). */
    public ProcessMappings with(Mapping m) {
        List<Slot> out = new ArrayList<>(slots.length + 1);
        for (Slot s : slots) {
            if (!overlaps(s.mapping, m)) {
                out.add(s);
            }
        }
        out.add(new Slot(m));
        out.sort((a, b) -> Long.compareUnsigned(a.mapping.start(), b.mapping.start()));
        return new ProcessMappings(out.toArray(new Slot[0]));
    }

    private int indexOf(long address) {
        int hi = Addresses.floorIndex(starts, address);
        return hi >= 0 && slots[hi].mapping.contains(address) ? hi : -1;
    }

    /** The mapping holding address, or null. */
    public Mapping find(long address) {
        int i = indexOf(address);
        return i < 0 ? null : slots[i].mapping;
    }

    /** The slot for an address, or null. */
    public Slot findSlot(long address) {
        int i = indexOf(address);
        return i < 0 ? null : slots[i];
    }

    public List<Mapping> all() {
        return Arrays.stream(slots).map(Slot::mapping).toList();
    }

    public int size() {
        return slots.length;
    }

    /** True when some mapping's path ends with the given file name (e.g. {@code libjvm.so}). */
    public boolean hasModuleNamed(String fileName) {
        return Arrays.stream(slots).anyMatch(s -> s.mapping.path().endsWith("/" + fileName));
    }

    /** A mapping plus the symbolizer's module for it, attached lazily. */
    public static final class Slot {
        private final Mapping mapping;
        private volatile Object module;

        Slot(Mapping mapping) {
            this.mapping = mapping;
        }

        public Mapping mapping() {
            return mapping;
        }

        /** Whatever the symbolizer attached, or null. */
        public Object module() {
            return module;
        }

        public void module(Object value) {
            module = value;
        }
    }
}
