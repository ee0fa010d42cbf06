package dev.stackstream.aggregator.engine;

import java.util.List;

/** Names of the aggregator's state stores (their changelog topics are {@code <application.id>-<name>-changelog}). */
public final class StoreNames {
    /** Per collector id: the {@link SequenceTracker} of windows already counted. */
    public static final String SEQUENCES = "collector-sequences";
    /** Per series id: the {@link Series} descriptor and when it last got data. */
    public static final String SERIES = "series";
    /** Pending rollups (tier, bucket start, series id) and each tier's rollup watermark. */
    public static final String ROLLUP = "rollup-state";
    /** Per collector id: its index bindings (index to stack id / thread name), context and last use; see {@link CollectorIndexStore}. */
    public static final String COLLECTOR_INDEX = "collector-index";
    /** Global store: stack id (16 bytes) to the StackDefinition bytes, verbatim from the stacks topic. */
    public static final String STACKS = "stack-dictionary";

    private StoreNames() {
    }

    /** The window store of a tier: {@code counts-10s}, {@code counts-1m}, ... */
    public static String tier(Tier tier) {
        return "counts-" + tier.name();
    }

    public static List<String> tiers(List<Tier> tiers) {
        return tiers.stream().map(StoreNames::tier).toList();
    }
}
