package dev.stackstream.collector.publish;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.time.Instant;
import java.util.List;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;
import org.junit.jupiter.api.Test;

class FunctionLevelTest {

    static Stack at(long mainOffset, long libcOffset) {
        return Stack.of(new Frame("main", "/bin/app", "aa", mainOffset, FrameKind.USER, null, 0),
                Frame.unresolved("/usr/lib/libc.so.6", "bb", libcOffset, FrameKind.USER));
    }

    @Test
    void namedFramesLoseTheirOffsetAndEqualStacksMerge() {
        Profile w = Profile.builder(ProfileType.cpu(99)).timeRange(Instant.EPOCH, Instant.EPOCH.plusSeconds(10))
                .add(at(0x1100, 0x2000), null, 3)
                .add(at(0x1104, 0x2000), null, 4)   // same functions, another instruction in main
                .add(at(0x1100, 0x2010), null, 5)   // another unresolved address: stays distinct
                .build();
        Profile reduced = FunctionLevel.of(w);
        assertEquals(12, reduced.totalCount());
        assertEquals(2, reduced.samples().size());
        assertEquals(7, reduced.samples().get(0).count());
        Frame main = reduced.samples().get(0).stack().frames().get(0);
        assertEquals(-1, main.offset());
        assertEquals("/bin/app", main.module());
        assertEquals("aa", main.buildId());
        assertEquals(0x2010, reduced.samples().get(1).stack().frames().get(1).offset(), "unresolved offsets kept");
        assertEquals(w.stats(), reduced.stats());
        assertEquals(w.start(), reduced.start());
    }

    @Test
    void aWindowWithNothingToReduceIsReturnedAsIs() {
        Profile w = Profile.builder(ProfileType.cpu(99))
                .add(new Stack(List.of(Frame.named("main", FrameKind.USER)), false), null, 1).build();
        assertSame(w, FunctionLevel.of(w));
    }

    static Profile window(Stack... stacks) {
        var b = Profile.builder(ProfileType.cpu(99)).timeRange(Instant.EPOCH, Instant.EPOCH.plusSeconds(10));
        for (int i = 0; i < stacks.length; i++) {
            b.add(stacks[i], null, i + 1);
        }
        return b.build();
    }

    @Test
    void reuseHandsOutEarlierWindowsReducedStacksWithTheSameContent() {
        FunctionLevel.Reuse reuse = new FunctionLevel.Reuse();
        Profile r1 = reuse.of(window(at(0x1100, 0x2000), at(0x1100, 0x2010)));
        // Symbolized again (new instances), another instruction in main: equal once reduced.
        Profile second = window(at(0x1104, 0x2000), at(0x1100, 0x2010));
        Profile r2 = reuse.of(second);
        assertEquals(FunctionLevel.of(second).samples(), r2.samples(), "what goes on the wire is unchanged");
        assertEquals(2, r2.samples().size());
        for (int i = 0; i < 2; i++) {
            assertSame(r1.samples().get(i).stack(), r2.samples().get(i).stack(), "stack " + i + " reused");
            assertEquals(r1.samples().get(i).stack().id(), r2.samples().get(i).stack().id());
        }
        // A stack absent from a window is still reused later, until REMEMBERED others were used since.
        reuse.of(window(at(0x1100, 0x2020)));
        Profile r4 = reuse.of(window(at(0x1100, 0x2000)));
        assertSame(r1.samples().get(0).stack(), r4.samples().get(0).stack());
        for (int i = 0; i < FunctionLevel.Reuse.REMEMBERED; i++) {
            reuse.of(window(at(0x1100, 0x3000 + i)));
        }
        Profile r5 = reuse.of(window(at(0x1100, 0x2000)));
        assertNotSame(r1.samples().get(0).stack(), r5.samples().get(0).stack(), "forgotten: bounded memory");
        assertEquals(r1.samples().get(0).stack(), r5.samples().get(0).stack());
    }
}
