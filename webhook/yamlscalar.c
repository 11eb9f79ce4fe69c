/*
 * YAML scalars as kubectl reads them, and as manual-gate writes them. Plain scalars resolve the way
 * go-yaml v2 resolves them for sigs.k8s.io/yaml: null (~, null, empty), booleans (true/false and YAML
 * 1.1's yes/no/on/off/y/n), integers (decimal, 0x, 0o, 0b, leading-zero octal, "_" separators),
 * floats; .inf/.nan are no JSON number. A string is written plain only when no reader could take it
 * for anything else, otherwise quoted.
 */
#include "yamlscalar.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int word_in(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return 1;
    return 0;
}

/* [-+]? then digits in base, at least one; no other characters. */
static int all_digits(const char *s, int base)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(base == 16 ? isxdigit((unsigned char)*s) : *s >= '0' && *s < '0' + base))
            return 0;
    return 1;
}

/* strconv.ParseInt's base 0: the base a prefix names (0x, 0o, 0b, a leading 0 for octal), *s moved past
 * it. */
static int int_base(const char **s)
{
    const char *p = *s;

    if (p[0] != '0' || !p[1])
        return 10;
    switch (p[1]) {
    case 'x': case 'X': *s += 2; return 16;
    case 'o': case 'O': *s += 2; return 8;
    case 'b': case 'B': *s += 2; return 2;
    default: *s += 1; return 8;
    }
}

/* go-yaml v2: strconv.ParseInt(s without "_", 0, 64), which knows 0x, 0o, 0b and leading-zero octal. */
static int parse_int(const char *in, double *out)
{
    char buf[80], *end;
    const char *s = buf;
    size_t n = 0;
    int neg = 0, base;
    unsigned long long v;

    for (; *in && n + 1 < sizeof(buf); in++)
        if (*in != '_')
            buf[n++] = *in;
    if (*in)
        return 0;
    buf[n] = '\0';
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    base = int_base(&s);
    if (!all_digits(s, base))
        return 0;
    errno = 0;
    v = strtoull(s, &end, base);
    if (errno || *end || v > (neg ? (1ULL << 63) : ~0ULL))
        return 0;
    *out = neg ? -(double)v : (double)v;
    return 1;
}

/* go-yaml v2's float syntax: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int parse_float(const char *s, double *out)
{
    const char *p = s;
    size_t before = 0, after = 0;

    if (*p == '-' || *p == '+')
        p++;
    for (; isdigit((unsigned char)*p); p++)
        before++;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            after++;
    if (!before && !after)
        return 0;
    if (!before && p[-1] == '.')
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p)
        return 0;
    *out = strtod(s, NULL);
    return 1;
}

/* What a plain (unquoted, untagged) scalar means to kubectl's YAML reader. */
enum yamlscalar_plain yamlscalar_plain_kind(const char *s, double *num)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON",
                                        "y", "Y", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF",
                                         "n", "N", NULL};
    static const char *const specials[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
                                           "-.INF", ".nan", ".NaN", ".NAN", NULL};
    double v = 0;

    if (word_in(s, nulls))
        return YAMLSCALAR_NULL;
    if (word_in(s, trues))
        return YAMLSCALAR_TRUE;
    if (word_in(s, falses))
        return YAMLSCALAR_FALSE;
    if (word_in(s, specials))
        return YAMLSCALAR_NOT_JSON;
    if (parse_int(s, &v) || parse_float(s, &v)) {
        if (!isfinite(v))
            return YAMLSCALAR_NOT_JSON;
        if (num)
            *num = v;
        return YAMLSCALAR_NUMBER;
    }
    return YAMLSCALAR_STRING;
}

/* A date or time (YAML 1.1 timestamp): some readers turn these into times, so they are kept quoted. */
static int looks_like_timestamp(const char *s)
{
    int i;

    for (i = 0; i < 4; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return s[4] == '-' && isdigit((unsigned char)s[5]);
}


int yamlscalar_needs_quotes(const char *s)
{
    return yamlscalar_plain_kind(s, NULL) != YAMLSCALAR_STRING || looks_like_timestamp(s) || strcmp(s, "<<") == 0;
}

/* Length of a character YAML 1.1 reads as a line break or a byte-order mark (NEL, LS, PS, BOM) at s,
 * 0 otherwise. */
static size_t unicode_break(const unsigned char *s)
{
    if (s[0] == 0xc2 && s[1] == 0x85)
        return 2;
    if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9))
        return 3;
    if (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
        return 3;
    return 0;
}

/* 1 when s holds a control character, DEL or a Unicode line break: only double quotes can hold it. */
static int has_unprintable(const char *s)
{
    const unsigned char *p;

    for (p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || unicode_break(p))
            return 1;
    return 0;
}

int yamlscalar_plain_safe(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || yamlscalar_needs_quotes(s) || has_unprintable(s))
        return 0;
    /* An indicator at the start changes what the scalar is (a sequence, a comment, an alias, ...). */
    if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) || s[0] == ' ' || s[n - 1] == ' ' || s[n - 1] == ':')
        return 0;
    return strstr(s, ": ") == NULL && strstr(s, " #") == NULL;
}

int yamlscalar_quote_double(struct buf *b, const char *s)
{
    const unsigned char *p;
    size_t brk;
    char esc[8];

    if (buf_append(b, "\"", 1) < 0)
        return -1;
    for (p = (const unsigned char *)s; *p; p++) {
        const char *e = NULL;

        if ((brk = unicode_break(p)) != 0) {
            e = brk == 2 ? "\\N" : p[2] == 0xa8 ? "\\L" : p[2] == 0xa9 ? "\\P" : "\\uFEFF";
            p += brk - 1;
        } else if (*p == '"') {
            e = "\\\"";
        } else if (*p == '\\') {
            e = "\\\\";
        } else if (*p == '\n') {
            e = "\\n";
        } else if (*p == '\t') {
            e = "\\t";
        } else if (*p < 0x20 || *p == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", *p);
            e = esc;
        }
        if (e ? buf_append(b, e, strlen(e)) < 0 : buf_append(b, p, 1) < 0)
            return -1;
    }
    return buf_append(b, "\"", 1);
}

int yamlscalar_quote_single(struct buf *b, const char *s)
{
    const char *p;

    if (has_unprintable(s))
        return yamlscalar_quote_double(b, s);
    if (buf_append(b, "'", 1) < 0)
        return -1;
    for (p = s; *p; p++)
        if (buf_append(b, p, 1) < 0 || (*p == '\'' && buf_append(b, "'", 1) < 0))
            return -1;
    return buf_append(b, "'", 1);
}
