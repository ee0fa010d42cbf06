package dev.stackstream.symbols;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.symbols.demangle.Demangler;
import dev.stackstream.symbols.elf.ElfFormatException;
import dev.stackstream.symbols.elf.ElfModule;
import dev.stackstream.symbols.elf.FileIdentity;
import dev.stackstream.symbols.elf.ModuleCache;
import dev.stackstream.symbols.jit.JvmPerfMapRequester;
import dev.stackstream.symbols.jit.PerfMap;
import dev.stackstream.symbols.jit.PerfMapFile;
import dev.stackstream.symbols.proc.Mapping;
import dev.stackstream.symbols.proc.ProcMaps;
import dev.stackstream.symbols.proc.ProcessMappings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The live-process {@link Symbolizer}.
 *
 * <p>User addresses: the process's executable mappings (the sampler's mmap records, and
 * /proc/PID/maps re-read when an address falls outside them) give module + file offset; the
 * module's {@link ElfModule} (shared through {@link ModuleCache}) gives the function. Anonymous
 * executable memory is named through the process's perf map (JIT code), [vdso] through the vdso
 * image read from the process. Kernel addresses go through {@link KernelResolver}.
 *
 * <p>Caller frames are return addresses: they are looked up at {@code ip - 1} so a call that is
 * the last instruction of a function is not attributed to the next function (as perf does); the
 * first kernel and the first user address are exact (interrupted) addresses and looked up as is.
 * A frame's offset is that of the looked-up address.
 */
final class ProcSymbolizer implements Symbolizer {
    static final Path PROC = Path.of("/proc");
    /** How often states of processes that vanished without an exit notice are looked for. */
    private static final long SWEEP_NANOS = 60_000_000_000L;

    private final SymbolizerOptions options;
    private final StatsRecorder stats = new StatsRecorder();
    private final Map<Integer, ProcessState> processes = new ConcurrentHashMap<>();
    private final Demangler demangler;
    private final ModuleCache cache;
    private final KernelResolver kernel;
    private final VdsoResolver vdso;
    private final JvmPerfMapRequester jcmd;
    private final Ticker ticker;
    private volatile long lastSweepNanos;

    ProcSymbolizer(SymbolizerOptions options) {
        this.options = options;
        this.ticker = options.ticker();
        this.lastSweepNanos = ticker.nanos();
        this.demangler = new Demangler(options.demangle());
        this.cache = new ModuleCache(options.cacheBytes());
        this.kernel = new KernelResolver(options.kernel(), PROC.resolve("kallsyms"), stats, ticker);
        this.vdso = new VdsoResolver(cache, demangler, stats);
        this.jcmd = options.jvmPerfMaps()
                ? new JvmPerfMapRequester(options.jcmdInterval(), options.jcmdTimeout(), options.attachReplyMax(),
                        (cause, msg) -> stats.warn(cause, msg, msg), this::perfMapWritten)
                : null;
    }

    /** Per-process state: copy-on-write mappings, when /proc/PID/maps was last read, the perf map. */
    private static final class ProcessState {
        final int pid;
        volatile ProcessMappings mappings = ProcessMappings.EMPTY;
        volatile long mapsReadNanos;
        volatile boolean mapsEverRead;
        volatile PerfMapFile perfMap;
        volatile boolean jvm;
        /** Ticker reading of the exit notice, or 0 while running. */
        volatile long exitedNanos;
        /**
         * The perf map our jcmd requests make this JVM write, to remove once it has exited; null when
         * the JVM is in another mount namespace (its /tmp goes with it) or the file is the user's.
         */
        volatile Path ownPerfMap;
        volatile boolean perfMapIsUsers;

        ProcessState(int pid) {
            this.pid = pid;
        }
    }

    /** What a file mapping's slot carries once resolved: the cache entry (or why there is none). */
    private record FileRef(ModuleCache.Entry entry, String buildId) {
    }

    @Override
    public void onMapping(int pid, long start, long length, long fileOffset, String path, byte[] buildId) {
        sweep();
        ProcessState st = processes.compute(pid, (k, old) -> {
            if (old != null && old.exitedNanos == 0) {
                return old;
            }
            if (old != null && old.perfMap != null) {
                old.perfMap.close();
            }
            return new ProcessState(k); // a recycled pid (or a new image after exec) starts afresh
        });
        Mapping m = Mapping.of(start, start + length, fileOffset, path, 0,
                buildId == null || buildId.length == 0 ? null : buildId.clone());
        synchronized (st) {
            st.mappings = st.mappings.with(m);
        }
        if (m.path().endsWith("/libjvm.so")) {
            jvmDetected(st);
        }
    }

