package dev.stackstream.cli.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.stackstream.cli.Main;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The command lines the deployment files give stackstream's images (Kubernetes {@code args},
 * compose {@code command}) are parsed by the real CLI: a misspelt or removed option fails here, not
 * in a cluster.
 */
class ManifestCommandLinesTest {
    private static final YAMLMapper YAML = new YAMLMapper();

    /** Kubernetes' $(VAR) references become a plausible value. */
    private static List<String> expand(JsonNode args) {
        List<String> out = new ArrayList<>();
        for (JsonNode a : args) {
            out.add(a.asText().replaceAll("\\$\\([A-Z_]+\\)", "kafka:9092"));
        }
        return out;
    }

    private static void parses(String where, List<String> args) {
        try {
            CommandLine.ParseResult r = Main.commandLine().parseArgs(args.toArray(String[]::new));
            assertTrue(r.hasSubcommand(), where + ": no subcommand in " + args);
        } catch (CommandLine.ParameterException e) {
            fail(where + ": " + args + " is refused by the CLI: " + e.getMessage());
        }
    }

    @Test
    void kubernetesContainerArgsParse() throws Exception {
        int checked = 0;
        try (Stream<Path> files = Files.list(DeployFiles.deploy().resolve("kubernetes/base"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
                    for (JsonNode doc : docs.readAll()) {
                        for (JsonNode c : doc.path("spec").path("template").path("spec").path("containers")) {
                            if (c.path("image").asText().startsWith("stackstream-")) {
                                parses(f.getFileName() + " " + c.path("name").asText(), expand(c.path("args")));
                                checked++;
                            }
                        }
                    }
                }
            }
        }
        assertEquals(2, checked, "the aggregator and the collector sidecar");
    }

    @Test
    void composeCommandsParse() throws Exception {
        JsonNode compose = YAML.readTree(DeployFiles.deploy().resolve("compose/compose.yaml").toFile());
        int checked = 0;
        for (JsonNode service : compose.path("services")) {
            if (service.path("image").asText().startsWith("stackstream-")) {
                parses("compose " + service.path("image").asText(), expand(service.path("command")));
                checked++;
            }
        }
        assertEquals(2, checked, "the aggregator and the collector");
    }

    @Test
    void aMisspeltOptionIsCaught() {
        assertThrowsParse(List.of("collector", "--metrics-adress=0.0.0.0"));
    }

    private static void assertThrowsParse(List<String> args) {
        try {
            Main.commandLine().parseArgs(args.toArray(String[]::new));
            fail("accepted " + args);
        } catch (CommandLine.ParameterException expected) {
            assertTrue(expected.getMessage().contains("metrics-adress"), expected.getMessage());
        }
    }
}
