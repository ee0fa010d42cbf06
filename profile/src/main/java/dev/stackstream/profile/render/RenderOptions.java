package dev.stackstream.profile.render;

import java.util.Objects;

/**
 * How a profile is rendered. Immutable: every {@code withX} returns a copy. Options a format has no
 * use for are ignored by it (the collapsed text has no width, pprof has no palette).
 *
 * <p>Defaults follow flamegraph.pl: title "Flame Graph", no subtitle, 1200 px wide, 16 px frames,
 * frames narrower than 0.1 px left out, the hot palette, flames growing upwards, threads merged.
 */
public final class RenderOptions {
    private static final RenderOptions DEFAULTS = new RenderOptions("Flame Graph", null, 1200, 16, 0.1,
            Palette.HOT, false, false, false, false, "samples");

    private final String title;
    private final String subtitle;
    private final int width;
    private final int frameHeight;
    private final double minWidth;
    private final Palette palette;
    private final boolean inverted;
    private final boolean reversed;
    private final boolean threads;
    private final boolean normalize;
    private final String countName;

    private RenderOptions(String title, String subtitle, int width, int frameHeight, double minWidth,
                          Palette palette, boolean inverted, boolean reversed, boolean threads,
                          boolean normalize, String countName) {
        this.title = Objects.requireNonNull(title, "title");
        this.subtitle = subtitle;
        if (width < 100) {
            throw new IllegalArgumentException("width must be >= 100 px, got " + width);
        }
        if (frameHeight < 4) {
            throw new IllegalArgumentException("frame height must be >= 4 px, got " + frameHeight);
        }
        if (!(minWidth >= 0)) {
            throw new IllegalArgumentException("min width must be >= 0 px, got " + minWidth);
        }
        this.width = width;
        this.frameHeight = frameHeight;
        this.minWidth = minWidth;
        this.palette = Objects.requireNonNull(palette, "palette");
        this.inverted = inverted;
        this.reversed = reversed;
        this.threads = threads;
        this.normalize = normalize;
        this.countName = Objects.requireNonNull(countName, "countName");
    }

    /**
     * The defaults with what one count of a profile type is called in hover texts: µs for an
     * off-CPU profile (counts of {@link dev.stackstream.profile.ProfileType#OFF_CPU_QUANTUM_NS}),
     * bytes for an alloc profile, calls for alloc-objects, samples otherwise (cpu and wall: 1/Hz each; page faults: one per period).
     */
    public static RenderOptions forType(String typeName) {
        return switch (typeName) {
            case "offcpu" -> DEFAULTS.withCountName("µs");
            case "alloc" -> DEFAULTS.withCountName("bytes");
            case "alloc-objects" -> DEFAULTS.withCountName("calls");
            default -> DEFAULTS;
        };
    }

    public static RenderOptions defaults() {
        return DEFAULTS;
    }

    /** Title at the top of graphs (default "Flame Graph"; "Icicle Graph" is not implied by {@link #inverted()}). */
    public String title() {
        return title;
    }

    /** Second line under the title, or {@code null} for none. */
    public String subtitle() {
        return subtitle;
    }

    /** Image width in px (SVG; the HTML graph fills its window). Default 1200. */
    public int width() {
        return width;
    }

    /** Height of one frame in px. Default 16. */
    public int frameHeight() {
        return frameHeight;
    }

    /** Frames narrower than this many px are omitted from the SVG (their samples still count). Default 0.1. */
    public double minWidth() {
        return minWidth;
    }

    public Palette palette() {
        return palette;
    }

    /** Icicle graph: root at the top, stacks growing downwards (flamegraph.pl {@code --inverted}). */
    public boolean inverted() {
        return inverted;
    }

    /** Stacks reversed before merging, leaf becoming root: a callers ("bottom-up") graph (flamegraph.pl {@code --reverse}). */
    public boolean reversed() {
        return reversed;
    }

    /** Per-thread root frames: each sample's thread name becomes its stack's root frame. */
    public boolean threads() {
        return threads;
    }

    /** For differential graphs: scale the baseline to the comparison's total before comparing (difffolded.pl {@code -n}). */
    public boolean normalize() {
        return normalize;
    }

    /** What one count is called in hover text (default "samples"). */
    public String countName() {
        return countName;
    }

    public RenderOptions withTitle(String title) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    public RenderOptions withSubtitle(String subtitle) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    public RenderOptions withWidth(int width) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    public RenderOptions withFrameHeight(int frameHeight) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    public RenderOptions withMinWidth(double minWidth) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    public RenderOptions withPalette(Palette palette) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    public RenderOptions withInverted(boolean inverted) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    public RenderOptions withReversed(boolean reversed) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    public RenderOptions withThreads(boolean threads) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    public RenderOptions withNormalize(boolean normalize) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    public RenderOptions withCountName(String countName) {
        return new RenderOptions(title, subtitle, width, frameHeight, minWidth, palette, inverted, reversed,
                threads, normalize, countName);
    }

    @Override
    public String toString() {
        return "RenderOptions[title=" + title + ", subtitle=" + subtitle + ", width=" + width
                + ", frameHeight=" + frameHeight + ", minWidth=" + minWidth + ", palette=" + palette
                + ", inverted=" + inverted + ", reversed=" + reversed + ", threads=" + threads
                + ", normalize=" + normalize + ", countName=" + countName + "]";
    }
}
