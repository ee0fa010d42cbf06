package dev.stackstream.collector.sampling;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import dev.stackstream.collector.nativeapi.NativeLoader;
import dev.stackstream.collector.nativeapi.SsOptions;
import dev.stackstream.collector.nativeapi.SsStats;
import dev.stackstream.collector.nativeapi.StackstreamLibrary;
import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileStats;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import dev.stackstream.profile.Unwinding;
import dev.stackstream.symbols.Symbolizer;
import java.lang.ref.Cleaner;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One native sampling session ({@code ss_open} .. {@code ss_close}) and the Java side of its
 * windows: each {@link #drainWindow()} empties the native stack table into a direct buffer this
 * object owns, feeds mappings and exits to the {@link Symbolizer}, symbolizes every distinct stack
 * and returns the window as a {@link Profile}.
 *
 * <p>Thread-safety: every method may be called from any thread; calls are serialised on the
 * session, so {@link #stop()} from a shutdown hook waits for a drain in progress. The symbolizer
 * belongs to the caller and is not closed here.
 *
 * <p>Resources: the perf fds, ring buffers and reader thread live in the native session and are
 * released by {@link #close()} (a {@link Cleaner} backs this up for sessions that are dropped
 * without closing); the drain buffer is native memory freed by close() too, so repeated sessions
 * do not wait for a garbage collection to give it back.
 */
public final class SamplingSession implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SamplingSession.class);
    private static final Cleaner CLEANER = Cleaner.create();
    private static final int ENOSPC = 28;
    static final int DEFAULT_BUFFER_BYTES = 256 << 10;
    private static final int ERR_LEN = 512;

    private final StackstreamLibrary lib;
    private final SamplingOptions options;
    private final Symbolizer symbolizer;
    private final Clock clock;
    private final ProfileType type;
    /** The process target's pid as the kernel knows it (own pid for pid 0); -1 for a cgroup target. */
    private final int targetPid;
    private final TargetMeter meter;
    private final NativeHandle handle;
    private final Cleaner.Cleanable cleanable;

    /** The drain buffer: native memory Java allocates and frees (explicitly, on close). */
    private Memory buffer;
    private Instant windowStart;
    /** Counters at the previous drain, for the window deltas. */
    private NativeStats lastStats = NativeStats.ZERO;
    /** Counters most recently read. */
    private NativeStats latestStats = NativeStats.ZERO;
    private OptionalLong lastCpuNanos;
    private final Map<Integer, String> threadNames = new HashMap<>();
    private List<Integer> namesToForget = List.of();
    private boolean symbolizerFailureLogged;
    /**
     * Symbolized stacks kept across windows: the same addresses of a process whose mappings did
     * not change name the same frames, so a steady program's stacks are symbolized (and their ids
     * hashed) once rather than once per window. Cleared by any window that maps, execs or ends a
     * process; bounded, as the sidecar's heap is small.
     */
    private final Map<RawStackKey, Stack> stackCache = new HashMap<>();
    static final int STACK_CACHE_MAX = 4096;
    /** The module name the symbolizer gives an unnamed address in anonymous executable memory. */
    private static final String ANONYMOUS = "[anon]";

    /** Owns the native pointer; shared with the Cleaner, which must not reference the session. */
    private static final class NativeHandle implements Runnable {
        private final StackstreamLibrary lib;
        private final AtomicReference<Pointer> pointer;

        NativeHandle(StackstreamLibrary lib, Pointer p) {
            this.lib = lib;
            this.pointer = new AtomicReference<>(p);
        }

        Pointer get() {
            return pointer.get();
        }

        @Override
        public void run() {
            Pointer p = pointer.getAndSet(null);
            if (p != null) {
                lib.ss_close(p);
            }
        }
    }

    private SamplingSession(StackstreamLibrary lib, SamplingOptions options, Symbolizer symbolizer, Clock clock,
                            Pointer pointer, int bufferBytes) {
        this.lib = lib;
        this.options = options;
        this.symbolizer = symbolizer;
        this.clock = clock;
        this.type = profileType(options);
        this.targetPid = options.isCgroupTarget() ? -1
                : options.pid() == 0 ? (int) ProcessHandle.current().pid() : options.pid();
        this.meter = options.isCgroupTarget() ? new CgroupMeter(options.cgroupPath())
                : new ProcessTreeMeter(targetPid, options.followChildren());
        this.handle = new NativeHandle(lib, pointer);
        this.cleanable = CLEANER.register(this, handle);
        this.buffer = new Memory(bufferBytes);
        this.windowStart = clock.instant();
        this.lastCpuNanos = meter.read().cpuNanos();
    }

    /** Opens a session; windows are timed with the system clock. */
    public static SamplingSession open(SamplingOptions options, Symbolizer symbolizer) throws ProfilerException {
        return open(options, symbolizer, Clock.systemUTC());
    }

    /**
     * Opens the perf events on the target and starts sampling.
     *
     * @throws ProfilerException with the native message, which names the cause and the fix
     *     (no such process, CAP_PERFMON / kernel.perf_event_paranoid, fd limit, perf_event_mlock_kb)
     */
    public static SamplingSession open(SamplingOptions options, Symbolizer symbolizer, Clock clock)
            throws ProfilerException {
        return open(options, symbolizer, clock, DEFAULT_BUFFER_BYTES);
    }

    static SamplingSession open(SamplingOptions options, Symbolizer symbolizer, Clock clock, int bufferBytes)
            throws ProfilerException {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(symbolizer, "symbolizer");
        Objects.requireNonNull(clock, "clock");
        StackstreamLibrary lib = NativeLoader.library();
        SsOptions o = new SsOptions();
        lib.ss_options_init(o);
        o.target_kind = options.isCgroupTarget() ? SsOptions.TARGET_CGROUP : SsOptions.TARGET_PID;
        o.pid = options.pid();
        o.cgroup_path = options.cgroupPath();
        o.event = options.event().nativeValue();
        o.frequency_hz = options.frequencyHz();
        o.period = options.event() == SamplingOptions.Event.ALLOC ? options.allocIntervalBytes() : options.period();
        o.kernel_mode = options.kernelMode().nativeValue();
        o.per_thread = options.perThread() ? 1 : 0;
        o.follow_children = options.followChildren() ? 1 : 0;
        o.max_depth = options.maxDepth();
        o.ring_pages = options.ringPages();
        o.table_bytes = options.tableBytes();
        o.unwind = options.unwind().nativeValue();
        o.stack_bytes = options.stackBytes();
        o.rescan_ms = options.rescanMillis();
        IntByReference code = new IntByReference();
        byte[] err = new byte[ERR_LEN];
        Pointer p = lib.ss_open(o, code, err, err.length);
        if (p == null) {
            int c = code.getValue();
            String what = options.isCgroupTarget() ? "cgroup " + options.cgroupPath()
                    : options.pid() == 0 ? "this process" : "pid " + options.pid();
            throw new ProfilerException("cannot profile " + what + ": "
                    + NativeLoader.message(err, lib.ss_strerror(c)), c);
        }
        return new SamplingSession(lib, options, symbolizer, clock, p, bufferBytes);
    }

    private static ProfileType profileType(SamplingOptions o) {
        return switch (o.event()) {
            case CPU_CLOCK -> ProfileType.cpu(o.frequencyHz());
            case PAGE_FAULTS -> ProfileType.pageFaults(o.period());
            case OFF_CPU -> ProfileType.offCpu();
            case WALL -> ProfileType.wall(o.frequencyHz());
            case CONTEXT_SWITCHES -> new ProfileType("context-switches", "count", o.period());
            case ALLOC -> ProfileType.allocSpace();
        };
    }

    public SamplingOptions options() {
        return options;
    }

    /** What this session's profiles count. */
    public ProfileType profileType() {
        return type;
    }

    /** The target process's pid (this JVM's for pid 0), or -1 for a cgroup target. */
    public int targetPid() {
        return targetPid;
    }

    /**
     * Everything sampled since the previous drain (or open), symbolized: a profile whose time range
     * is [previous drain, now], with stats deltas for that window. Allowed after {@link #stop()}
     * (it returns what the final ring drain counted), not after {@link #close()}.
     */
    public synchronized Profile drainWindow() {
        return drainWindows().get(0);
    }

    /**
     * {@link #drainWindow()} with every sample type of the window: one profile for most types; for
     * alloc the bytes ({@link ProfileType#allocSpace()}) and then the allocations
     * ({@link ProfileType#allocObjects()}) of the same samples, each an estimate of its own.
     */
    public synchronized List<Profile> drainWindows() {
        Pointer p = requireOpen();
        int length = drainInto(p);
        Instant now = clock.instant();
        NativeStats stats = readStats(p);
        WindowRecords records = new WindowRecords();
        DrainParser.parse(buffer.getByteBuffer(0, buffer.size()), length, records);

        applyMetadata(records);

        ProfileBuilder builder = Profile.builder(type);
        boolean alloc = options.event() == SamplingOptions.Event.ALLOC;
        ProfileBuilder objects = alloc ? Profile.builder(ProfileType.allocObjects()) : null;
        if (changesSymbols(records)) {
            stackCache.clear();
        }
        Map<RawStackKey, Stack> symbolized = new HashMap<>();
        // Off-CPU and wall stacks carry nanoseconds (an interval each, or cpu-clock periods): the
        // profile counts them in units of the type's period.
        // Alloc stacks carry the bytes their samples stand for (and the allocations in the instructions slot).
        boolean timeWeighted = options.event() == SamplingOptions.Event.OFF_CPU
                || options.event() == SamplingOptions.Event.WALL || options.event() == SamplingOptions.Event.ALLOC;
        long instructions = 0;
        long[] cuts = new long[CutReason.values().length];
        for (WindowRecords.RawStack r : records.stacks) {
            meter.track(r.pid());
            Stack stack = stackOf(r, symbolized);
            long count = timeWeighted ? roundedQuanta(r.weight(), type.period()) : r.count();
            if (alloc && r.instructions() > 0) {    // the native core's allocation estimate
                objects.add(stack, options.perThread() ? threadName(r.tid()) : null, r.instructions(), -1);
            }
            if (count == 0) {
                continue;
            }
            builder.add(stack, options.perThread() ? threadName(r.tid()) : null, count,
                    stats.instructionsAvailable() ? r.instructions() : -1);
            instructions += stats.instructionsAvailable() ? r.instructions() : 0;
            if (r.cut() != null) {
                cuts[r.cut().ordinal()] += count;
            }
        }

        // Exits last: the stacks above may still need the exited process's mappings.
        Set<Integer> exitedProcesses = new HashSet<>();
        List<Integer> exitedThreads = new ArrayList<>();
        for (WindowRecords.Exit e : records.exits) {
            exitedThreads.add(e.tid());
            if (e.tid() == e.pid() && e.pid() != targetPid) {
                exitedProcesses.add(e.pid());
            }
        }
        TargetMeter.Reading reading = meter.read();
        for (int pid : exitedProcesses) {
            symbolizer.onProcessExit(pid);
            meter.untrack(pid);
        }
        // A thread's name is forgotten one window after its exit, in case a late stack of it is
        // drained in the next window.
        namesToForget.forEach(threadNames::remove);
        namesToForget = exitedThreads;

        OptionalLong cpuDelta = OptionalLong.empty();
        if (reading.cpuNanos().isPresent() && lastCpuNanos.isPresent()) {
            cpuDelta = OptionalLong.of(Math.max(0, reading.cpuNanos().getAsLong() - lastCpuNanos.getAsLong()));
        }
        if (reading.cpuNanos().isPresent()) {
            lastCpuNanos = reading.cpuNanos();
        }
        // The cuts are counted from the window's own stacks (as the profile counts them), so the
        // window's truncated samples equal its [truncated: ...] samples.
        Unwinding unwinding = new Unwinding(stats.unwind().mode().name().toLowerCase(Locale.ROOT),
                stats.unwind().stackBytes(), cuts[CutReason.DEPTH.ordinal()], cuts[CutReason.STACK_COPY.ordinal()],
                cuts[CutReason.NO_UNWIND_INFO.ordinal()], cuts[CutReason.CORRUPT.ordinal()]);
        ProfileStats windowStats = new ProfileStats(stats.lost() - lastStats.lost(),
                stats.throttled() - lastStats.throttled(), stats.tableOverflow() - lastStats.tableOverflow(),
                unwinding.cuts(), cpuDelta, reading.rssBytes(),
                stats.instructionsAvailable() ? OptionalLong.of(instructions) : OptionalLong.empty(),
                Optional.of(unwinding));
        lastStats = stats;
        Instant start = windowStart.isAfter(now) ? now : windowStart;
        windowStart = now;
        Profile main = builder.timeRange(start, now).stats(windowStats).build();
        return alloc ? List.of(main, objects.timeRange(start, now).stats(windowStats).build()) : List.of(main);
    }

    /**
     * Hands names and mappings to the thread-name table and the symbolizer, in buffer order. An
     * exec replaces a process's image: mappings drained before it are obsolete and are not passed
     * on (a command held by ss_spawn is a fork of this JVM until its exec; feeding the JVM's
     * mappings would make the symbolizer treat it as a JVM and send it jcmd's SIGQUIT), and the
     * symbolizer forgets what it knew of the old image.
     */
    private void applyMetadata(WindowRecords records) {
        Map<Integer, Integer> lastExec = new HashMap<>();
        for (int i = 0; i < records.meta.size(); i++) {
            if (records.meta.get(i) instanceof WindowRecords.Comm c && c.exec()) {
                lastExec.put(c.pid(), i);
            }
        }
        for (int i = 0; i < records.meta.size(); i++) {
            WindowRecords.Meta m = records.meta.get(i);
            meter.track(m.pid());
            if (m instanceof WindowRecords.Comm c) {
                threadNames.put(c.tid(), c.name());
                if (c.exec() && lastExec.get(c.pid()) == i) {
                    symbolizer.onProcessExit(c.pid());
                }
            } else if (m instanceof WindowRecords.Mapping map && lastExec.getOrDefault(map.pid(), -1) < i) {
                symbolizer.onMapping(map.pid(), map.start(), map.length(), map.fileOffset(), map.path(),
                        map.buildId());
            }
        }
    }

    /**
     * The symbolized stack of r: from the cross-window cache, else from this window's stacks, else
     * symbolized now. Settled stacks go into the cache (up to {@value #STACK_CACHE_MAX}); the others
     * are looked up again in the next window, where a perf map may have grown or an unknown address
     * may have become known.
     */
    private Stack stackOf(WindowRecords.RawStack r, Map<RawStackKey, Stack> window) {
        RawStackKey key = new RawStackKey(r.pid(), r.kernelDepth(), r.ips(), r.cut());
        Stack stack = stackCache.get(key);
        if (stack == null) {
            stack = window.get(key);
        }
        if (stack == null) {
            stack = new Stack(symbolize(r), r.truncated());
            if (stackCache.size() < STACK_CACHE_MAX && settled(stack)) {
                stackCache.put(key, stack);
            } else {
                window.put(key, stack);
            }
        }
        return stack;
    }

    /**
     * Whether a stack's frames name what they will name in every later window of the same
     * mappings: none is JIT code (a perf map grows and is re-read), and each frame is either named or
     * lies in a known module that is not anonymous memory. An unnamed frame in a file (a stripped
     * function: module + offset + build-id) stays unnamed, as the module's symbols are read whole
     * when it is first met; an address in no known mapping, or in anonymous memory, may be named
     * once the maps are re-read or a perf map appears. Stripped interpreters (Debian's python3) have
     * such frames in most stacks, which were otherwise symbolized again in every window.
     */
    static boolean settled(Stack stack) {
        for (Frame f : stack.frames()) {
            if (f.kind() == FrameKind.JIT) {
                return false;
            }
            if (f.function() == null && (f.module() == null || ANONYMOUS.equals(f.module()))) {
                return false;
            }
        }
        return true;
    }

    /** A window whose records map, exec or end a process: what the cached stacks say may have changed. */
    private static boolean changesSymbols(WindowRecords records) {
        for (WindowRecords.Meta m : records.meta) {
            if (m instanceof WindowRecords.Mapping || (m instanceof WindowRecords.Comm c && c.exec())) {
                return true;
            }
        }
        for (WindowRecords.Exit e : records.exits) {
            if (e.pid() == e.tid()) {
                return true;
            }
        }
        return false;
    }

    /** weight / quantum rounded to the nearest whole quantum (so rounding has no bias on average). */
    static long roundedQuanta(long weight, long quantum) {
        return weight / quantum + (weight % quantum >= (quantum + 1) / 2 ? 1 : 0);
    }

    /** Runs ss_drain, growing the buffer until everything fits (the native side loses nothing on -ENOSPC). */
    private int drainInto(Pointer p) {
        LongByReference needed = new LongByReference();
        while (true) {
            long n = lib.ss_drain(p, buffer, buffer.size(), needed);
            if (n >= 0) {
                return (int) n;
            }
            if (n != -ENOSPC) {
                throw new IllegalStateException("ss_drain failed: " + lib.ss_strerror((int) n));
            }
            long want = Math.max(needed.getValue(), 2L * buffer.size());
            if (want > Integer.MAX_VALUE - (1 << 16)) {
                throw new IllegalStateException("drain needs " + want + " bytes, more than one buffer can hold");
            }
            buffer.close();
            buffer = new Memory((want + 65535) & ~65535L);
        }
    }

    /**
     * The frames of r; a stack that does not reach its root (cut at the depth limit, or its
     * unwinding stopped early) gets its reason's synthetic root frame ({@link CutReason#frame()}),
     * so that every output shows the cut instead of presenting a partial stack as a whole one.
     */
    private List<Frame> symbolize(WindowRecords.RawStack r) {
        List<Frame> frames = symbolizeAddresses(r);
        if (!r.truncated()) {
            return frames;
        }
        List<Frame> marked = new ArrayList<>(frames.size() + 1);
        marked.add(r.cut().frame());
        marked.addAll(frames);
        return marked;
    }

    private List<Frame> symbolizeAddresses(WindowRecords.RawStack r) {
        try {
            return symbolizer.symbolize(r.pid(), r.ips(), r.kernelDepth());
        } catch (RuntimeException e) {
            // The symbolizer promises never to throw; if it does anyway, the samples are kept
            // with raw addresses rather than lost.
            if (!symbolizerFailureLogged) {
                symbolizerFailureLogged = true;
                LOG.warn("symbolizer failed; frames kept as raw addresses", e);
            }
            long[] ips = r.ips();
            List<Frame> frames = new ArrayList<>(ips.length);
            for (int i = ips.length - 1; i >= 0; i--) {
                frames.add(Frame.unresolved(null, null, ips[i], i < r.kernelDepth() ? FrameKind.KERNEL : FrameKind.USER));
            }
            return frames;
        }
    }

    private String threadName(int tid) {
        if (tid == 0) {
            return null;
        }
        String name = threadNames.get(tid);
        return name != null && !name.isEmpty() ? name : "[tid " + tid + "]";
    }

    /**
     * True while the target runs. For a process target this is false once the process has exited,
     * including while it is a zombie not yet reaped by its parent (for {@code record -- CMD} the
     * parent is this JVM, which reaps only after the last window is drained).
     */
    public synchronized boolean targetAlive() {
        Pointer p = handle.get();
        if (p == null || lib.ss_target_alive(p) != 1) {
            return false;
        }
        if (targetPid > 0) {
            ProcStat s = ProcStat.read(targetPid);
            return s != null && s.state() != 'Z' && s.state() != 'X';
        }
        return true;
    }

    /**
     * Asks the sampler to keep copies (registers, stack bytes) of the next n samples whose user
     * stack it unwinds, so that {@link #unwindCaptured} can unwind them again after {@link #stop()}
     * (the unwinding-rate benchmark). Each copy holds up to the stack-copy size until close.
     *
     * @throws IllegalStateException in FP mode (no stack is copied) or after close
     */
    public synchronized void captureSamples(int n) {
        int rc = lib.ss_capture(requireOpen(), n);
        if (rc != 0) {
            throw new IllegalStateException("cannot capture samples: " + lib.ss_strerror(rc)
                    + (options.unwind() == SamplingOptions.Unwind.FP ? " (FP unwinding copies no stack)" : ""));
        }
    }

    /** Samples kept by {@link #captureSamples} so far. */
    public synchronized int capturedSamples() {
        return lib.ss_captured(requireOpen());
    }

    /**
     * Unwinds captured sample i again, through the same native code, tables and mappings as when
     * it was sampled. Only after {@link #stop()}.
     *
     * @param out receives the addresses, leaf first (kernel frames first); its length is the depth limit
     * @param cut receives the {@code ss_cut_reason} in cut[0] (0: the root was reached)
     * @return the number of addresses written
     * @throws IllegalStateException before stop, for no such sample, or a sample whose process is unknown
     */
    public synchronized int unwindCaptured(int i, long[] out, int[] cut) {
        int n = lib.ss_unwind_captured(requireOpen(), i, out, out.length, cut);
        if (n < 0) {
            throw new IllegalStateException("cannot unwind captured sample " + i + ": " + lib.ss_strerror(n));
        }
        return n;
    }

    /** Cumulative native counters since open; after close, the last counters read before it. */
    public synchronized NativeStats stats() {
        Pointer p = handle.get();
        return p == null ? latestStats : readStats(p);
    }

    /** Whether kernel frames are being captured (KernelMode.AUTO decides at open). */
    public synchronized boolean kernelFrames() {
        return stats().kernelFrames();
    }

    /**
     * Stops sampling; the rings are drained into the table, so a final {@link #drainWindow()} still
     * returns everything sampled. Idempotent; a no-op after close.
     */
    public synchronized void stop() {
        Pointer p = handle.get();
        if (p != null) {
            lib.ss_stop(p);
        }
    }

    /** Stops and frees every fd, mapping and thread of the native session, and the drain buffer. Idempotent. */
    @Override
    public synchronized void close() {
        Pointer p = handle.get();
        if (p != null) {
            lib.ss_stop(p);
            readStats(p); // keeps the final counters for stats() after close
        }
        cleanable.clean();
        buffer.close();
    }

    public synchronized boolean isClosed() {
        return handle.get() == null;
    }

    private NativeStats readStats(Pointer p) {
        SsStats s = new SsStats();
        lib.ss_get_stats(p, s);
        latestStats = NativeStats.of(s);
        return latestStats;
    }

    private Pointer requireOpen() {
        Pointer p = handle.get();
        if (p == null) {
            throw new IllegalStateException("sampling session is closed");
        }
        return p;
    }

    /** Capacity of the drain buffer now (grows on demand); for tests. */
    synchronized long bufferCapacity() {
        return buffer.size();
    }
}
