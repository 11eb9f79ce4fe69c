/*
 * UTF-8 cutting (see utf8.h).
 */
#include "utf8.h"

#include <string.h>

/* Bytes in the sequence that starts with lead: 1 for ASCII and for a stray continuation byte. */
static size_t sequence_length(unsigned char lead)
{
    if (lead >= 0xF0)
        return 4;
    if (lead >= 0xE0)
        return 3;
    if (lead >= 0xC0)
        return 2;
    return 1;
}

size_t utf8_complete(const char *s, size_t n)
{
    size_t start = n;

    /* Back over at most three continuation bytes to the lead byte of the last character. */
    while (start > 0 && n - start < 3 && ((unsigned char)s[start - 1] & 0xC0) == 0x80)
        start--;
    if (start == 0 || ((unsigned char)s[start - 1] & 0xC0) != 0xC0)
        return n;
    return n - (start - 1) < sequence_length((unsigned char)s[start - 1]) ? start - 1 : n;
}

void utf8_copy(char *dst, size_t size, const char *s)
{
    size_t n = strlen(s);

    if (n >= size)
        n = utf8_complete(s, size - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
}
