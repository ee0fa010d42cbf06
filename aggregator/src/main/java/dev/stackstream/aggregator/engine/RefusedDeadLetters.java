package dev.stackstream.aggregator.engine;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Source records whose dead letter the dead-letter topic refused (too large for its
 * {@code max.message.bytes}, say), so that the next time ingest meets them, after the aborted
 * transaction is replayed, it writes a small stub in their place, or nothing when even the stub was
 * refused. Without this a refused dead letter would abort every replay of the same record: a crash loop.
 *
 * <p>{@link ProductionErrorHandler} records refusals on the producer's thread; {@link IngestProcessor}
 * reads them on the stream threads; the uncaught-exception handler asks {@link #takeReplacement()}
 * whether the stream thread died of such a refusal (and is to be replaced) or of anything else.
 * One instance per aggregator, handed to both through the Streams property {@link #CONFIG}.
 * Refusals are kept in memory only: after a process restart the record is refused once more,
 * recorded again and then handled; no restart meets it unhandled twice.
 */
public final class RefusedDeadLetters {
    /** Streams property holding the aggregator's instance. */
    public static final String CONFIG = "stackstream.refused.dead.letters";
    /** Reason code of the stub written in place of a refused dead letter. */
    public static final String STUB_REASON = "dead-letter-refused";
    /** Refusals remembered; the oldest go first (a replay reaches back one commit interval, not thousands). */
    private static final int KEPT = 10_000;

    /** What ingest writes instead of the refused dead letter. */
    public enum Outcome { STUB, DROP }

    /** A refusal: what to do, and what the stub says (the original reason and why the topic refused it). */
    public record Refusal(Outcome outcome, String message) { }

    private final Map<String, Refusal> bySource = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Refusal> eldest) {
            return size() > KEPT;
        }
    };
    /** Refusals whose stream thread has not been replaced yet (each fails one thread). */
    private final AtomicInteger replacementsDue = new AtomicInteger();
    /** The exception of the latest refusal: the doomed transaction's other sends fail with it too. */
    private volatile Throwable lastCause;
    private volatile boolean empty = true;

    /** The instance in the Streams properties, or a fresh one when there is none (a test driver). */
    static RefusedDeadLetters from(Map<String, ?> configs) {
        return configs.get(CONFIG) instanceof RefusedDeadLetters r ? r : new RefusedDeadLetters();
    }

    /**
     * The dead letter of the record at {@code source} ({@code topic-partition@offset}) was refused:
     * next time a stub, or nothing when it was the stub that was refused.
     */
    synchronized Outcome refuse(String source, boolean stubRefused, String message, Throwable cause) {
        lastCause = cause;
        Outcome outcome = stubRefused ? Outcome.DROP : Outcome.STUB;
        bySource.put(source, new Refusal(outcome, message));
        empty = false;
        replacementsDue.incrementAndGet();
        return outcome;
    }

    /**
     * True when {@code e} is (or is caused by) the latest refusal's exception: the producer fails
     * every other send of the aborted transaction with it, and the replay writes those again.
     */
    boolean isFollowUp(Throwable e) {
        Throwable cause = lastCause;
        for (Throwable t = e; t != null && cause != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t == cause) {
                return true;
            }
        }
        return false;
    }

    /** The refusal recorded for the record at {@code source}, or null. */
    Refusal of(String source) {
        if (empty) {
            return null;
        }
        synchronized (this) {
            return bySource.get(source);
        }
    }

    /** True when nothing was refused: the per-record check costs a volatile read. */
    boolean isEmpty() {
        return empty;
    }

    /**
     * True once per refusal: the stream thread that died of it is to be replaced (its task then
     * replays from the last commit and meets the record as refused), not the client shut down.
     */
    public boolean takeReplacement() {
        return replacementsDue.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
    }
}
