/* intmap.h - a small open-addressing map from a positive int (pid, tid) to a pointer. */
#ifndef SS_INTMAP_H
#define SS_INTMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct intmap {
    int32_t *keys;     /* 0 = empty, -1 = deleted */
    void **vals;
    size_t mask, used, live;
} intmap;

void im_free(intmap *m);
void *im_get(const intmap *m, int32_t key);
int im_put(intmap *m, int32_t key, void *val);   /* 0 or -ENOMEM; replaces */
void *im_del(intmap *m, int32_t key);            /* returns the removed value or NULL */

#endif
