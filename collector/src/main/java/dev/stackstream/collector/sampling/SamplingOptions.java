package dev.stackstream.collector.sampling;

import java.util.Objects;

/**
 * What a {@link SamplingSession} samples and how. Immutable; build with {@link #builder()}.
 *
 * <p>Exactly one target: a process ({@link Builder#pid(int)}, 0 = this JVM) or a cgroup v2
 * directory ({@link Builder#cgroupPath(String)}, the whole container, one event per CPU).
 * Defaults match the native core's {@code ss_options_init}: cpu-clock at 999 Hz, kernel frames
 * when permitted, stacks per thread, children followed, 127 frames, a 64 MiB stack table.
 */
public final class SamplingOptions {

    /** The perf software event that triggers a sample. */
    public enum Event {
        /** On-CPU time, frequency mode ({@link Builder#frequencyHz}). */
        CPU_CLOCK(0),
        /** Page faults, one sample every {@link Builder#period} faults. */
        PAGE_FAULTS(1),
        /** Context switches (off-CPU stacks), one sample every {@link Builder#period} switches. */
        CONTEXT_SWITCHES(2),
        /** Every switch-out's stack, weighted by the nanoseconds until the thread runs again. */
        OFF_CPU(3),
        /** cpu-clock at {@link Builder#frequencyHz} plus {@link #OFF_CPU}: on- and off-CPU time in ns. */
        WALL(4),
        /**
         * Uprobes on the target's libc malloc, calloc and realloc, sampled by bytes in the kernel:
         * about one sample every {@link Builder#allocIntervalBytes} bytes (Poisson), weighted by the
         * bytes it stands for. Needs CAP_BPF and CAP_PERFMON.
         */
        ALLOC(5);

        private final int nativeValue;

        Event(int nativeValue) {
            this.nativeValue = nativeValue;
        }

        /** The {@code enum ss_event} value. */
        public int nativeValue() {
            return nativeValue;
        }
    }

    /** Whether kernel frames are captured. */
    public enum KernelMode {
        /** Kernel frames when permitted (CAP_PERFMON or perf_event_paranoid <= 1), user-only otherwise. */
        AUTO(-1),
        /** User frames only. */
        NO(0),
        /** Kernel frames required; opening fails with a message naming the fix when not permitted. */
        YES(1);

        private final int nativeValue;

        KernelMode(int nativeValue) {
            this.nativeValue = nativeValue;
        }

        /** The {@code enum ss_kernel_mode} value. */
        public int nativeValue() {
            return nativeValue;
        }
    }

    /** How user stacks are unwound ({@code enum ss_unwind}). */
    public enum Unwind {
        /** CFI ({@code .eh_frame}) where the module has it, the frame pointer elsewhere (JIT code). */
        AUTO(0),
        /** The kernel's frame-pointer chain plus the leaf-caller fix-up only. */
        FP(1),
        /** CFI only: a frame without CFI cuts the stack there. */
        CFI(2);

        private final int nativeValue;

        Unwind(int nativeValue) {
            this.nativeValue = nativeValue;
        }

        /** The {@code enum ss_unwind} value. */
        public int nativeValue() {
            return nativeValue;
        }
    }

    /** Default mean bytes between two allocation samples: 512 KiB, as tcmalloc and Go sample. */
    public static final long DEFAULT_ALLOC_INTERVAL_BYTES = 512 * 1024;

    /** Default user-stack bytes copied per sample for unwinding ({@code SS_DEFAULT_STACK_BYTES}). */
    public static final int DEFAULT_STACK_BYTES = 16384;

    /** Default thread rescan interval in ms (the native core's when {@code rescan_ms} is 0). */
    public static final int DEFAULT_RESCAN_MILLIS = 100;

    private final int pid;
    private final String cgroupPath;
    private final int frequencyHz;
    private final Event event;
    private final long period;
    private final KernelMode kernelMode;
    private final boolean perThread;
    private final boolean followChildren;
    private final int maxDepth;
    private final long tableBytes;
    private final int ringPages;
    private final long allocIntervalBytes;
    private final Unwind unwind;
    private final int stackBytes;
    private final int rescanMillis;

