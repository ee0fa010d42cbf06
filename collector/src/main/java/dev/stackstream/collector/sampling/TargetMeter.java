package dev.stackstream.collector.sampling;

import java.util.OptionalLong;

/**
 * Reads what the target used beside the stacks, once per window: cumulative CPU time and the
 * current resident set. Readings the kernel does not give (a process that vanished, a file that
 * cannot be read) are absent, never zero.
 */
interface TargetMeter {

    /** One reading. cpuNanos is cumulative since the target started; rssBytes is current. */
    record Reading(OptionalLong cpuNanos, OptionalLong rssBytes) {
        static final Reading NONE = new Reading(OptionalLong.empty(), OptionalLong.empty());
    }

    /** Lets the meter know about a process that belongs to the target (a followed child). */
    void track(int pid);

    /** Forgets a process that exited (its time is now in its reaper's cumulative children time). */
    void untrack(int pid);

    Reading read();
}
