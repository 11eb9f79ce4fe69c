/*
 * UTF-8 at byte limits: where a text that must stay valid UTF-8 (a log line, an audit annotation, a
 * message) may be cut without splitting a character. Nothing here allocates.
 */
#ifndef MG_UTF8_H
#define MG_UTF8_H

#include <stddef.h>

/* n, less the bytes of a multi-byte character that s[0..n) ends inside of: how much of a longer text cut
 * after n bytes can be kept. */
size_t utf8_complete(const char *s, size_t n);
/* Copy s into dst (size bytes, size > 0), cut where it would not fit without splitting a character. */
void utf8_copy(char *dst, size_t size, const char *s);

#endif
