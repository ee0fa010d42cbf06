package dev.stackstream.collector.sampling;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Stack;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which symbolized stacks the session may keep across windows ({@link SamplingSession#settled}). */
class SettledStacksTest {
    private static final Frame START = new Frame("_start", "/usr/bin/python3.11", "ab12", 0x1000, FrameKind.USER,
            null, 0);
    private static final Frame MAIN = new Frame("main", "/usr/bin/python3.11", "ab12", 0x2000, FrameKind.USER,
            null, 0);

    private static Stack stack(Frame leaf) {
        List<Frame> frames = new ArrayList<>(List.of(START, MAIN));
        frames.add(leaf);
        return new Stack(frames, false);
    }

    @Test
    void namedFramesAndStrippedFunctionsOfFilesAreSettled() {
        assertTrue(SamplingSession.settled(new Stack(List.of(START, MAIN), false)));
        // a stripped interpreter's function: module + offset + build-id, the same in every window
        assertTrue(SamplingSession.settled(stack(Frame.unresolved("/usr/bin/python3.11", "ab12", 0x2f1c3,
                FrameKind.USER))));
        assertTrue(SamplingSession.settled(stack(Frame.unresolved("[kernel.kallsyms]", null, 0xffffffff81000000L,
                FrameKind.KERNEL))));
        assertTrue(SamplingSession.settled(stack(Frame.unresolved("[vdso]", null, 0x9a0, FrameKind.USER))));
    }

    @Test
    void framesThatALaterWindowMayNameAreNot() {
        // an address in no known mapping: the maps may be re-read
        assertFalse(SamplingSession.settled(stack(Frame.unresolved(null, null, 0x7f0012345678L, FrameKind.USER))));
        // anonymous executable memory: a perf map may appear
        assertFalse(SamplingSession.settled(stack(Frame.unresolved("[anon]", null, 0x7f0012345678L,
                FrameKind.USER))));
        // JIT code, named or not: its perf map grows and code is replaced
        assertFalse(SamplingSession.settled(stack(new Frame("JS:fib", "/tmp/perf-42.map", null, 0x3a00, FrameKind.JIT,
                null, 0))));
        assertFalse(SamplingSession.settled(stack(Frame.unresolved("/tmp/perf-42.map", null, 0x3a00,
                FrameKind.JIT))));
        // one unsettled frame anywhere in the stack is enough
        assertFalse(SamplingSession.settled(new Stack(List.of(START, Frame.unresolved("[anon]", null, 0x10,
                FrameKind.USER), MAIN), false)));
    }
}