    @Override
    public void onProcessExit(int pid) {
        ProcessState st = processes.get(pid);
        if (st != null && st.exitedNanos == 0) {
            st.exitedNanos = ticker.nanos();
        }
        if (jcmd != null) {
            jcmd.unregister(pid);
        }
        sweep();
    }

    /**
     * Drops states of processes that exited more than the grace period ago, and (once a minute)
     * marks processes that vanished without an exit notice as exited.
     */
    private void sweep() {
        long now = ticker.nanos();
        processes.values().removeIf(p -> {
            if (p.exitedNanos == 0 || now - p.exitedNanos <= options.exitGrace().toNanos()) {
                return false;
            }
            removeOwnPerfMap(p);
            if (p.perfMap != null) {
                p.perfMap.close();
            }
            return true;
        });
        if (now - lastSweepNanos > SWEEP_NANOS) {
            lastSweepNanos = now;
            for (ProcessState p : processes.values()) {
                if (p.exitedNanos == 0 && !java.nio.file.Files.exists(PROC.resolve(Integer.toString(p.pid)))) {
                    p.exitedNanos = now;
                    if (jcmd != null) {
                        jcmd.unregister(p.pid);
                    }
                }
            }
        }
    }

    /** Processes with state held (running, or exited within the grace period). */
    int trackedProcesses() {
        return processes.size();
    }

    @Override
    public List<Frame> symbolize(int pid, long[] ips, int kernelDepth) {
        if (ticker.nanos() - lastSweepNanos > SWEEP_NANOS) {
            sweep();
        }
        int n = ips.length;
        Frame[] out = new Frame[n];
        int kd = Math.max(0, Math.min(kernelDepth, n));
        ProcessState st = null;
        for (int i = 0; i < n; i++) {
            boolean exact = i == 0 || i == kd;
            long lookup = exact ? ips[i] : ips[i] - 1;
            Frame f;
            try {
                if (i < kd) {
                    f = kernel.frame(lookup);
                } else {
                    if (st == null) {
                        st = processes.computeIfAbsent(pid, ProcessState::new);
                    }
                    f = userFrame(st, lookup);
                }
            } catch (RuntimeException | InternalError e) {
                // Never let one bad address (or a file truncated under a mapping: InternalError)
                // take the stack down: it becomes an unresolved frame and a counted warning.
                stats.warn("internal-error", e.getClass().getName(), String.valueOf(e));
                FrameKind kind = i < kd ? FrameKind.KERNEL : FrameKind.USER;
                stats.lookup(kind, ModuleKind.OTHER, false);
                f = Frame.unresolved(null, null, lookup, kind);
            }
            out[n - 1 - i] = f;
        }
        return Arrays.asList(out);
    }

    private Frame userFrame(ProcessState st, long address) {
        ProcessMappings.Slot slot = st.mappings.findSlot(address);
        if (slot == null && refreshMaps(st)) {
            slot = st.mappings.findSlot(address);
        }
        if (slot == null) {
            return jitFrame(st, address, null);
        }
        Mapping m = slot.mapping();
        if (m.isFile()) {
            FileRef ref = fileRef(st, slot);
            long offset = m.fileOffsetOf(address);
            ModuleCache.Entry e = ref.entry();
            String name = null;
            if (e != null) {
                ElfModule mod = e.module();
                if (mod == null && e.failure() == null) {
                    cache.reload(e);
                    mod = e.module();
                }
                if (mod != null) {
                    cache.touch(e);
                    name = mod.functionAt(offset);
                    if (name == null) {
                        // A function without a symbol is one frame at its entry, not one per
                        // instruction (FunctionBounds says why); no FDE: the instruction's offset.
                        long entry = mod.functionEntryAt(offset);
                        offset = entry >= 0 ? entry : offset;
                    }
                }
            }
            stats.lookup(FrameKind.USER, ModuleKind.ELF, name != null);
            return new Frame(name, m.path(), ref.buildId(), offset, FrameKind.USER, null, 0);
        }
        if (m.path().equals("[vdso]")) {
            return vdso.frame(st.pid, slot, address);
        }
        return jitFrame(st, address, m);
    }

