package dev.stackstream.profile;

import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;

/** Small deterministic profiles for renderer and report tests. */
public final class Fixtures {
    private Fixtures() {
    }

    public static Frame user(String fn, String module, long offset) {
        return new Frame(fn, module, "0123456789abcdef0123456789abcdef01234567", offset, FrameKind.USER, null, 0);
    }

    /**
     * main->a->b 70 %, main->c 30 % (the calltree fixture's shape) on two threads, a kernel and a
     * JIT frame, an unresolved frame; CPU time and RSS measured, instructions not.
     */
    public static Profile calltree() {
        Frame main = user("main", "/opt/app/calltree", 0x1130);
        Frame a = user("a", "/opt/app/calltree", 0x1150);
        Frame b = user("b", "/opt/app/calltree", 0x1170);
        Frame c = user("c", "/opt/app/calltree", 0x1190);
        Frame libc = new Frame("__libc_start_main", "/usr/lib/x86_64-linux-gnu/libc.so.6", null, 0x27245,
                FrameKind.USER, null, 0);
        Frame sys = new Frame("entry_SYSCALL_64", "[kernel.kallsyms]", null, 0xffffffff81000000L, FrameKind.KERNEL, null, 0);
        Frame read = new Frame("ksys_read", "[kernel.kallsyms]", null, 0xffffffff81200000L, FrameKind.KERNEL, null, 0);
        Frame jit = new Frame("Lcom/example/Work;.run", "/tmp/perf-42.map", null, 0x7f0000001000L, FrameKind.JIT,
                "Work.java", 17);
        Frame unknown = Frame.unresolved("/opt/app/libplugin.so", "feedface", 0x4242, FrameKind.USER);
        ProfileStats stats = new ProfileStats(3, 1, 0, 2, OptionalLong.of(4_990_000_000L),
                OptionalLong.of(52_428_800L), OptionalLong.empty());
        return Profile.builder(ProfileType.cpu(999))
                .timeRange(Instant.parse("2026-11-26T21:00:00Z"), Instant.parse("2026-11-26T21:00:05Z"))
                .label("service", "calltree").label("host", "box<1>")
                .add(new Stack(List.of(libc, main, a, b), false), "worker-1", 1750)
                .add(new Stack(List.of(libc, main, a, b), false), "worker-2", 1740)
                .add(new Stack(List.of(libc, main, c), false), "worker-1", 750)
                .add(new Stack(List.of(libc, main, c), false), "worker-2", 745)
                .add(new Stack(List.of(libc, main, c, sys, read), false), "worker-1", 10)
                .add(new Stack(List.of(libc, main, a, jit), false), "worker-2", 4)
                .add(new Stack(List.of(libc, main, unknown), false), "worker-1", 1)
                .stats(stats)
                .build();
    }
}
