package dev.stackstream.aggregator.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import org.junit.jupiter.api.Test;

/** The function label: one value per function whatever the address, and never longer than the cap. */
class FunctionNamesTest {
    private static String named(String function, FrameKind kind) {
        return FunctionNames.of(Frame.named(function, kind));
    }

    @Test
    void unresolvedFramesCountForTheirModule() {
        assertEquals("libc.so.6", FunctionNames.of(Frame.unresolved("/usr/lib/libc.so.6", "ab12", 0x1a2b, FrameKind.USER)));
        assertEquals(FunctionNames.of(Frame.unresolved("/usr/lib/libc.so.6", null, 0x1, FrameKind.USER)),
                FunctionNames.of(Frame.unresolved("/lib/libc.so.6", null, 0xffff, FrameKind.USER)));
        assertEquals("[unknown]", FunctionNames.of(Frame.unresolved(null, null, 0x7f00dead, FrameKind.USER)));
        assertEquals("[unknown]_[k]", FunctionNames.of(Frame.unresolved(null, null, 0xffffffff81000000L, FrameKind.KERNEL)));
    }

    @Test
    void offsetsAddressesAndIdsAreTakenOut() {
        assertEquals("do_syscall_64_[k]", named("do_syscall_64+0x5b", FrameKind.KERNEL));
        assertEquals("stub<0x…>", named("stub<0x7f3a12bc9000>", FrameKind.USER));
        assertEquals("[unknown stack …]", named("[unknown stack 0123456789abcdef0123456789abcdef]", FrameKind.USER));
        assertEquals("LazyCompile:*handle /srv/app.js:12_[j]", named("LazyCompile:*handle /srv/app.js:12", FrameKind.JIT));
        assertEquals("a b", named("a\nb", FrameKind.USER));
        assertEquals("[empty]", named("\t", FrameKind.USER));
    }

    @Test
    void longNamesAreCutKeepingTheSuffix() {
        String template = "std::vector<" + "std::map<int, long>, ".repeat(100) + ">::push_back";
        String user = named(template, FrameKind.USER);
        assertEquals(FunctionNames.MAX_LENGTH, user.codePointCount(0, user.length()));
        assertTrue(user.endsWith("…") && user.startsWith("std::vector<std::map<int, long>"), user);
        String jit = named(template, FrameKind.JIT);
        assertEquals(FunctionNames.MAX_LENGTH, jit.length());
        assertTrue(jit.endsWith("…_[j]"), jit);
        assertEquals("short", named("short", FrameKind.USER));
    }
}
