package dev.stackstream.collector.sidecar;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import dev.stackstream.collector.metrics.CollectorMetrics;
import dev.stackstream.collector.metrics.SamplingMetrics;
import dev.stackstream.collector.metrics.SymbolizationMetrics;
import dev.stackstream.collector.publish.WindowPublisher;
import dev.stackstream.collector.sampling.ProfileKind;
import dev.stackstream.collector.sampling.ProfilerException;
import dev.stackstream.collector.sampling.SamplingOptions;
import dev.stackstream.collector.sampling.SamplingSession;
import dev.stackstream.collector.sampling.WindowedSampler;
import dev.stackstream.command.ExitStatus;
import dev.stackstream.profile.Profile;
import dev.stackstream.symbols.Symbolizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sidecar's sampling side: attaches to its targets, runs one {@link WindowedSampler} per
 * target on its own thread, and hands every window to the {@link WindowPublisher} with the next
 * sequence number of this collector run.
 *
 * <p>Targets: one pid, one cgroup, or every process whose command line matches a regex, found by
 * a periodic /proc scan. A matching process that exits is dropped after its last window; its
 * successor (a restart: a new pid) is attached at the next scan.
 */
final class Sidecar {
    private static final Logger LOG = LoggerFactory.getLogger(Sidecar.class);
    private static final Duration LIVENESS = Duration.ofSeconds(1);

    private final CollectorConfig.Target target;
    private final SamplingOptions sampling;
    private final List<ProfileKind> profiles;
    private final Duration window;
    private final Duration rescan;
    private final String service;
    private final Map<String, String> labels;
    private final String collectorId;
    private final WindowPublisher publisher;
    private final Supplier<Symbolizer> symbolizers;
    private final CollectorMetrics metrics;
    private final Clock clock;

    private final Object sequenceLock = new Object();
    private long nextSequence;
    private final Map<Integer, List<Attachment>> attached = new ConcurrentHashMap<>();
    private final List<Attachment> all = new CopyOnWriteArrayList<>();
    private final Set<Integer> refused = ConcurrentHashMap.newKeySet();
    private final Object stopLock = new Object();
    private volatile boolean stopping;
    private volatile Thread scanner;
    private volatile ProfilerException refusal;
    private final java.util.concurrent.atomic.AtomicInteger attachments = new java.util.concurrent.atomic.AtomicInteger();

    Sidecar(CollectorConfig.Target target, SamplingOptions sampling, List<ProfileKind> profiles, Duration window,
            Duration rescan, String service,
            Map<String, String> labels, String collectorId, WindowPublisher publisher,
            Supplier<Symbolizer> symbolizers, CollectorMetrics metrics, Clock clock) {
        this.target = Objects.requireNonNull(target);
        this.sampling = sampling;
        this.profiles = List.copyOf(profiles);
        this.window = window;
        this.rescan = rescan;
        this.service = service;
        this.labels = Map.copyOf(labels);
        this.collectorId = collectorId;
        this.publisher = publisher;
        this.symbolizers = symbolizers;
        this.metrics = metrics;
        this.clock = clock;
    }

    /** One sampled target and the thread running its sampler. */
    private final class Attachment {
        final String name;
        final Map<String, String> labels;
        final SamplingSession session;
        final Symbolizer symbolizer;
        final WindowedSampler sampler;
        final SamplingMetrics.Target meter;
        final SymbolizationMetrics.Source symbolizerMeter;
        final Thread thread;

        Attachment(String name, Map<String, String> labels, SamplingSession session, Symbolizer symbolizer) {
            this.name = name;
            this.labels = labels;
            this.session = session;
            this.symbolizer = symbolizer;
            // Every sample type its own series (alloc: bytes and allocations). Liveness once a
            // second, not every 50 ms as for record: a target's end is then published within a
            // second, and the idle loop costs 1 wake-up a second instead of 20 (BENCHMARKS.md,
            // "steady state").
            this.sampler = new WindowedSampler(session, window, null, clock, this::onWindow, true, LIVENESS);
            this.meter = metrics == null ? null : metrics.sampling().attach(name, session::stats);
            this.symbolizerMeter = metrics == null ? null : metrics.bindSymbolizer(symbolizer::stats);
            this.thread = new Thread(this::run, "stackstream-sampler-" + name.replace(' ', '-'));
        }

        private void onWindow(Profile p) {
            if (metrics != null) {
                metrics.publishing().windowDrained(p);
            }
            synchronized (sequenceLock) {
                publisher.publish(p, service, labels, collectorId, nextSequence++);
            }
        }

        /** Frees the session, its symbolizer and meters: when sampling ended, or instead of starting. */
        private void release() {
            if (meter != null) {
                meter.close();
            }
            if (symbolizerMeter != null) {
                symbolizerMeter.close();
            }
            session.close();
            symbolizer.close();
        }

        private void run() {
            try {
                WindowedSampler.StopReason reason = sampler.run();
                LOG.info("stopped sampling {} ({}) after {} window(s)", name, reason, sampler.windows());
            } catch (RuntimeException e) {
                LOG.error("sampling {} failed: {}", name, e.toString());
                if (metrics != null) {
                    metrics.publishing().error("sampling");
                }
            } finally {
                release();
            }
        }
    }

