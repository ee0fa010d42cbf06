package dev.stackstream.collector.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class ProcStatTest {

    @Test
    void parsesFieldsAfterACommandNameWithSpacesAndParentheses() {
        String line = "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194304 120 0 0 0 250 30 7 3 20 0 1 0 987654 "
                + "12345678 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        ProcStat s = ProcStat.parse(line);
        assertEquals('S', s.state());
        assertEquals(250, s.utimeTicks());
        assertEquals(30, s.stimeTicks());
        assertEquals(7, s.cutimeTicks());
        assertEquals(3, s.cstimeTicks());
        assertEquals(987654, s.startTicks());
        assertEquals(2_800_000_000L, s.selfNanos());
        assertEquals(2_900_000_000L, s.treeNanos());
    }

    @Test
    void readsThisProcess() {
        ProcStat s = ProcStat.read((int) ProcessHandle.current().pid());
        assertNotNull(s);
        assertTrue(s.state() == 'R' || s.state() == 'S', "state " + s.state());
        assertTrue(ProcStat.rssBytes((int) ProcessHandle.current().pid()).getAsLong() > 1 << 20);
    }

    @Test
    void absentProcessReadsAsNull() {
        assertNull(ProcStat.read(Integer.MAX_VALUE));
        assertTrue(ProcStat.rssBytes(Integer.MAX_VALUE).isEmpty());
    }

    @Test
    void rssInKilobytes() {
        assertEquals(OptionalLong.of(1536L * 1024), ProcStat.parseRss("Name:\tx\nVmPeak:\t 9 kB\nVmRSS:\t    1536 kB\n"));
        assertEquals(OptionalLong.empty(), ProcStat.parseRss("Name:\tkthreadd\nState:\tS\n"));
    }
}
