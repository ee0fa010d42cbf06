/*
 * errors.c - messages that name the cause and the fix, and ss_strerror.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

int ss_fail(char *err, size_t err_len, int code, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

long ss_read_sysctl(const char *path, long fallback)
{
    FILE *f = fopen(path, "re");
    long v = fallback;
    if (!f)
        return fallback;
    if (fscanf(f, "%ld", &v) != 1)
        v = fallback;
    fclose(f);
    return v;
}

SS_EXPORT const char *ss_strerror(int32_t code)
{
    switch (-code) {
    case 0: return "success";
    case EACCES:
    case EPERM:
        return "permission denied: grant CAP_PERFMON (or CAP_SYS_ADMIN) or lower "
               "kernel.perf_event_paranoid";
    case ESRCH: return "no such process";
    case EMFILE:
    case ENFILE: return "too many open files: raise the fd limit (ulimit -n)";
    case ENOENT: return "event not supported on this machine";
    case ENOSPC: return "buffer too small: retry with the size reported in needed";
    case EINVAL: return "invalid argument";
    case ENOSYS: return "perf events are not available on this platform";
    case ENOMEM: return "out of memory";
    case EAGAIN: return "still running";
    case ECHILD: return "not a child started by ss_spawn";
    case E2BIG: return "argument list too long";
    case EBUSY: return "session is running";
    default: return "unknown error";
    }
}
