package dev.stackstream.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README's configuration reference is exactly what the commands' help says. */
class CliReferenceTest {

    @Test
    void readmeReferenceMatchesTheCommandsHelp() throws Exception {
        // Surefire runs in the module's directory and names it in the basedir property.
        Path readme = Path.of(System.getProperty("basedir", "."), "..", "README.md");
        String generated = CliReference.generate();
        for (String command : new String[] {"record", "collector", "aggregator", "kafka", "demo", "render", "simulate"}) {
            assertTrue(generated.contains("### `stackstream " + command + "`"), command + " documented");
        }
        assertEquals(generated, CliReference.currentSection(Files.readString(readme)),
                "README.md's configuration reference is stale; regenerate it with: java -cp "
                        + "'cli/target/lib/*:cli/target/stackstream-cli.jar' dev.stackstream.cli.CliReference README.md");
    }

    @Test
    void replacingTheSectionKeepsEverythingAroundIt() {
        String readme = "intro\n" + CliReference.START + "\nold\n" + CliReference.END + "\noutro\n";
        String updated = CliReference.replaceSection(readme, "new\n");
        assertEquals("intro\n" + CliReference.START + "\nnew\n" + CliReference.END + "\noutro\n", updated);
        assertEquals("new\n", CliReference.currentSection(updated));
    }
}
