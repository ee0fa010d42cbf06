package dev.stackstream.collector.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class DrainParserTest {

    @Test
    void decodesEveryRecordTypeInOrder() {
        byte[] buildId = new byte[20];
        for (int i = 0; i < 20; i++) {
            buildId[i] = (byte) (0xa0 + i);
        }
        DrainBuffers d = new DrainBuffers()
                .mmap(42, 0x400000L, 0x2000L, 0x1000L, buildId, "/usr/bin/calltree")
                .comm(42, 43, "worker-1", false)
                .stack(42, 43, 17, 17_017_017L, 0, 2, true, 0xffffffff81000010L, 0xffffffff81000020L, 0x401234L,
                        0x401300L)
                .mmap(42, 0x7f0000000000L, 0x1000L, 0, null, "/lib/x86_64-linux-gnu/libc.so.6")
                .exit(42, 43);
        WindowRecords r = new WindowRecords();
        assertEquals(5, DrainParser.parse(d.buffer(), d.length(), r));

        assertEquals(2, r.mappings.size());
        WindowRecords.Mapping m = r.mappings.get(0);
        assertEquals(42, m.pid());
        assertEquals(0x400000L, m.start());
        assertEquals(0x2000L, m.length());
        assertEquals(0x1000L, m.fileOffset());
        assertEquals("/usr/bin/calltree", m.path());
        assertArrayEquals(buildId, m.buildId());
        assertNull(r.mappings.get(1).buildId(), "build_id_len 0 means unknown");
        assertEquals("/lib/x86_64-linux-gnu/libc.so.6", r.mappings.get(1).path());

        assertEquals(List.of(new WindowRecords.Comm(42, 43, "worker-1", false)), r.comms);

        WindowRecords.RawStack s = r.stacks.get(0);
        assertEquals(42, s.pid());
        assertEquals(43, s.tid());
        assertEquals(17, s.count());
        assertEquals(17_017_017L, s.weight());
        assertEquals(2, s.kernelDepth());
        assertTrue(s.truncated());
        assertArrayEquals(new long[] {0xffffffff81000010L, 0xffffffff81000020L, 0x401234L, 0x401300L}, s.ips());

        assertEquals(List.of(new WindowRecords.Exit(42, 43)), r.exits);
    }

    @Test
    void commNameUsesAllSixteenBytesWhenNotTerminated() {
        DrainBuffers d = new DrainBuffers().comm(1, 1, "abcdefghijklmnop", true);
        WindowRecords r = new WindowRecords();
        DrainParser.parse(d.buffer(), d.length(), r);
        assertEquals("abcdefghijklmnop", r.comms.get(0).name());
        assertTrue(r.comms.get(0).exec());
    }

    @Test
    void skipsUnknownRecordTypesBySize() {
        DrainBuffers d = new DrainBuffers().unknown(99, 37).stack(1, 0, 3, 3, 0, 0, false, 0x1000L).unknown(7, 0)
                .exit(1, 1);
        WindowRecords r = new WindowRecords();
        assertEquals(4, DrainParser.parse(d.buffer(), d.length(), r));
        assertEquals(1, r.stacks.size());
        assertEquals(3, r.stacks.get(0).count());
        assertFalse(r.stacks.get(0).truncated());
        assertEquals(1, r.exits.size());
    }

    @Test
    void emptyDrainHasNoRecords() {
        assertEquals(0, DrainParser.parse(new DrainBuffers().buffer(), 0, new WindowRecords()));
    }

    @Test
    void refusesRecordsWhoseSizeCannotBeRight() {
        var tooSmall = new DrainBuffers().raw((short) 1, (short) 0, 4);
        var e = assertThrows(DrainParser.DrainFormatException.class,
                () -> DrainParser.parse(tooSmall.buffer(), 8, new WindowRecords()));
        assertTrue(e.getMessage().contains("offset 0"), e.getMessage());

        var pastEnd = new DrainBuffers().exit(1, 1).raw((short) 4, (short) 0, 64);
        e = assertThrows(DrainParser.DrainFormatException.class,
                () -> DrainParser.parse(pastEnd.buffer(), pastEnd.length(), new WindowRecords()));
        assertTrue(e.getMessage().contains("offset 16"), e.getMessage());

        var unaligned = new DrainBuffers().raw((short) 9, (short) 0, 12);
        assertThrows(DrainParser.DrainFormatException.class,
                () -> DrainParser.parse(unaligned.buffer(), 16, new WindowRecords()));
    }

    @Test
    void refusesStackWhoseDepthExceedsItsRecord() {
        DrainBuffers d = new DrainBuffers().stack(1, 0, 1, 1, 0, 0, false, 0x10L, 0x20L);
        d.buffer().putShort(40, (short) 9); // depth 9 in a record holding 2 addresses
        var e = assertThrows(DrainParser.DrainFormatException.class,
                () -> DrainParser.parse(d.buffer(), d.length(), new WindowRecords()));
        assertTrue(e.getMessage().contains("needs"), e.getMessage());
    }

    @Test
    void refusesKernelDepthBeyondDepth() {
        DrainBuffers d = new DrainBuffers().stack(1, 0, 1, 1, 0, 3, false, 0x10L, 0x20L);
        assertThrows(DrainParser.DrainFormatException.class,
                () -> DrainParser.parse(d.buffer(), d.length(), new WindowRecords()));
    }
}
