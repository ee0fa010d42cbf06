/* fixedwork ITERATIONS OUTFILE - runs the fixture call tree a fixed number of times (not for a
 * fixed CPU time, so sampling overhead shows as extra CPU time) and writes its own CPU time in
 * nanoseconds (user + system, from getrusage) to OUTFILE. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "../fixtures/tree.h"

static volatile uint64_t sink;

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fixedwork ITERATIONS OUTFILE\n");
        return 2;
    }
    long n = atol(argv[1]);
    for (long i = 0; i < n; i++) {
        sink = sink + a(7 * 2000);
        sink = sink + c(3 * 2000);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    FILE *f = fopen(argv[2], "w");
    if (!f)
        return 1;
    fprintf(f, "%lld\n", (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ll +
                             (long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ll);
    fclose(f);
    return 0;
}
