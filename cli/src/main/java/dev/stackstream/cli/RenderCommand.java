package dev.stackstream.cli;

import dev.stackstream.command.ExitStatus;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.diff.Diff;
import dev.stackstream.profile.diff.DiffSvgRenderer;
import dev.stackstream.profile.folded.FoldedReader;
import dev.stackstream.profile.io.InputFormat;
import dev.stackstream.profile.io.PerfScriptReader;
import dev.stackstream.profile.io.ProfileFormatException;
import dev.stackstream.profile.folded.FoldedRenderer;
import dev.stackstream.profile.render.Palette;
import dev.stackstream.profile.render.RenderOptions;
import dev.stackstream.profile.render.Renderer;
import dev.stackstream.profile.render.Renderers;
import dev.stackstream.profile.report.Summary;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code ./stackstream render}: reads a collapsed file or {@code perf script} output and writes any
 * output format (collapsed, json, svg, html, pprof, speedscope), the summary, or a differential
 * flame graph against a baseline. Exit status ({@link ExitStatus}) 0 on success, 1 when the input
 * cannot be read or parsed (the message names file and line), 2 for bad options. Only the
 * constants are used: javac compiles them in, so render's small class path needs no more.
 */
@Command(name = "render", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Turn collapsed or perf-script input into flame graphs and other formats.",
                "Formats: collapsed, json, svg, html, pprof, speedscope (and summary)."},
        footer = {"", "Examples:",
                "  perf script | ./stackstream render --all -d out -",
                "  ./stackstream render -o flame.svg --title 'My app' --palette java profile.collapsed",
                "  ./stackstream render --diff before.collapsed -o diff.svg after.collapsed"},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:written", "1:the input cannot be read or parsed (the message names file and line)",
                "2:bad option"})
