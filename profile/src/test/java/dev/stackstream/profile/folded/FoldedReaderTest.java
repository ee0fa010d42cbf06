package dev.stackstream.profile.folded;

import dev.stackstream.profile.io.ProfileFormatException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.Sample;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FoldedReaderTest {

    @Test
    void roundTripsWithKindsAndBlankLines() throws IOException {
        String text = "main;a;b 70\n\n   \nmain;c 30\nmain;sys_read_[k];vfs_read_[k] 2\njava;Foo.bar_[j] 1\nmain;a;b 5\n";
        Profile p = new FoldedReader().read(new StringReader(text), "t");
        assertEquals(108, p.totalCount());
        Sample kernel = p.samples().stream().filter(s -> s.stack().depth() == 3
                && s.stack().leaf().kind() == FrameKind.KERNEL).findFirst().orElseThrow();
        assertEquals("vfs_read", kernel.stack().leaf().function());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        FoldedWriter.write(p, out);
        assertEquals("java;Foo.bar_[j] 1\nmain;a;b 75\nmain;c 30\nmain;sys_read_[k];vfs_read_[k] 2\n",
                out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void malformedLineNamesItsNumber() {
        ProfileFormatException e = assertThrows(ProfileFormatException.class, () -> new FoldedReader()
                .read(new StringReader("a;b 1\n\na;c x12\n"), "in.collapsed"));
        assertEquals(3, e.lineNumber());
        assertTrue(e.getMessage().startsWith("in.collapsed:3: count 'x12'"), e.getMessage());
        ProfileFormatException noCount = assertThrows(ProfileFormatException.class,
                () -> new FoldedReader().read(new StringReader("justaframe\n"), "f"));
        assertTrue(noCount.getMessage().contains("f:1: expected 'frame;frame;... count'"), noCount.getMessage());
        ProfileFormatException empty = assertThrows(ProfileFormatException.class,
                () -> new FoldedReader().read(new StringReader("a;;b 3\n"), "f"));
        assertTrue(empty.getMessage().contains("empty frame name at column 3"), empty.getMessage());
    }

    @Test
    void readsGzip(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("p.collapsed.gz");
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(f))) {
            o.write("x;y 4\n".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals(4, new FoldedReader().read(f).totalCount());
    }

    @Test
    void fileAndTextPathsAgree(@TempDir Path dir) throws IOException {
        String text = "  main;a;b 70\r\n\nmain;c\t30\nmain;a;b 5\nk;x_[k] 1\nünï;cødé 2";
        Path f = dir.resolve("p.collapsed");
        Files.writeString(f, text, StandardCharsets.UTF_8);
        assertEquals(FoldedReader.readFolded(new StringReader(text), "t"), FoldedReader.readFolded(f));
        assertEquals(75L, FoldedReader.readFolded(f).get("main;a;b"));
        assertEquals(2L, FoldedReader.readFolded(f).get("ünï;cødé"));
        for (String bad : new String[] {"a;b 1\n;x 2\n", "a;b 1\nx; 2\n", "a;b 1\nx;;y 2\n", "a;b 1\nnocount\n",
                                        "a;b 1\nx 1.5\n"}) {
            Files.writeString(f, bad, StandardCharsets.UTF_8);
            ProfileFormatException fromFile = assertThrows(ProfileFormatException.class, () -> FoldedReader.readFolded(f));
            ProfileFormatException fromText = assertThrows(ProfileFormatException.class,
                    () -> FoldedReader.readFolded(new StringReader(bad), f.toString()));
            assertEquals(fromText.getMessage(), fromFile.getMessage());
            assertEquals(2, fromFile.lineNumber());
        }
    }
}
