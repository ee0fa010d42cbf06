/* harness.h - a tiny test harness: TEST(name) registers, CHECK fails the running test. */
#ifndef SS_HARNESS_H
#define SS_HARNESS_H

#include <stdio.h>

typedef void (*test_fn)(void);
void harness_register(const char *name, test_fn fn);
void harness_fail(const char *file, int line, const char *what);
void harness_failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
extern int harness_failed;

#define TEST(name)                                                              \
    static void name(void);                                                     \
    __attribute__((constructor)) static void register_##name(void)             \
    {                                                                           \
        harness_register(#name, name);                                          \
    }                                                                           \
    static void name(void)

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            harness_fail(__FILE__, __LINE__, #cond);                            \
            return;                                                             \
        }                                                                       \
    } while (0)

#define CHECKF(cond, ...)                                                       \
    do {                                                                        \
        if (!(cond)) {                                                          \
            harness_failf(__FILE__, __LINE__, __VA_ARGS__);                     \
            return;                                                             \
        }                                                                       \
    } while (0)

#endif