public final class RenderCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE", description = "Input file (gzip allowed), or - for stdin.")
    String input;

    @Option(names = "--input-format", paramLabel = "FMT",
            description = "collapsed | perf-script | auto (default: ${DEFAULT-VALUE}).", defaultValue = "auto")
    String inputFormat;

    @Option(names = {"-f", "--format"}, paramLabel = "F",
            description = "Output format, repeatable: collapsed, json, svg, html, pprof, speedscope, summary.")
    List<String> formats = new ArrayList<>();

    @Option(names = "--all", description = "Write every format (and summary.txt) into the output directory.")
    boolean all;

    @Option(names = {"-d", "--output"}, paramLabel = "DIR",
            description = "Directory for the outputs, named as record names them (default: ${DEFAULT-VALUE}).",
            defaultValue = "stackstream-out")
    Path outputDir;

    @Option(names = "-o", paramLabel = "FILE", description = "Write the single chosen format to FILE (- for stdout); "
            + "the format follows from the extension when --format is not given.")
    String outputFile;

    @Option(names = "--title", description = "Graph title (default: Flame Graph).")
    String title;

    @Option(names = "--subtitle", description = "Second title line.")
    String subtitle;

    @Option(names = "--width", description = "SVG width in px (default: ${DEFAULT-VALUE}).", defaultValue = "1200")
    int width;

    @Option(names = "--height", description = "Frame height in px (default: ${DEFAULT-VALUE}).", defaultValue = "16")
    int frameHeight;

    @Option(names = "--minwidth", description = "Omit frames narrower than this many px (default: ${DEFAULT-VALUE}).",
            defaultValue = "0.1")
    double minWidth;

    @Option(names = {"--palette", "--colors"}, description = "hot, java, mem or io (default: ${DEFAULT-VALUE}).",
            defaultValue = "hot")
    String palette;

    @Option(names = "--inverted", description = "Icicle graph: root at the top.")
    boolean inverted;

    @Option(names = "--reverse", description = "Reverse stacks (callers graph, leaf functions at the root).")
    boolean reverse;

    @Option(names = "--countname", description = "What counts are called in hover text (default: ${DEFAULT-VALUE}).",
            defaultValue = "samples")
    String countName;

    @Option(names = "--diff", paramLabel = "BASELINE",
            description = "Differential flame graph: FILE compared with BASELINE (widths from FILE, growth red, "
                    + "shrinkage blue); writes diff.svg (or -o).")
    Path baseline;

    @Option(names = "--normalize", description = "With --diff: scale the baseline to FILE's total first.")
    boolean normalize;

    @Option(names = "--pid", description = "perf script: root frame comm-pid.")
    boolean pid;

    @Option(names = "--tid", description = "perf script: root frame comm-pid/tid.")
    boolean tid;

    @Option(names = "--no-kernel-annotation", description = "perf script: no _[k] on kernel frames.")
    boolean noKernel;

    @Option(names = "--no-jit-annotation", description = "perf script: no _[j] on perf-map (JIT) frames.")
    boolean noJit;

    @Option(names = "--addrs", description = "perf script: keep addresses of unknown symbols.")
    boolean addrs;

    @Option(names = "--event", description = "perf script: keep samples of this event (default: the first seen).")
    String event;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        RenderOptions options;
        try {
            options = options();
        } catch (IllegalArgumentException e) {
            err.println("stackstream render: " + e.getMessage());
            return ExitStatus.USAGE;
        }
        try {
            Set<String> chosen = baseline != null ? Set.of() : chosenFormats();
            Source profile = baseline != null || !allFolded(chosen) ? new Source(read(input), null) : readFast(input);
            if (baseline != null) {
                return renderDiff(read(baseline.toString()), profile.profile(), options);
            }
            if (outputFile != null) {
                if (chosen.size() != 1) {
                    err.println("stackstream render: -o writes one format; choose it with --format (got "
                            + (chosen.isEmpty() ? "none and the extension of " + outputFile + " names none" : chosen) + ")");
                    return ExitStatus.USAGE;
                }
                String format = chosen.iterator().next();
                try (OutputStream out = open(outputFile)) {
                    write(format, profile, options, out);
                }
                return ExitStatus.OK;
            }
            if (chosen.isEmpty()) {
                err.println("stackstream render: choose --format F (repeatable), --all, or -o FILE");
                return ExitStatus.USAGE;
            }
            Files.createDirectories(outputDir);
            for (String format : chosen) {
                String name = format.equals("summary") ? "summary.txt"
                        : Renderers.byFormat(format).orElseThrow().defaultFileName();
                Path file = outputDir.resolve(name);
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
                    write(format, profile, options, out);
                }
                spec.commandLine().getOut().println("wrote " + file);
            }
            spec.commandLine().getOut().flush();
            return ExitStatus.OK;
        } catch (IllegalArgumentException e) {
            err.println("stackstream render: " + e.getMessage());
            return ExitStatus.USAGE;
        } catch (NoSuchFileException e) {
            err.println("stackstream render: no such file: " + e.getFile());
            return ExitStatus.FAILURE;
        } catch (ProfileFormatException e) {
            err.println("stackstream render: bad input: " + e.getMessage());
            return ExitStatus.FAILURE;
        } catch (IOException e) {
            err.println("stackstream render: " + e);
            return ExitStatus.FAILURE;
        }
    }

    private int renderDiff(Profile base, Profile comparison, RenderOptions options) throws IOException {
        Diff diff = Diff.of(base, comparison, options.withNormalize(normalize));
        DiffSvgRenderer r = new DiffSvgRenderer();
        String target = outputFile;
        if (target == null) {
            Files.createDirectories(outputDir);
            target = outputDir.resolve(r.defaultFileName()).toString();
        }
        try (OutputStream out = open(target)) {
            r.render(diff, options.withTitle(title != null ? title : "Differential Flame Graph"), out);
        }
        if (!target.equals("-")) {
            spec.commandLine().getOut().println("wrote " + target);
            spec.commandLine().getOut().flush();
        }
        return 0;
    }

    /**
     * The input, as a profile or, when it is a collapsed file and every chosen format needs only
     * folded lines, as those lines (no frame model built: several times faster on big files).
     */
    private record Source(Profile profile, SortedMap<String, Long> folded) { }

    private static boolean allFolded(Set<String> formats) {
        return !formats.isEmpty() && formats.stream().allMatch(f -> !f.equals("summary")
                && Renderers.byFormat(f).orElseThrow() instanceof FoldedRenderer);
    }

    private Source readFast(String file) throws IOException {
        if (!file.equals("-")) {
            Path path = Path.of(file);
            if (!Files.isRegularFile(path)) {
                throw new NoSuchFileException(file);
            }
            boolean collapsed = inputFormat.equalsIgnoreCase("auto") ? InputFormat.detect(path) == InputFormat.COLLAPSED
                    : InputFormat.parse(inputFormat) == InputFormat.COLLAPSED;
            if (collapsed) {
                return new Source(null, FoldedReader.readFolded(path));
            }
        }
        return new Source(read(file), null);
    }

    private void write(String format, Source source, RenderOptions options, OutputStream out) throws IOException {
        if (format.equals("summary")) {
            out.write(Summary.of(source.profile()).toText().getBytes(StandardCharsets.UTF_8));
        } else if (source.folded() != null) {
            ((FoldedRenderer) Renderers.byFormat(format).orElseThrow()).renderFolded(source.folded(), options, out);
        } else {
            Renderers.byFormat(format).orElseThrow().render(source.profile(), options, out);
        }
        out.flush();
    }

    private Set<String> chosenFormats() {
        Set<String> chosen = new LinkedHashSet<>();
        if (all) {
            Renderers.all().forEach(r -> chosen.add(r.format()));
            chosen.add("summary");
        }
        for (String f : formats) {
            for (String one : f.split(",")) {
                String name = one.trim().toLowerCase(Locale.ROOT);
                if (!name.equals("summary") && Renderers.byFormat(name).isEmpty()) {
                    throw new IllegalArgumentException("unknown format '" + one + "' (expected "
                            + Renderers.formatNames() + ", summary)");
                }
                chosen.add(name);
            }
        }
        if (chosen.isEmpty() && outputFile != null) {
            String fromName = formatOf(outputFile);
            if (fromName != null) {
                chosen.add(fromName);
            }
        }
        return chosen;
    }

    static String formatOf(String file) {
        String f = file.toLowerCase(Locale.ROOT);
        if (f.endsWith(".speedscope.json")) {
            return "speedscope";
        }
        if (f.endsWith(".pb.gz") || f.endsWith(".pprof")) {
            return "pprof";
        }
        if (f.endsWith(".collapsed") || f.endsWith(".folded")) {
            return "collapsed";
        }
        if (f.endsWith(".txt")) {
            return "summary";
        }
        int dot = f.lastIndexOf('.');
        String ext = dot < 0 ? "" : f.substring(dot + 1);
        return switch (ext) {
            case "svg", "html", "json" -> ext;
            case "htm" -> "html";
            default -> null;
        };
    }

    private RenderOptions options() {
        RenderOptions o = RenderOptions.defaults().withWidth(width).withFrameHeight(frameHeight)
                .withMinWidth(minWidth).withPalette(Palette.parse(palette)).withInverted(inverted)
                .withReversed(reverse).withCountName(countName).withNormalize(normalize);
        if (title != null) {
            o = o.withTitle(title);
        }
        if (subtitle != null) {
            o = o.withSubtitle(subtitle);
        }
        return o;
    }

    private Profile read(String file) throws IOException {
        Path tmp = null;
        Path path;
        if (file.equals("-")) {
            // stdin is read once into a temporary file so the format can be detected first
            tmp = Files.createTempFile("stackstream-render", ".in");
            Files.copy(System.in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            path = tmp;
        } else {
            path = Path.of(file);
            if (!Files.isRegularFile(path)) {
                throw new NoSuchFileException(file);
            }
        }
        try {
            InputFormat format = inputFormat.equalsIgnoreCase("auto") ? InputFormat.detect(path)
                    : InputFormat.parse(inputFormat);
            if (format == InputFormat.COLLAPSED) {
                return new FoldedReader().read(path);
            }
            PerfScriptReader reader = new PerfScriptReader(new PerfScriptReader.Options(pid, tid, !noKernel, !noJit,
                    addrs, event));
            Profile p = reader.read(path);
            PrintWriter err = spec.commandLine().getErr();
            for (String w : reader.warnings()) {
                err.println("stackstream render: warning: " + w);
            }
            if (p.totalCount() == 0) {
                throw new ProfileFormatException(file, 0, "no samples found in perf script input");
            }
            return p;
        } finally {
            if (tmp != null) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private static OutputStream open(String target) throws IOException {
        if (target.equals("-")) {
            return new BufferedOutputStream(new java.io.FilterOutputStream(System.out) {
                @Override
                public void close() throws IOException {
                    flush();
                }
            }, 1 << 16);
        }
        Path p = Path.of(target);
        if (p.getParent() != null) {
            Files.createDirectories(p.getParent());
        }
        return new BufferedOutputStream(Files.newOutputStream(p), 1 << 16);
    }
}
