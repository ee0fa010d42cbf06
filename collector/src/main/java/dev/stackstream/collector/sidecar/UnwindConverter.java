package dev.stackstream.collector.sidecar;

import dev.stackstream.collector.sampling.SamplingOptions;
import java.util.Locale;
import picocli.CommandLine;

/** {@code --unwind auto|fp|cfi}: lower-case names of {@link SamplingOptions.Unwind}. */
public final class UnwindConverter implements CommandLine.ITypeConverter<SamplingOptions.Unwind> {
    @Override
    public SamplingOptions.Unwind convert(String value) {
        try {
            return SamplingOptions.Unwind.valueOf(value.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException("--unwind must be auto, fp or cfi, got '" + value + "'");
        }
    }
}
