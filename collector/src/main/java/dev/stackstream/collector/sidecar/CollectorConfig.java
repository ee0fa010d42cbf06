package dev.stackstream.collector.sidecar;

import dev.stackstream.collector.publish.PublisherConfig;
import dev.stackstream.collector.sampling.ProfileKind;
import dev.stackstream.collector.sampling.SamplingOptions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Everything a {@link Collector} needs. Immutable; build with {@link #builder(Target, String, PublisherConfig)}.
 * Defaults: 99 Hz, windows of 10 s, /proc scanned every 5 s for a process-regex target, 20 s to
 * deliver buffered windows at shutdown, a collector id of host-pid-random, no metrics endpoint.
 */
public final class CollectorConfig {

    /** What to sample: one process, one cgroup v2 (a container), or every process whose command line matches. */
    public static final class Target {
        private final Integer pid;
        private final String cgroup;
        private final Pattern regex;

        private Target(Integer pid, String cgroup, Pattern regex) {
            this.pid = pid;
            this.cgroup = cgroup;
            this.regex = regex;
        }

        /** One process and all its threads; the collector stops when it ends. */
        public static Target pid(int pid) {
            if (pid <= 0) {
                throw new IllegalArgumentException("pid must be > 0, got " + pid);
            }
            return new Target(pid, null, null);
        }

        /** A whole cgroup v2, e.g. /sys/fs/cgroup/kubepods/...; the collector stops when it is removed. */
        public static Target cgroup(String path) {
            return new Target(null, Objects.requireNonNull(path, "path"), null);
        }

        /** Every process whose command line matches (re-attached when it restarts), until stopped. */
        public static Target processes(Pattern regex) {
            return new Target(null, null, Objects.requireNonNull(regex, "regex"));
        }

        Integer pid() {
            return pid;
        }

        String cgroup() {
            return cgroup;
        }

        Pattern regex() {
            return regex;
        }

        String describe() {
            return pid != null ? "pid " + pid : cgroup != null ? "cgroup " + cgroup : "processes matching /" + regex + "/";
        }
    }

    private final Target target;
    private final String service;
    private final Map<String, String> labels;
    private final SamplingOptions sampling;
    private final List<ProfileKind> profiles;
    private final Duration window;
    private final Duration rescan;
    private final Duration shutdownTimeout;
    private final PublisherConfig publisher;
    private final String collectorId;
    private final InetSocketAddress metricsAddress;

    private CollectorConfig(Builder b) {
        target = b.target;
        service = b.service;
        labels = Map.copyOf(b.labels);
        sampling = b.sampling;
        profiles = List.copyOf(new LinkedHashSet<>(b.profiles));
        window = b.window;
        rescan = b.rescan;
        shutdownTimeout = b.shutdownTimeout;
        publisher = b.publisher;
        collectorId = b.collectorId != null ? b.collectorId : defaultCollectorId();
        metricsAddress = b.metricsAddress;
    }

    /**
     * @param service the service the windows are filed under
     * @param publisher where the windows go (Kafka address, topics, outage buffer, wire format)
     */
    public static Builder builder(Target target, String service, PublisherConfig publisher) {
        return new Builder(target, service, publisher);
    }

    public Target target() { return target; }
    public String service() { return service; }
    /** Labels of every window; the Kubernetes downward-API variables add theirs (these win). */
    public Map<String, String> labels() { return labels; }
    public SamplingOptions sampling() { return sampling; }
    /**
     * The profile types sampled from every target, each in a session of its own (default cpu);
     * {@link #sampling()} gives the rest of the options, its event is replaced by each kind's.
     */
    public List<ProfileKind> profiles() { return profiles; }
    public Duration window() { return window; }
    /** Interval of the /proc scan of a process-regex target. */
    public Duration rescan() { return rescan; }
    /** How long stopping may take to deliver the windows still buffered. */
    public Duration shutdownTimeout() { return shutdownTimeout; }
    public PublisherConfig publisher() { return publisher; }
    /** Identity of this run: its windows are keyed and numbered under it. */
    public String collectorId() { return collectorId; }
    /** Where /metrics is served, or null for no endpoint. */
    public InetSocketAddress metricsAddress() { return metricsAddress; }

    /** host-pid-random: unique per run, readable in logs. */
    static String defaultCollectorId() {
        String host;
        try {
            host = System.getenv().getOrDefault("HOSTNAME", InetAddress.getLocalHost().getHostName());
        } catch (IOException e) {
            host = "localhost";
        }
        byte[] random = new byte[4];
        ThreadLocalRandom.current().nextBytes(random);
        return host + "-" + ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(random);
    }

    /** Mutable builder; {@link #build()} validates. */
    public static final class Builder {
        private final Target target;
        private final String service;
        private final PublisherConfig publisher;
        private final Map<String, String> labels = new LinkedHashMap<>();
        private SamplingOptions sampling = SamplingOptions.builder().frequencyHz(99).build();
        private List<ProfileKind> profiles = List.of(ProfileKind.CPU);
        private Duration window = Duration.ofSeconds(10);
        private Duration rescan = Duration.ofSeconds(5);
        private Duration shutdownTimeout = Duration.ofSeconds(20);
        private String collectorId;
        private InetSocketAddress metricsAddress;

        private Builder(Target target, String service, PublisherConfig publisher) {
            this.target = Objects.requireNonNull(target, "target");
            this.service = Objects.requireNonNull(service, "service");
            this.publisher = Objects.requireNonNull(publisher, "publisher");
        }

        public Builder labels(Map<String, String> v) { labels.putAll(v); return this; }
        public Builder sampling(SamplingOptions v) { sampling = Objects.requireNonNull(v); return this; }
        public Builder profiles(List<ProfileKind> v) { profiles = List.copyOf(v); return this; }
        public Builder window(Duration v) { window = Objects.requireNonNull(v); return this; }
        public Builder rescan(Duration v) { rescan = Objects.requireNonNull(v); return this; }
        public Builder shutdownTimeout(Duration v) { shutdownTimeout = Objects.requireNonNull(v); return this; }
        public Builder collectorId(String v) { collectorId = v; return this; }
        public Builder metricsAddress(InetSocketAddress v) { metricsAddress = v; return this; }

        public CollectorConfig build() {
            if (service.isBlank()) {
                throw new IllegalArgumentException("the service name must not be empty");
            }
            if (profiles.isEmpty()) {
                throw new IllegalArgumentException("at least one profile type is needed");
            }
            if (window.toMillis() < 100) {
                throw new IllegalArgumentException("windows must be >= 0.1 s, got " + window);
            }
            if (rescan.toMillis() < 1 || shutdownTimeout.isNegative()) {
                throw new IllegalArgumentException("rescan must be positive and the shutdown timeout not negative");
            }
            return new CollectorConfig(this);
        }
    }
}
