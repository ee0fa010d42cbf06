package dev.stackstream.collector.sampling;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Measures a process target from /proc, including the child processes the session follows.
 *
 * <p>CPU: the sum over every tracked live process of its own time plus its waited-for children's
 * time ({@code utime+stime+cutime+cstime}). Each CPU tick is then counted exactly once: while a
 * child runs it is counted as a tracked process; once its parent reaps it, its total moves into
 * the parent's {@code cutime/cstime} at the moment it leaves the live set. Time of a child that is
 * re-parented to init (a daemon) leaves the sum when it exits; the /proc granularity is 10 ms.
 * When the root target itself has been reaped, its last reading is kept, so the final window of
 * a command misses at most the time since the previous reading.
 *
 * <p>RSS: the sum of VmRSS over the tracked live processes at the time of reading.
 */
final class ProcessTreeMeter implements TargetMeter {
    private final int rootPid;
    private final boolean followChildren;
    /** pid -> start time, so a reused pid is not mistaken for the process we tracked. */
    private final Map<Integer, Long> tracked = new LinkedHashMap<>();
    private long lastRootNanos = -1;

    ProcessTreeMeter(int rootPid, boolean followChildren) {
        this.rootPid = rootPid;
        this.followChildren = followChildren;
        ProcStat root = ProcStat.read(rootPid);
        tracked.put(rootPid, root == null ? -1L : root.startTicks());
    }

    @Override
    public void track(int pid) {
        if (!followChildren || pid <= 0 || tracked.containsKey(pid)) {
            return;
        }
        ProcStat s = ProcStat.read(pid);
        if (s != null) {
            tracked.put(pid, s.startTicks());
        }
    }

    @Override
    public void untrack(int pid) {
        if (pid != rootPid) {
            tracked.remove(pid);
        }
    }

    @Override
    public Reading read() {
        long cpu = 0;
        long rss = 0;
        boolean anyRss = false;
        boolean rootSeen = false;
        var it = tracked.entrySet().iterator();
        while (it.hasNext()) {
            var e = it.next();
            int pid = e.getKey();
            ProcStat s = ProcStat.read(pid);
            if (s == null || (e.getValue() >= 0 && s.startTicks() != e.getValue())) {
                if (pid != rootPid) {
                    it.remove();
                }
                continue;
            }
            if (pid == rootPid) {
                rootSeen = true;
                lastRootNanos = s.treeNanos();
                cpu += lastRootNanos;
            } else {
                cpu += s.treeNanos();
            }
            OptionalLong r = ProcStat.rssBytes(pid);
            if (r.isPresent()) {
                rss += r.getAsLong();
                anyRss = true;
            }
        }
        if (!rootSeen) {
            if (lastRootNanos < 0) {
                return Reading.NONE;
            }
            cpu += lastRootNanos;
        }
        return new Reading(OptionalLong.of(cpu), anyRss ? OptionalLong.of(rss) : OptionalLong.empty());
    }
}
