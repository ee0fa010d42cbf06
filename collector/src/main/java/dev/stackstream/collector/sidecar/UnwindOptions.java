package dev.stackstream.collector.sidecar;

import dev.stackstream.collector.sampling.SamplingOptions;
import picocli.CommandLine.Option;

/**
 * {@code --unwind} and {@code --stack-bytes}, shared by the commands that sample (the sidecar and
 * {@code record}) as a picocli mixin, so both spell, default and document them alike.
 */
public final class UnwindOptions {
    @Option(names = "--unwind", paramLabel = "auto|fp|cfi", defaultValue = "auto",
            converter = UnwindConverter.class,
            description = "How user stacks are unwound: auto = CFI (.eh_frame) where the module has it, the frame"
                    + " pointer elsewhere; fp = frame pointers only; cfi = CFI only (default: ${DEFAULT-VALUE}).")
    SamplingOptions.Unwind unwind = SamplingOptions.Unwind.AUTO;

    @Option(names = "--stack-bytes", paramLabel = "BYTES", defaultValue = "" + SamplingOptions.DEFAULT_STACK_BYTES,
            description = "User-stack bytes copied per sample for CFI unwinding, a multiple of 8 in 64..65528"
                    + " (default ${DEFAULT-VALUE}: enough for perl, python3 and gzip to reach their root).")
    int stackBytes = SamplingOptions.DEFAULT_STACK_BYTES;

    /** The two choices applied to a sampling options builder. */
    public SamplingOptions.Builder applyTo(SamplingOptions.Builder b) {
        return b.unwind(unwind).stackBytes(stackBytes);
    }
}
