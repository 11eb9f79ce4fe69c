/*
 * Bounded growable buffers: the one buffer type of the project (request bodies, API responses, YAML
 * output, metrics text, files read whole).
 */
#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The capacity n more bytes (plus the NUL) need: doubling from 1 KiB, at most max + 1. 0 when the limit
 * would be passed. */
size_t buf_cap_for(const struct buf *b, size_t n)
{
    size_t need, cap;

    if (n > b->max || b->len > b->max - n)
        return 0;
    need = b->len + n + 1;
    if (need <= b->cap)
        return b->cap;
    cap = b->cap ? b->cap : 1024;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    if (cap - 1 > b->max) /* cap >= 1 here; b->max + 1 could wrap */
        cap = b->max + 1;
    return cap;
}

/* Grow the allocation to exactly cap bytes (cap > b->cap). */
static int grow_to(struct buf *b, size_t cap)
{
    char *p;

    if (b->wipe) {
        /* realloc could free the old copy without clearing it: move it by hand. */
        p = malloc(cap);
        if (p && b->data) {
            memcpy(p, b->data, b->len + 1);
            explicit_bzero(b->data, b->cap);
            free(b->data);
        }
    } else {
        p = realloc(b->data, cap);
    }
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

/* Make room for n more bytes plus the NUL. */
static int buf_reserve(struct buf *b, size_t n)
{
    size_t cap = buf_cap_for(b, n);

    if (!cap) {
        errno = EFBIG;
        return -1;
    }
    return cap <= b->cap ? 0 : grow_to(b, cap);
}

int buf_reserve_total(struct buf *b, size_t total)
{
    if (total > b->max) {
        errno = EFBIG;
        return -1;
    }
    return total + 1 <= b->cap ? 0 : grow_to(b, total + 1);
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

int buf_read_stream(struct buf *b, FILE *f)
{
    char chunk[65536];
    size_t got;

    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(b, chunk, got) != 0)
            return -1;
    if (ferror(f)) {
        errno = EIO;
        return -1;
    }
    return buf_append(b, "", 0); /* an empty input is "" too */
}

int buf_read_file(struct buf *b, const char *path)
{
    FILE *f = fopen(path, "rb");
    int rc, saved;

    if (!f)
        return -1;
    rc = buf_read_stream(b, f);
    saved = errno;
    fclose(f);
    errno = saved;
    return rc;
}

char *buf_detach(struct buf *b)
{
    char *p = b->data;

    if (!p)
        p = strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_wipe(struct buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->cap);
    buf_free(b);
}
