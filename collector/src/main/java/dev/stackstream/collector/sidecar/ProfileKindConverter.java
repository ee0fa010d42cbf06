package dev.stackstream.collector.sidecar;

import dev.stackstream.collector.sampling.ProfileKind;
import picocli.CommandLine;

/** {@code --profile NAME}: a {@link ProfileKind} by name; an unknown name is a usage error listing the valid ones. */
public final class ProfileKindConverter implements CommandLine.ITypeConverter<ProfileKind> {
    @Override
    public ProfileKind convert(String value) {
        try {
            return ProfileKind.byName(value.strip());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