    private SamplingOptions(Builder b) {
        this.pid = b.pid;
        this.cgroupPath = b.cgroupPath;
        this.frequencyHz = b.frequencyHz;
        this.event = b.event;
        this.period = b.period;
        this.kernelMode = b.kernelMode;
        this.perThread = b.perThread;
        this.followChildren = b.followChildren;
        this.maxDepth = b.maxDepth;
        this.tableBytes = b.tableBytes;
        this.ringPages = b.ringPages;
        this.allocIntervalBytes = b.allocIntervalBytes;
        this.unwind = b.unwind;
        this.stackBytes = b.stackBytes;
        this.rescanMillis = b.rescanMillis;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these options, to derive a variant. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.pid = pid;
        b.cgroupPath = cgroupPath;
        b.frequencyHz = frequencyHz;
        b.event = event;
        b.period = period;
        b.kernelMode = kernelMode;
        b.perThread = perThread;
        b.followChildren = followChildren;
        b.maxDepth = maxDepth;
        b.tableBytes = tableBytes;
        b.ringPages = ringPages;
        b.allocIntervalBytes = allocIntervalBytes;
        b.unwind = unwind;
        b.stackBytes = stackBytes;
        b.rescanMillis = rescanMillis;
        return b;
    }

    /** Target process id (0 = this JVM); meaningless for a cgroup target. */
    public int pid() {
        return pid;
    }

    /** The cgroup v2 directory, or null for a process target. */
    public String cgroupPath() {
        return cgroupPath;
    }

    public boolean isCgroupTarget() {
        return cgroupPath != null;
    }

    public int frequencyHz() {
        return frequencyHz;
    }

    public Event event() {
        return event;
    }

    /** Events per sample for the fixed-period events; unused for cpu-clock. */
    public long period() {
        return period;
    }

    public KernelMode kernelMode() {
        return kernelMode;
    }

    public boolean perThread() {
        return perThread;
    }

    public boolean followChildren() {
        return followChildren;
    }

    public int maxDepth() {
        return maxDepth;
    }

    public long tableBytes() {
        return tableBytes;
    }

    /** Data pages per perf ring buffer; 0 = the native default. */
    public int ringPages() {
        return ringPages;
    }

    /** Alloc profiles: the mean bytes allocated between two samples. */
    public long allocIntervalBytes() {
        return allocIntervalBytes;
    }

    /** How user stacks are unwound (AUTO by default). */
    public Unwind unwind() {
        return unwind;
    }

    /** User-stack bytes copied per sample for unwinding (ignored in FP mode). */
    public int stackBytes() {
        return stackBytes;
    }

    /**
     * How often the native reader rescans the target's threads in /proc (and checks that the
     * process lives), in ms: a safety net for threads whose FORK record it missed.
     */
    public int rescanMillis() {
        return rescanMillis;
    }

    @Override
    public String toString() {
        return "SamplingOptions{" + (cgroupPath != null ? "cgroup=" + cgroupPath : "pid=" + pid)
                + ", event=" + event + (event == Event.CPU_CLOCK || event == Event.WALL ? ", " + frequencyHz + " Hz"
                        : event == Event.OFF_CPU ? "" : event == Event.ALLOC
                        ? ", every " + allocIntervalBytes + " bytes" : ", period=" + period)
                + ", kernel=" + kernelMode + ", perThread=" + perThread + ", followChildren=" + followChildren
                + ", maxDepth=" + maxDepth + ", tableBytes=" + tableBytes + ", unwind=" + unwind
                + (unwind == Unwind.FP ? "" : ", stackBytes=" + stackBytes) + ", rescanMillis=" + rescanMillis + "}";
    }

    /** Builder; {@link #build()} validates. */
    public static final class Builder {
        private int pid;
        private String cgroupPath;
        private int frequencyHz = 999;
        private Event event = Event.CPU_CLOCK;
        private long period = 1;
        private KernelMode kernelMode = KernelMode.AUTO;
        private boolean perThread = true;
        private boolean followChildren = true;
        private int maxDepth = 127;
        private long tableBytes = 64L << 20;
        private int ringPages;
        private long allocIntervalBytes = DEFAULT_ALLOC_INTERVAL_BYTES;
        private Unwind unwind = Unwind.AUTO;
        private int stackBytes = DEFAULT_STACK_BYTES;
        private int rescanMillis = DEFAULT_RESCAN_MILLIS;

