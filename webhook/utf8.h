/*
 * UTF-8 at byte limits: where a text that must stay valid UTF-8 (a log line, an audit annotation, a
 * message) may be cut without splitting a character, and how text from a request (any bytes: cJSON does
 * not check UTF-8) is made valid before it is printed. Nothing here allocates.
 */
#ifndef MG_UTF8_H
#define MG_UTF8_H

#include <stddef.h>

/* n, less the bytes of a multi-byte character that s[0..n) ends inside of: how much of a longer text cut
 * after n bytes can be kept. */
size_t utf8_complete(const char *s, size_t n);
/* Copy s into dst (size bytes, size > 0), cut where it would not fit without splitting a character. */
void utf8_copy(char *dst, size_t size, const char *s);
/* Bytes of the well-formed character s starts with (1 to 4: no overlong form, no surrogate, nothing past
 * U+10FFFF), 0 when s starts with a byte that begins none, or with the NUL that ends it. */
size_t utf8_char_length(const char *s);
/* 1 when all of s is well-formed UTF-8. */
int utf8_valid(const char *s);
/* Copy s into dst (size bytes, size > 0) as well-formed UTF-8: a byte that begins no character is
 * written as U+FFFD. Stops at the last whole character that fits; *cut (when not NULL) says whether
 * some of s was left out. Reads no more of s than it writes, so a huge s costs only size. Returns the
 * bytes written (dst is NUL-terminated). */
size_t utf8_sanitize(char *dst, size_t size, const char *s, int *cut);

#endif
