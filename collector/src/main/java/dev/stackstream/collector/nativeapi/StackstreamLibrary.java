package dev.stackstream.collector.nativeapi;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;

/**
 * The C API of libstackstream ({@code native/include/stackstream.h}), one method per function,
 * nothing added. Interface mapping rather than direct mapping because {@code ss_spawn} takes a
 * NULL-terminated {@code char**}, which JNA builds from a {@code String[]} only here; the calls
 * are per window, not per sample, so the extra dispatch cost does not matter.
 *
 * <p>{@code size_t} is mapped to {@code long}: the library is only built for LP64 targets
 * (x86-64, arm64), where both are 64 bits. Obtain the instance through {@link NativeLoader}.
 */
@SuppressWarnings("checkstyle:MethodName")
public interface StackstreamLibrary extends Library {

    int ss_api_version();

    void ss_options_init(SsOptions opts);

    /** Returns NULL on failure, with errCode (negative errno) and err (message naming the fix) set. */
    Pointer ss_open(SsOptions opts, IntByReference errCode, byte[] err, long errLen);

    int ss_stop(Pointer session);

    void ss_close(Pointer session);

    int ss_target_alive(Pointer session);

    /** Returns bytes written into buf (cap bytes of native memory), or -ENOSPC with needed set. */
    long ss_drain(Pointer session, Pointer buf, long cap, LongByReference needed);

    void ss_get_stats(Pointer session, SsStats out);

    /** Keeps copies of the next maxSamples unwound samples for ss_unwind_captured; 0 or -EINVAL (FP mode). */
    int ss_capture(Pointer session, int maxSamples);

    int ss_captured(Pointer session);

    /** After ss_stop: unwinds captured sample i again into out (max addresses); depth, or a negative errno. */
    int ss_unwind_captured(Pointer session, int i, long[] out, int max, int[] cut);

    int ss_spawn(String[] argv, byte[] err, long errLen);

    int ss_resume(int pid);

    int ss_wait(int pid, int timeoutMs);

    String ss_strerror(int code);
}