    /**
     * Starts sampling on threads of its own: attaches to a pid or cgroup target at once (so a
     * refusal is thrown here), or starts the /proc scan that attaches to every matching process.
     *
     * @throws ProfilerException when a pid or cgroup target cannot be sampled
     */
    void start() throws ProfilerException {
        if (target.regex() == null) {
            SamplingOptions o = target.pid() != null
                    ? sampling.toBuilder().pid(target.pid()).build()
                    : sampling.toBuilder().cgroupPath(target.cgroup()).build();
            attachAll(target.describe(), o, labels).forEach(a -> a.thread.start());
            return;
        }
        scanner = new Thread(this::scan, "stackstream-collector-scan");
        scanner.start();
    }

    /**
     * Waits until sampling ended: {@link #stop()}, a pid or cgroup target that ended, or a process
     * the scan matched whose perf events the kernel refused (then every sampler is stopped).
     *
     * @throws ProfilerException that refusal (a permission problem: the whole collector stops)
     */
    void awaitStopped() throws ProfilerException, InterruptedException {
        if (scanner != null) {
            scanner.join();
        }
        for (Attachment a : all) {
            a.thread.join();
        }
        if (refusal != null) {
            throw refusal;
        }
    }

    /** The /proc scan of a process-regex target, until {@link #stop()}. */
    private void scan() {
        ProcScanner procs = new ProcScanner(java.nio.file.Path.of("/proc"), target.regex());
        LOG.info("watching for processes matching /{}/ every {} s", target.regex(), rescan.toSeconds());
        while (!stopping) {
            attached.values().removeIf(l -> l.stream().allMatch(a -> a.thread.getState() == Thread.State.TERMINATED));
            all.removeIf(a -> a.thread.getState() == Thread.State.TERMINATED);
            for (ProcScanner.Match m : procs.scan()) {
                if (stopping || attached.containsKey(m.pid()) || refused.contains(m.pid())) {
                    continue;
                }
                if (!attachMatch(m)) {
                    return;
                }
            }
            synchronized (stopLock) {
                if (!stopping) {
                    try {
                        stopLock.wait(rescan.toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        stopping = true;
                    }
                }
            }
        }
    }

    /** Attaches to one matching process; false when a permission refusal stopped everything. */
    private boolean attachMatch(ProcScanner.Match m) {
        Map<String, String> l = new TreeMap<>(labels);
        if (!m.comm().isEmpty()) {
            l.putIfAbsent("process", m.comm());
        }
        try {
            List<Attachment> as = attachAll("pid " + m.pid(), sampling.toBuilder().pid(m.pid()).build(), l);
            attached.put(m.pid(), as);
            as.forEach(a -> a.thread.start());
            LOG.info("attached to pid {} ({})", m.pid(), abbreviate(m.cmdline()));
        } catch (ProfilerException e) {
            int status = e.exitStatus();
            if (status == ExitStatus.PERMISSION) {
                LOG.error("{}", e.getMessage());
                refusal = e;
                stop();
                return false;
            }
            if (status != ExitStatus.TARGET_MISSING) { // a process that exited meanwhile is no news
                LOG.warn("not attaching to pid {}: {}", m.pid(), e.getMessage());
                refused.add(m.pid());
            }
        }
        return true;
    }

    /**
     * One session per profile type on one target, all opened before any starts: when the kernel
     * refuses one type, the sessions already open are closed and the refusal is thrown.
     */
    private List<Attachment> attachAll(String name, SamplingOptions options, Map<String, String> l)
            throws ProfilerException {
        List<Attachment> opened = new ArrayList<>();
        try {
            for (ProfileKind kind : profiles) {
                String sessionName = profiles.size() == 1 ? name : name + " " + kind.profileName();
                opened.add(attach(sessionName, kind.applyTo(options.toBuilder()).build(), l));
            }
        } catch (ProfilerException | RuntimeException e) {
            for (Attachment a : opened) {
                all.remove(a);
                a.release();
            }
            throw e;
        }
        attachments.incrementAndGet();
        return opened;
    }

    private Attachment attach(String name, SamplingOptions options, Map<String, String> l) throws ProfilerException {
        Symbolizer symbolizer = symbolizers.get();
        SamplingSession session;
        try {
            session = SamplingSession.open(options, symbolizer, clock);
        } catch (ProfilerException | RuntimeException e) {
            symbolizer.close();
            throw e;
        }
        Attachment a = new Attachment(name, l, session, symbolizer);
        all.add(a);
        if (stopping) {
            a.sampler.stop();
        }
        return a;
    }

    /** Stops every sampler; each delivers its last (partial) window to the publisher. */
    void stop() {
        synchronized (stopLock) {
            stopping = true;
            stopLock.notifyAll();
        }
        for (Attachment a : all) {
            a.sampler.stop();
        }
    }

    /** Targets attached since the start (a restarted process counts again). */
    int attachments() {
        return attachments.get();
    }

    /** Targets sampled right now. */
    int attachedTargets() {
        return (int) all.stream().filter(a -> a.thread.isAlive()).count();
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