    /** Anonymous executable memory (or no mapping): JIT code named through the perf map. */
    private Frame jitFrame(ProcessState st, long address, Mapping m) {
        PerfMapFile file = st.perfMap;
        if (file == null) {
            synchronized (st) {
                file = st.perfMap;
                if (file == null) {
                    file = PerfMapFile.ofProcess(PROC, st.pid, options.perfMapRefresh().toNanos(), ticker,
                            options.perfMapLimits(), (cause, msg) -> stats.warn(cause, "pid " + st.pid, msg));
                    st.perfMap = file;
                }
            }
        }
        PerfMap map = file.current();
        String name = map == null ? null : map.nameAt(address);
        if (name == null && m != null && m.isAnonymous()) {
            // Code is written to the map before it runs: a map that grew since it was read may
            // name this address now.
            map = file.grown();
            name = map == null ? null : map.nameAt(address);
        }
        String module = "/tmp/" + file.fileName();
        if (name != null) {
            stats.lookup(FrameKind.JIT, ModuleKind.JIT, true);
            return new Frame(name, module, null, address, FrameKind.JIT, null, 0);
        }
        if (map != null && m != null && m.isAnonymous()) {
            // A JIT process's code that its (snapshot) map does not list yet: JIT, unnamed; ask a
            // JVM for a fresh snapshot so the next stacks are named. Each jcmd run starts a JVM
            // (a few hundred ms of CPU), hence at most one extra run per half interval.
            if (st.jvm && jcmd != null) {
                jcmd.requestSoon(st.pid, options.jcmdInterval().dividedBy(2));
            }
            stats.lookup(FrameKind.JIT, ModuleKind.JIT, false);
            return Frame.unresolved(module, null, address, FrameKind.JIT);
        }
        stats.lookup(FrameKind.USER, ModuleKind.OTHER, false);
        if (m == null) {
            return Frame.unresolved(null, null, address, FrameKind.USER);
        }
        return Frame.unresolved(m.isAnonymous() ? "[anon]" : m.path(), null, address, FrameKind.USER);
    }

    /** Resolves (once per mapping) which cached module a file mapping is. */
    private FileRef fileRef(ProcessState st, ProcessMappings.Slot slot) {
        Object cached = slot.module();
        if (cached instanceof FileRef ref) {
            return ref;
        }
        Mapping m = slot.mapping();
        String mappedId = m.buildId() == null ? null : HexFormat.of().formatHex(m.buildId());
        ModuleCache.Entry entry = mappedId == null ? null : cache.byBuildId(mappedId);
        if (entry == null) {
            entry = loadMapped(st.pid, m);
        }
        String buildId = mappedId;
        if (buildId == null && entry != null && entry.module() != null) {
            buildId = entry.module().buildId();
        }
        FileRef ref = new FileRef(entry, buildId);
        slot.module(ref);
        return ref;
    }

    /** Opens and loads (or finds in the cache) the file of a mapping; null when it cannot be trusted. */
    private ModuleCache.Entry loadMapped(int pid, Mapping m) {
        try (MappedFiles.Opened o = MappedFiles.open(PROC, pid, m)) {
            FileIdentity id = FileIdentity.of(o.file().path());
            ModuleCache.Entry entry = cache.get(id, () -> reload(pid, m, id));
            ElfModule mod = entry.module();
            if (entry.failure() != null) {
                stats.warn("elf-unreadable", m.path(), "no symbols from " + m.path() + ": " + entry.failure());
            } else if (!o.throughTarget() && !MappedFiles.proven(m, id, mod)) {
                stats.warn("exited-unverified", m.path(), "process " + pid + " cannot be inspected any more"
                        + " (exited, or another user's without CAP_SYS_PTRACE) and " + m.path()
                        + " in the collector's view cannot be proven to be the file it mapped (no matching inode"
                        + " or build-id)");
                return null;
            } else if (MappedFiles.buildIdsDisagree(m, mod)) {
                stats.warn("build-id-mismatch", m.path(), m.path() + " of process " + pid + " has build-id "
                        + mod.buildId() + " but the mapping was reported with "
                        + HexFormat.of().formatHex(m.buildId()) + ": not the mapped file, its names are not used");
                return null;
            }
            return entry;
        } catch (IOException e) {
            stats.warn("elf-unreadable", m.path(), "cannot open " + m.path() + " of process " + pid + ": " + e
                    + (pid != ProcessHandle.current().pid()
                    ? " (another user's process needs CAP_SYS_PTRACE for /proc/PID/root and map_files)" : ""));
            return null;
        }
    }

