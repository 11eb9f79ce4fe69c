/*
 * A growable byte buffer with a hard limit fixed when it is created, so no input (a request body, a
 * watch stream, a file) can make it grow without bound. The data is always NUL-terminated.
 *
 * Memory: the buffer owns data until buf_detach() hands it to the caller (who frees it) or
 * buf_free()/buf_wipe() releases it. A zeroed or BUF_INIT buffer is empty and valid.
 */
#ifndef MG_BUF_H
#define MG_BUF_H

#include <stdio.h>
#include <stddef.h>

struct buf {
    char *data; /* NULL while empty */
    size_t len;
    size_t cap;
    size_t max; /* most bytes it may hold */
    int wipe;   /* secret data: old memory is zeroed when the buffer grows, as by buf_wipe */
};

#define BUF_INIT(limit) {NULL, 0, 0, (limit), 0}

/* Append n bytes. 0, or -1 with errno EFBIG (the limit would be passed) or ENOMEM; b is unchanged. */
int buf_append(struct buf *b, const void *p, size_t n) __attribute__((warn_unused_result));
/* The capacity the buffer will have after appending n bytes (its current one when they fit), so a caller
 * can account for memory before it is taken; 0 when n bytes would pass the limit. */
size_t buf_cap_for(const struct buf *b, size_t n);
/* Allocate room for total bytes in all (plus the NUL) at once, exactly: a body of a declared length.
 * 0, or -1 with errno EFBIG (over the limit) or ENOMEM; b is unchanged. */
int buf_reserve_total(struct buf *b, size_t total) __attribute__((warn_unused_result));
/* Append printf-style output; same results as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((warn_unused_result, format(printf, 2, 3)));
/* Read f to its end. 0, or -1 with errno EFBIG, ENOMEM or the read error. */
int buf_read_stream(struct buf *b, FILE *f) __attribute__((warn_unused_result));
/* Read the file at path. 0, or -1 with errno (the open error, EFBIG, ENOMEM, or the read error). */
int buf_read_file(struct buf *b, const char *path) __attribute__((warn_unused_result));
/* Hand the data to the caller (never NULL unless out of memory: an empty buffer gives ""); b is emptied. */
char *buf_detach(struct buf *b);
/* Release the data; b is empty again, with the same limit. */
void buf_free(struct buf *b);
/* Overwrite the data with zeros, then release it (request bodies, tokens, keys). */
void buf_wipe(struct buf *b);

#endif