        private Builder() {
        }

        /** Samples process pid (its tgid) and its threads; 0 = this JVM. Clears a cgroup target. */
        public Builder pid(int pid) {
            if (pid < 0) {
                throw new IllegalArgumentException("pid must be >= 0, got " + pid);
            }
            this.pid = pid;
            this.cgroupPath = null;
            return this;
        }

        /** Samples every task of a cgroup v2 directory (e.g. /sys/fs/cgroup/...). */
        public Builder cgroupPath(String path) {
            this.cgroupPath = Objects.requireNonNull(path, "path");
            return this;
        }

        public Builder frequencyHz(int hz) {
            this.frequencyHz = hz;
            return this;
        }

        public Builder event(Event event) {
            this.event = Objects.requireNonNull(event, "event");
            return this;
        }

        public Builder period(long period) {
            this.period = period;
            return this;
        }

        public Builder kernelMode(KernelMode mode) {
            this.kernelMode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        public Builder perThread(boolean on) {
            this.perThread = on;
            return this;
        }

        public Builder followChildren(boolean on) {
            this.followChildren = on;
            return this;
        }

        public Builder maxDepth(int depth) {
            this.maxDepth = depth;
            return this;
        }

        public Builder tableBytes(long bytes) {
            this.tableBytes = bytes;
            return this;
        }

        public Builder ringPages(int pages) {
            this.ringPages = pages;
            return this;
        }

        public Builder unwind(Unwind mode) {
            this.unwind = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** Alloc profiles: about one sample every {@code bytes} bytes allocated (mean, >= 1). */
        public Builder allocIntervalBytes(long bytes) {
            this.allocIntervalBytes = bytes;
            return this;
        }

        /** User-stack bytes copied per sample: a multiple of 8 in 64..65528. */
        public Builder stackBytes(int bytes) {
            this.stackBytes = bytes;
            return this;
        }

        /**
         * Rescan interval of the target's threads, 1..60000 ms (default 100, as the native core).
         * New threads are attached from their FORK records at once; the rescan catches the ones
         * whose record was lost, and notices the process's end. Each rescan reads /proc, so a
         * long-running sampler may rescan less often.
         */
        public Builder rescanMillis(int millis) {
            this.rescanMillis = millis;
            return this;
        }

        public SamplingOptions build() {
            if (rescanMillis < 1 || rescanMillis > 60_000) {
                throw new IllegalArgumentException("rescan interval must be 1..60000 ms, got " + rescanMillis);
            }
            if (stackBytes < 64 || stackBytes > 65528 || stackBytes % 8 != 0) {
                throw new IllegalArgumentException("stack bytes must be a multiple of 8 in 64..65528, got " + stackBytes);
            }
            if (frequencyHz < 1 || frequencyHz > 100_000) {
                throw new IllegalArgumentException("frequency must be 1..100000 Hz, got " + frequencyHz);
            }
            if (period < 1) {
                throw new IllegalArgumentException("period must be >= 1 event, got " + period);
            }
            if (allocIntervalBytes < 1) {
                throw new IllegalArgumentException("alloc interval must be >= 1 byte, got " + allocIntervalBytes);
            }
            if (maxDepth < 1 || maxDepth > 512) {
                throw new IllegalArgumentException("maxDepth must be 1..512 frames, got " + maxDepth);
            }
            if (tableBytes < (1 << 20)) {
                throw new IllegalArgumentException("tableBytes must be >= 1 MiB, got " + tableBytes);
            }
            if (ringPages != 0 && Integer.bitCount(ringPages) != 1) {
                throw new IllegalArgumentException("ringPages must be a power of two (or 0), got " + ringPages);
            }
            if (cgroupPath != null && cgroupPath.isBlank()) {
                throw new IllegalArgumentException("cgroup path is empty");
            }
            return new SamplingOptions(this);
        }
    }
}
