package dev.stackstream.symbols;

import dev.stackstream.profile.FrameKind;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Thread-safe counters behind {@link SymbolizerStats}. Warnings are counted every time and logged
 * once per (cause, subject) so a corrupt file seen in every sample does not flood the log.
 */
public final class StatsRecorder {
    private static final Logger LOG = LoggerFactory.getLogger(StatsRecorder.class);
    private static final int MAX_LOGGED_SUBJECTS = 10_000;

    private final LongAdder[][] byFrameKind = adders(FrameKind.values().length);
    private final LongAdder[][] byModuleKind = adders(ModuleKind.values().length);
    private final Map<String, LongAdder> warnings = new ConcurrentHashMap<>();
    private final Set<String> logged = ConcurrentHashMap.newKeySet();
    private final List<String> notes = new CopyOnWriteArrayList<>();
    private final Set<String> noteKeys = ConcurrentHashMap.newKeySet();

    private static LongAdder[][] adders(int n) {
        LongAdder[][] a = new LongAdder[n][2];
        for (LongAdder[] pair : a) {
            pair[0] = new LongAdder();
            pair[1] = new LongAdder();
        }
        return a;
    }

    /** One address symbolized. */
    public void lookup(FrameKind frameKind, ModuleKind moduleKind, boolean resolved) {
        int idx = resolved ? 0 : 1;
        byFrameKind[frameKind.ordinal()][idx].increment();
        byModuleKind[moduleKind.ordinal()][idx].increment();
    }

    /**
     * Counts a warning of the given cause; logs it the first time it is seen for subject (a file
     * path, a pid).
     */
    public void warn(String cause, String subject, String message) {
        warnings.computeIfAbsent(cause, c -> new LongAdder()).increment();
        String key = cause + '\0' + subject;
        if (logged.size() < MAX_LOGGED_SUBJECTS && logged.add(key)) {
            LOG.warn("{} ({}): {}", cause, subject, message);
        }
    }

    /** Adds an operator note once per key, logging it at INFO. */
    public void note(String key, String text) {
        if (noteKeys.add(key)) {
            notes.add(text);
            LOG.info(text);
        }
    }

    /** Counters with the cache and jcmd figures the symbolizer adds. */
    public SymbolizerStats snapshot(long rustV0Kept, long cachedModules, long cachedBytes, long jvmTargets,
                                    long jcmdRuns, long jcmdFailures) {
        Map<FrameKind, SymbolizerStats.Counts> fk = new EnumMap<>(FrameKind.class);
        long resolved = 0;
        long unresolved = 0;
        for (FrameKind k : FrameKind.values()) {
            long r = byFrameKind[k.ordinal()][0].sum();
            long u = byFrameKind[k.ordinal()][1].sum();
            fk.put(k, new SymbolizerStats.Counts(r, u));
            resolved += r;
            unresolved += u;
        }
        Map<ModuleKind, SymbolizerStats.Counts> mk = new EnumMap<>(ModuleKind.class);
        for (ModuleKind k : ModuleKind.values()) {
            mk.put(k, new SymbolizerStats.Counts(byModuleKind[k.ordinal()][0].sum(),
                    byModuleKind[k.ordinal()][1].sum()));
        }
        Map<String, Long> w = new TreeMap<>();
        warnings.forEach((k, v) -> w.put(k, v.sum()));
        return new SymbolizerStats(resolved + unresolved, resolved, unresolved, fk, mk, w,
                rustV0Kept, List.copyOf(notes), cachedModules, cachedBytes, jvmTargets, jcmdRuns,
                jcmdFailures);
    }
}
