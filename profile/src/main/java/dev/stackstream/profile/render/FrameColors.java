package dev.stackstream.profile.render;

import dev.stackstream.profile.FrameKind;

/**
 * Deterministic frame colours for the palettes: the same name always gets the same colour (in
 * every graph and every run), in the colour ranges flamegraph.pl uses for its palettes. Two values
 * in [0, 1] are derived from the name, one weighting its first characters and one its last, so
 * neighbouring frames with different names differ visibly.
 */
public final class FrameColors {
    /** Fill of frames matched by a search. */
    public static final String SEARCH = "rgb(230,0,230)";
    private static final java.util.regex.Pattern JAVA_NAME = java.util.regex.Pattern.compile("L?(java|org|com|io|sun|jdk)/");

    private FrameColors() {
    }

    /** The fill for a frame name (with its kind suffix, if any) under palette. */
    public static String color(Palette palette, String name) {
        if (name.equals("--")) {
            return "rgb(160,160,160)";
        }
        if (name.equals("-")) {
            return "rgb(200,200,200)";
        }
        double v1 = weight(name, false);
        double v2 = weight(name, true);
        return switch (palette) {
            case HOT -> rgb(205 + (int) (50 * v2), (int) (230 * v1), (int) (55 * v2));
            case MEM -> rgb(0, 190 + (int) (50 * v2), (int) (210 * v1));
            case IO -> rgb(80 + (int) (60 * v1), 80 + (int) (60 * v1), 190 + (int) (55 * v2));
            case JAVA -> javaColor(name, v1);
        };
    }

    private static String javaColor(String name, double v) {
        if (name.endsWith(FrameKind.JIT.suffix()) || JAVA_NAME.matcher(name).lookingAt()) {
            return rgb(50 + (int) (60 * v), 200 + (int) (55 * v), 50 + (int) (60 * v)); // green: JIT / Java
        }
        if (name.endsWith(FrameKind.INLINE_SUFFIX)) {
            return rgb(50 + (int) (60 * v), 165 + (int) (55 * v), 165 + (int) (55 * v)); // aqua: inlined
        }
        if (name.endsWith(FrameKind.KERNEL.suffix())) {
            return rgb(190 + (int) (65 * v), 90 + (int) (65 * v), 0); // orange: kernel
        }
        if (name.contains("::")) {
            return rgb(175 + (int) (55 * v), 175 + (int) (55 * v), 50 + (int) (20 * v)); // yellow: C++
        }
        return rgb(200 + (int) (55 * v), 50 + (int) (80 * v), 50 + (int) (80 * v)); // red: native
    }

    /**
     * Differential colour: white for no change, towards red for growth and blue for shrinkage,
     * saturating at maxDelta (flamegraph.pl's scale).
     */
    public static String diff(long delta, long maxDelta) {
        if (delta > 0) {
            int gb = (int) (210 * (maxDelta - delta) / (double) maxDelta);
            return rgb(255, gb, gb);
        }
        if (delta < 0) {
            int rg = (int) (210 * (maxDelta + delta) / (double) maxDelta);
            return rgb(rg, rg, 255);
        }
        return rgb(255, 255, 255);
    }

    // A value in [0, 1] from the first few characters (or the last few when reversed), early
    // characters weighing most, so names sharing a prefix get similar but not equal colours.
    static double weight(String name, boolean reversed) {
        double vector = 0;
        double weight = 1;
        double max = 1;
        int mod = 10;
        int n = name.length();
        for (int k = 0; k < n && mod <= 12; k++) {
            char c = name.charAt(reversed ? n - 1 - k : k);
            int i = c % mod;
            vector += (i / (double) (mod - 1)) * weight;
            mod++;
            max += weight;
            weight *= 0.70;
        }
        return 1 - vector / max;
    }

    private static String rgb(int r, int g, int b) {
        return "rgb(" + r + "," + g + "," + b + ")";
    }
}