    /**
     * The cache's loader for a mapped file: it runs at first use and again after an eviction, and
     * each time opens the file anew and checks it is still the identity the entry is keyed by.
     */
    private ElfModule reload(int pid, Mapping m, FileIdentity expected) throws IOException, ElfFormatException {
        try (MappedFiles.Opened o = MappedFiles.open(PROC, pid, m)) {
            FileIdentity now = FileIdentity.of(o.file().path());
            if (!now.equals(expected)) {
                throw new IOException(m.path() + " changed since it was first read (" + expected + " -> " + now + ")");
            }
            return ElfModule.load(o.file().path(), Path.of(m.path()), o.targetRoot(), options.debugDirs(), demangler,
                    msg -> stats.warn("debug-file", m.path(), msg));
        }
    }

    /** Re-reads /proc/PID/maps unless it was read less than mapsRefreshMin ago; true when re-read. */
    private boolean refreshMaps(ProcessState st) {
        long now = ticker.nanos();
        long min = options.mapsRefreshMin().toNanos();
        if (st.mapsEverRead && now - st.mapsReadNanos < min) {
            return false;
        }
        boolean jvmNow;
        synchronized (st) {
            if (st.mapsEverRead && now - st.mapsReadNanos < min) {
                return false;
            }
            st.mapsReadNanos = now;
            st.mapsEverRead = true;
            try {
                List<Mapping> fresh = ProcMaps.read(PROC, st.pid);
                st.mappings = st.mappings.mergedWith(fresh);
                jvmNow = st.mappings.hasModuleNamed("libjvm.so");
            } catch (IOException e) {
                stats.warn("maps-unreadable", "pid " + st.pid, "cannot read /proc/" + st.pid
                        + "/maps (" + e + "): the process exited, or reading another user's process needs"
                        + " CAP_SYS_PTRACE");
                return false;
            }
        }
        if (jvmNow) {
            jvmDetected(st);
        }
        return true;
    }

    private void jvmDetected(ProcessState st) {
        if (st.jvm) {
            return;
        }
        st.jvm = true;
        if (jcmd != null) {
            // Remember the file our requests will make it write, to remove it after the JVM exits —
            // unless the file is not ours: it existed before we asked (an agent writes it), or the
            // JVM writes it at exit (-XX:+DumpPerfMapAtExit), or the JVM's /tmp is not ours.
            try {
                Path map = Path.of("/tmp/perf-" + st.pid + ".map");
                st.perfMapIsUsers = JvmNotes.writesPerfMapAtExit(PROC, st.pid) || java.nio.file.Files.exists(map);
                if (!st.perfMapIsUsers && JvmPerfMapRequester.sameMountNamespace(st.pid)) {
                    st.ownPerfMap = map;
                }
            } catch (IOException | RuntimeException e) {
                st.perfMapIsUsers = true; // cannot tell: leave the file alone
            }
        }
        stats.note("jvm-" + st.pid, JvmNotes.preserveFramePointerNote(PROC, st.pid, jcmd != null));
        if (jcmd != null) {
            jcmd.register(st.pid);
        }
    }

    /** Removes the map file our requests left behind for an exited JVM (see ProcessState.ownPerfMap). */
    private void removeOwnPerfMap(ProcessState p) {
        Path map = p.ownPerfMap;
        if (map == null || p.perfMapIsUsers || java.nio.file.Files.exists(PROC.resolve(Integer.toString(p.pid)))) {
            return;
        }
        try {
            java.nio.file.Files.deleteIfExists(map);
        } catch (IOException e) {
            stats.warn("perf-map-cleanup", map.toString(), "cannot remove " + map + ": " + e);
        }
    }

    private void perfMapWritten(int pid) {
        ProcessState st = processes.get(pid);
        if (st != null && st.perfMap != null) {
            st.perfMap.rewritten();
        }
    }

    @Override
    public SymbolizerStats stats() {
        long jvms = processes.values().stream().filter(p -> p.jvm).count();
        return stats.snapshot(demangler.rustV0Kept(), cache.size(), cache.bytes(), jvms,
                jcmd == null ? 0 : jcmd.runs(), jcmd == null ? 0 : jcmd.failures());
    }

    @Override
    public void close() {
        if (jcmd != null) {
            jcmd.close();
        }
        for (ProcessState p : processes.values()) {
            if (p.perfMap != null) {
                p.perfMap.close();
            }
        }
        processes.clear();
    }
}
