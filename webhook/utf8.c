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

/* The second byte's range for each lead byte (Unicode's table of well-formed byte sequences); the later
 * bytes are always 0x80..0xBF. */
size_t utf8_char_length(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t len, i;

    if (u[0] != 0 && u[0] < 0x80)
        return 1;
    if (u[0] < 0xC2 || u[0] > 0xF4)
        return 0;
    len = sequence_length(u[0]);
    if (u[0] == 0xE0)
        lo = 0xA0;
    else if (u[0] == 0xED)
        hi = 0x9F; /* D800..DFFF are surrogates */
    else if (u[0] == 0xF0)
        lo = 0x90;
    else if (u[0] == 0xF4)
        hi = 0x8F;
    if (u[1] < lo || u[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if ((u[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

int utf8_valid(const char *s)
{
    size_t n;

    for (; *s; s += n)
        if ((n = utf8_char_length(s)) == 0)
            return 0;
    return 1;
}

size_t utf8_sanitize(char *dst, size_t size, const char *s, int *cut)
{
    static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
    size_t used = 0, n;
    const char *from;

    for (; *s; s += n ? n : 1) {
        n = utf8_char_length(s);
        from = n ? s : replacement;
        if (used + (n ? n : 3) >= size)
            break;
        memcpy(dst + used, from, n ? n : 3);
        used += n ? n : 3;
    }
    dst[used] = '\0';
    if (cut)
        *cut = *s != '\0';
    return used;
}
