package dev.stackstream.collector.publish;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

import dev.stackstream.profile.Frame;
import dev.stackstream.profile.FrameKind;
import dev.stackstream.profile.Profile;
import dev.stackstream.profile.ProfileBuilder;
import dev.stackstream.profile.ProfileStats;
import dev.stackstream.profile.ProfileType;
import dev.stackstream.profile.Stack;

/** Deterministic windows with known counts: window n holds stacks 0..(n % 5 + 3) with counts n + i + 1. */
final class SyntheticWindows {
    static final Instant T0 = Instant.parse("2026-11-26T12:00:00Z");
    static final Duration WINDOW = Duration.ofSeconds(10);

    private SyntheticWindows() {
    }

    static Stack stack(int i) {
        List<Frame> frames = new ArrayList<>();
        frames.add(new Frame("main", "/opt/app/server", "4f1c2a", 0x1100, FrameKind.USER, "server.c", 12));
        frames.add(new Frame("handle_" + (i % 7), "/opt/app/server", "4f1c2a", 0x1200 + i, FrameKind.USER, null, 0));
        frames.add(Frame.unresolved("/usr/lib/x86_64-linux-gnu/libc.so.6", "9a8b7c", 0x2a000 + 16L * i, FrameKind.USER));
        if (i % 3 == 0) {
            frames.add(new Frame("do_syscall_64", "[kernel.kallsyms]", null, 0xffffffff81000000L + i, FrameKind.KERNEL,
                    null, 0));
        }
        return new Stack(frames, i % 11 == 10);
    }

    static Profile window(int n) {
        ProfileBuilder b = Profile.builder(ProfileType.cpu(99))
                .timeRange(T0.plus(WINDOW.multipliedBy(n)), T0.plus(WINDOW.multipliedBy(n + 1)))
                .stats(new ProfileStats(n % 2, 0, 0, 0, OptionalLong.of(1_000_000L * n), OptionalLong.empty(),
                        OptionalLong.empty()));
        for (int i = 0; i < n % 5 + 3; i++) {
            b.add(stack(i), i % 2 == 0 ? "worker-1" : null, n + i + 1);
        }
        return b.build();
    }

    /** Sum of counts of windows 0..last. */
    static long total(int last) {
        long t = 0;
        for (int n = 0; n <= last; n++) {
            t += window(n).totalCount();
        }
        return t;
    }
}
