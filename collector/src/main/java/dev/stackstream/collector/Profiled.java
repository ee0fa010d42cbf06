package dev.stackstream.collector;

import dev.stackstream.profile.Profile;
import dev.stackstream.profile.render.RenderOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What {@link Profiler#profile} returns: the wrapped call's value and the profile taken while it ran.
 *
 * @param value the Callable's result ({@code null} for a Runnable)
 * @param profile every sample of the target while the call ran
 */
public record Profiled<T>(T value, Profile profile) {

    /** The text report of the profile (see {@link ProfileReports#summary}). */
    public String summary() {
        return ProfileReports.summary(profile);
    }

    /** Writes every output format and summary.txt into dir; returns the files. */
    public List<Path> writeTo(Path dir) throws IOException {
        return ProfileReports.writeAll(profile, dir, RenderOptions.defaults());
    }
}
