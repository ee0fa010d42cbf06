package dev.stackstream.collector.sidecar;

import picocli.CommandLine;

/** Runs the collector command in a child JVM for the SIGTERM test (the cli module assembles the real launcher). */
public final class SidecarMain {
    private SidecarMain() {
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new CollectorCommand()).execute(args));
    }
}
