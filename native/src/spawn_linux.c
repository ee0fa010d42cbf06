/*
 * spawn_linux.c - starting a command held before exec, so a session can attach first.
 *
 * The child blocks reading a pipe until ss_resume writes to it. Between fork and exec the child
 * only makes async-signal-safe calls (read, write, close, sigprocmask, sigaction, execve, _exit):
 * the caller may be a JVM with many threads and locks held. PATH is searched in the parent and the
 * messages the child may print are prepared there too. Before exec the child closes every fd
 * above stderr: a JVM holds many without close-on-exec (jars, sockets), and the command must not
 * inherit them (as ProcessBuilder does).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "session.h"

extern char **environ;

#define MAX_HELD 64

static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { int pid, fd; } held[MAX_HELD];

/* Finds cmd in PATH as execvp would; 0 with the path, or -ENOENT/-EACCES. */
static int resolve(const char *cmd, char *out, size_t len)
{
    if (strchr(cmd, '/')) {
        snprintf(out, len, "%s", cmd);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int denied = 0;
    for (const char *p = path; ; ) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        snprintf(out, len, "%.*s%s%s", (int)n, n ? p : ".", "/", cmd);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(out, X_OK) == 0)
                return 0;
            denied = 1;
        }
        if (!colon)
            break;
        p = colon + 1;
    }
    return denied ? -EACCES : -ENOENT;
}

static size_t safe_len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static void child_fail(const char *msg, int code)
{
    ssize_t w = write(2, msg, safe_len(msg));
    (void)w;
    _exit(code);
}

SS_EXPORT int32_t ss_spawn(const char *const *argv, char *err, size_t err_len)
{
    if (!argv || !argv[0] || !argv[0][0])
        return ss_fail(err, err_len, -EINVAL, "no command given");
    char path[4096];
    int found = resolve(argv[0], path, sizeof(path));
    /* What the child prints if it cannot exec, as a shell does (127 not found, 126 not runnable). */
    char not_found[600], exec_failed[600];
    snprintf(not_found, sizeof(not_found), "stackstream: %s: command not found\n", argv[0]);
    snprintf(exec_failed, sizeof(exec_failed), "stackstream: %s: cannot execute%s\n", argv[0],
             found == -EACCES ? ": permission denied" : "");
    struct rlimit rl;
    unsigned max_fd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (unsigned)rl.rlim_cur
                                                                               : 65536;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return ss_fail(err, err_len, -errno, "pipe: %s", strerror(errno));
    pthread_mutex_lock(&held_mu);
    int slot = -1;
    for (int i = 0; i < MAX_HELD && slot < 0; i++)
        if (held[i].pid == 0)
            slot = i;
    if (slot < 0) {
        pthread_mutex_unlock(&held_mu);
        close(fds[0]);
        close(fds[1]);
        return ss_fail(err, err_len, -EAGAIN, "too many commands held before exec (%d)", MAX_HELD);
    }
    pid_t pid = fork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, NULL);   /* a JVM parent ignores or handles it */
        close(fds[1]);
        char go = 0;
        ssize_t n;
        do {
            n = read(fds[0], &go, 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1)
            _exit(125);                   /* the caller went away without resuming us */
        if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0) {
            for (unsigned fd = 3; fd < max_fd; fd++)
                close((int)fd);
        }
        if (found == -ENOENT)
            child_fail(not_found, 127);
        execve(path, (char *const *)argv, environ);
        child_fail(errno == ENOENT ? not_found : exec_failed, errno == ENOENT ? 127 : 126);
    }
    int fork_errno = errno;
    close(fds[0]);
    if (pid < 0) {
        pthread_mutex_unlock(&held_mu);
        close(fds[1]);
        return ss_fail(err, err_len, -fork_errno, "fork: %s", strerror(fork_errno));
    }
    held[slot].pid = pid;
    held[slot].fd = fds[1];
    pthread_mutex_unlock(&held_mu);
    return pid;
}

int sp_held(int pid)
{
    int found = 0;
    pthread_mutex_lock(&held_mu);
    for (int i = 0; i < MAX_HELD && !found; i++)
        found = pid > 0 && held[i].pid == pid;
    pthread_mutex_unlock(&held_mu);
    return found;
}

static int take_held(int pid)
{
    int fd = -1;
    pthread_mutex_lock(&held_mu);
    for (int i = 0; i < MAX_HELD; i++) {
        if (held[i].pid == pid) {
            fd = held[i].fd;
            held[i].pid = 0;
            held[i].fd = -1;
            break;
        }
    }
    pthread_mutex_unlock(&held_mu);
    return fd;
}

SS_EXPORT int32_t ss_resume(int32_t pid)
{
    int fd = take_held(pid);
    if (fd < 0)
        return -ECHILD;
    char go = 1;
    ssize_t n = write(fd, &go, 1);
    int e = errno;
    close(fd);
    return n == 1 ? 0 : -e;
}

static int status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -EINVAL;
}

SS_EXPORT int32_t ss_wait(int32_t pid, int32_t timeout_ms)
{
    if (pid <= 0)
        return -EINVAL;
    int status;
    pid_t r;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    for (;;) {
        r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            int fd = take_held(pid);   /* never resumed: drop the hold pipe */
            if (fd >= 0)
                close(fd);
            if (pidfd >= 0)
                close(pidfd);
            return status_code(status);
        }
        if (r < 0 && errno != EINTR) {
            int e = errno;
            if (pidfd >= 0)
                close(pidfd);
            return -e;
        }
        long wait_ms = 50;
        if (timeout_ms >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
            if (elapsed >= timeout_ms) {
                if (pidfd >= 0)
                    close(pidfd);
                return -EAGAIN;
            }
            if (timeout_ms - elapsed < wait_ms)
                wait_ms = timeout_ms - elapsed;
        }
        if (pidfd >= 0) {
            struct pollfd p = { pidfd, POLLIN, 0 };
            poll(&p, 1, (int)wait_ms);
        } else {
            struct timespec ts = { 0, (wait_ms > 5 ? 5 : wait_ms) * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
}
