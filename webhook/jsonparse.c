/*
 * Strict JSON into cJSON nodes (jsonparse.h). Recursive descent over the bytes, one node allocated per
 * value through cJSON_malloc. Where cJSON is lenient (leading zeros, "1.", control bytes as whitespace,
 * a byte order mark, bytes after the value, numbers over 63 characters) this parser refuses: the API
 * server sends what Go's encoding/json writes, which is strict JSON, and a body that is not is refused
 * with 400 either way. One leniency is kept, cJSON's: a raw control byte inside a string is taken as it
 * is (Go escapes them, so none arrives; refusing one would refuse a body cJSON read). On strict JSON both
 * build the same tree; tests/unit/test_jsonparse.c and the review fuzz target compare them.
 */
#include "jsonparse.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The longest number read: Go prints a float64 in at most 24 characters and an int64 in 20. A longer
 * one is refused (older cJSON refused past 63 too; Debian's patched 1.7.15 reads any length). */
#define NUMBER_MAX 63
/* Integers of up to 15 digits convert to a double exactly, without strtod. */
#define EXACT_DIGITS 15

struct parser {
    const unsigned char *p, *end;
    size_t left; /* nodes still allowed */
    int depth;
    int lossy;
    enum json_parse_error err;
};

/* The bytes that end the fast scan of a string. */
static const unsigned char string_stop[256] = {['"'] = 1, ['\\'] = 1};

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* The first quote or backslash from p on (end if none): eight bytes a step, for the long runs of plain
 * text in keys and values. A word's high bit marks a byte equal to c (exact for the lowest match, which is
 * the one taken). */
static const unsigned char *string_scan(const unsigned char *p, const unsigned char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w, q, b, m;

    for (; end - p >= 8; p += 8) {
        memcpy(&w, p, 8);
        q = w ^ (ONES * '"');
        b = w ^ (ONES * '\\');
        m = ((q - ONES) & ~q & HIGHS) | ((b - ONES) & ~b & HIGHS);
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
    }
#endif
    while (p < end && !string_stop[*p])
        p++;
    return p;
}

static int fail(struct parser *ps, enum json_parse_error e)
{
    if (ps->err == JSON_PARSE_OK)
        ps->err = e;
    return -1;
}

static void skip_ws(struct parser *ps)
{
    const unsigned char *p = ps->p;

    while (p < ps->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    ps->p = p;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static cJSON *node_new(struct parser *ps)
{
    cJSON *n;

    if (ps->left == 0) {
        fail(ps, JSON_PARSE_TOO_MANY);
        return NULL;
    }
    if (!(n = cJSON_malloc(sizeof(*n)))) {
        fail(ps, JSON_PARSE_NOMEM);
        return NULL;
    }
    ps->left--;
    memset(n, 0, sizeof(*n));
    return n;
}

static int hex4(const unsigned char *s, unsigned *out)
{
    unsigned v = 0, d;
    int i;

    for (i = 0; i < 4; i++) {
        if (is_digit(s[i]))
            d = (unsigned)(s[i] - '0');
        else if (s[i] >= 'a' && s[i] <= 'f')
            d = (unsigned)(s[i] - 'a' + 10);
        else if (s[i] >= 'A' && s[i] <= 'F')
            d = (unsigned)(s[i] - 'A' + 10);
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* "\uXXXX" at q (before the string's closing quote at end), a surrogate pair as one: the code point into
 * *cp, the bytes read, or 0 when it is not a valid one (cJSON refuses the same: a lone surrogate). */
static size_t unicode_escape(const unsigned char *q, const unsigned char *end, unsigned *cp)
{
    unsigned lo;

    if (end - q < 6 || hex4(q + 2, cp) != 0 || (*cp >= 0xDC00 && *cp <= 0xDFFF))
        return 0;
    if (*cp < 0xD800 || *cp > 0xDBFF)
        return 6;
    if (end - q < 12 || q[6] != '\\' || q[7] != 'u' || hex4(q + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
        return 0;
    *cp = 0x10000 + ((*cp & 0x3FF) << 10 | (lo & 0x3FF));
    return 12;
}

/* The escape at q (a backslash, before end) decoded at *o: the bytes read, 0 when it is not valid. */
static size_t unescape(struct parser *ps, const unsigned char *q, const unsigned char *end, char **o)
{
    static const char simple[256] = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b',
                                     ['f'] = '\f', ['n'] = '\n', ['r'] = '\r', ['t'] = '\t'};
    unsigned cp;
    size_t n;

    if (simple[q[1]]) {
        *(*o)++ = simple[q[1]];
        return 2;
    }
    if (q[1] != 'u' || (n = unicode_escape(q, end, &cp)) == 0)
        return 0;
    if (cp == 0)
        ps->lossy = 1;
    *o = put_utf8(*o, cp);
    return n;
}

/* A string with escapes from s to its closing quote at end: decoded, never longer than the text. */
static char *decode_string(struct parser *ps, const unsigned char *s, const unsigned char *end)
{
    char *out = cJSON_malloc((size_t)(end - s) + 1), *o = out;
    size_t n;

    if (!out) {
        fail(ps, JSON_PARSE_NOMEM);
        return NULL;
    }
    while (s < end) {
        if (*s != '\\') {
            *o++ = (char)*s++;
        } else if ((n = unescape(ps, s, end, &o)) != 0) {
            s += n;
        } else {
            ps->p = s;
            fail(ps, JSON_PARSE_INVALID);
            cJSON_free(out);
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

/* The string whose opening quote ps->p is at, as a cJSON_malloc'd C string; ps->p moves past it. */
static char *parse_string(struct parser *ps)
{
    const unsigned char *s = ps->p + 1, *end = ps->end, *p = string_scan(s, end);
    char *out;

    if (p < end && *p == '"') { /* no escape: one copy */
        if (!(out = cJSON_malloc((size_t)(p - s) + 1))) {
            fail(ps, JSON_PARSE_NOMEM);
            return NULL;
        }
        memcpy(out, s, (size_t)(p - s));
        out[p - s] = '\0';
        ps->p = p + 1;
        return out;
    }
    while (p < end && *p != '"') {
        if (*p == '\\' && ++p == end) /* a backslash escapes the byte after it */
            break;
        p++;
    }
    if (p >= end) {
        fail(ps, JSON_PARSE_INVALID);
        return NULL;
    }
    if (!(out = decode_string(ps, s, p)))
        return NULL;
    ps->p = p + 1;
    return out;
}

/* The end of the digits from p. */
static const unsigned char *digits(const unsigned char *p, const unsigned char *end)
{
    while (p < end && is_digit(*p))
        p++;
    return p;
}

/* The fraction and exponent after a number's integer part at p, as RFC 8259 writes them: the end of the
 * number, or NULL when they are malformed ("1.", "1e+"). */
static const unsigned char *fraction_and_exponent(const unsigned char *p, const unsigned char *end)
{
    if (p < end && *p == '.') {
        if (p + 1 >= end || !is_digit(p[1]))
            return NULL;
        p = digits(p + 1, end);
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p += p + 1 < end && (p[1] == '+' || p[1] == '-') ? 2 : 1;
        if (p >= end || !is_digit(*p))
            return NULL;
        p = digits(p, end);
    }
    return p;
}

/* The number at ps->p as a double: an integer of up to 15 digits by hand (exact), any other as strtod
 * reads it, which is what cJSON does. ps->p moves past it. */
static int number_value(struct parser *ps, double *out)
{
    const unsigned char *s = ps->p, *p = s + (*s == '-'), *int_start = p, *end = ps->end;
    uint64_t v = 0;
    char text[NUMBER_MAX + 1];

    if (p >= end || !is_digit(*p))
        return fail(ps, JSON_PARSE_INVALID);
    p = *p == '0' ? p + 1 : digits(p, end);
    if (p - int_start <= EXACT_DIGITS && (p >= end || (*p != '.' && *p != 'e' && *p != 'E'))) {
        for (; int_start < p; int_start++)
            v = v * 10 + (uint64_t)(*int_start - '0');
        *out = *s == '-' ? -(double)v : (double)v;
    } else {
        if (!(p = fraction_and_exponent(p, end)) || p - s > NUMBER_MAX)
            return fail(ps, JSON_PARSE_INVALID);
        memcpy(text, s, (size_t)(p - s));
        text[p - s] = '\0';
        *out = strtod(text, NULL);
    }
    ps->p = p;
    return 0;
}

/* A number into n as cJSON would: valuedouble, and valueint that saturated to an int. */
static int parse_number(struct parser *ps, cJSON *n)
{
    double d;

    if (number_value(ps, &d) != 0)
        return -1;
    n->type = cJSON_Number;
    n->valuedouble = d;
    n->valueint = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
    if (!(fabs(d) < 9007199254740992.0)) /* 2^53; false for infinity too */
        ps->lossy = 1;
    return 0;
}

static int literal(struct parser *ps, const char *word, size_t len)
{
    if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
        return fail(ps, JSON_PARSE_INVALID);
    ps->p += len;
    return 0;
}

static cJSON *parse_value(struct parser *ps);

/* Append item to parent's list, whose last node is *tail. */
static void link_item(cJSON *parent, cJSON **tail, cJSON *item)
{
    if (*tail) {
        (*tail)->next = item;
        item->prev = *tail;
    } else {
        parent->child = item;
    }
    *tail = item;
}

/* Past a container's opening byte: one level deeper, or an error past cJSON's nesting limit. */
static int enter(struct parser *ps)
{
    if (ps->depth >= CJSON_NESTING_LIMIT)
        return fail(ps, JSON_PARSE_TOO_DEEP);
    ps->depth++;
    ps->p++;
    skip_ws(ps);
    return 0;
}

/* After a member or element: 1 past a comma, 0 past the closing byte, -1 on anything else. */
static int next_or_close(struct parser *ps, unsigned char close)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        skip_ws(ps);
        return 1;
    }
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    return fail(ps, JSON_PARSE_INVALID);
}

/* Right after the opening byte: 1 past the closing byte of an empty container, else 0. */
static int closes_at_once(struct parser *ps, unsigned char close)
{
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 1;
    }
    return 0;
}

/* The tail of a finished list: cJSON keeps it in the first node's prev, and appends through it. */
static void close_list(struct parser *ps, cJSON *parent, cJSON *tail)
{
    if (parent->child)
        parent->child->prev = tail;
    ps->depth--;
}

/* An object member's key and its colon, at ps->p: the key as a cJSON_malloc'd string, or NULL. */
static char *parse_key(struct parser *ps)
{
    char *key;

    if (ps->p >= ps->end || *ps->p != '"') {
        fail(ps, JSON_PARSE_INVALID);
        return NULL;
    }
    if (!(key = parse_string(ps)))
        return NULL;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':') {
        cJSON_free(key);
        fail(ps, JSON_PARSE_INVALID);
        return NULL;
    }
    ps->p++;
    skip_ws(ps);
    return key;
}

/* An array, or an object when object is set (each value after its key), at ps->p, into n. */
static int parse_container(struct parser *ps, cJSON *n, int object)
{
    unsigned char close = object ? '}' : ']';
    cJSON *tail = NULL, *item;
    char *key = NULL;
    int more;

    n->type = object ? cJSON_Object : cJSON_Array;
    if (enter(ps) != 0)
        return -1;
    more = !closes_at_once(ps, close);
    while (more > 0) {
        if (object && !(key = parse_key(ps)))
            return -1;
        if (!(item = parse_value(ps))) {
            cJSON_free(key);
            return -1;
        }
        item->string = key;
        link_item(n, &tail, item);
        more = next_or_close(ps, close);
    }
    close_list(ps, n, tail);
    return more;
}

/* The value at ps->p (no whitespace before it), or NULL with ps->err set. */
static cJSON *parse_value(struct parser *ps)
{
    cJSON *n;
    int rc;

    if (ps->p >= ps->end) {
        fail(ps, JSON_PARSE_INVALID);
        return NULL;
    }
    if (!(n = node_new(ps)))
        return NULL;
    switch (*ps->p) {
    case '"':
        n->type = cJSON_String;
        rc = (n->valuestring = parse_string(ps)) != NULL ? 0 : -1;
        break;
    case '{': rc = parse_container(ps, n, 1); break;
    case '[': rc = parse_container(ps, n, 0); break;
    case 't': n->type = cJSON_True; n->valueint = 1; rc = literal(ps, "true", 4); break;
    case 'f': n->type = cJSON_False; rc = literal(ps, "false", 5); break;
    case 'n': n->type = cJSON_NULL; rc = literal(ps, "null", 4); break;
    default: rc = *ps->p == '-' || is_digit(*ps->p) ? parse_number(ps, n) : fail(ps, JSON_PARSE_INVALID); break;
    }
    if (rc == 0)
        return n;
    cJSON_Delete(n);
    return NULL;
}

cJSON *json_parse(const char *text, size_t len, size_t max_values, struct json_parse_status *st)
{
    struct parser ps = {(const unsigned char *)text, (const unsigned char *)text + len,
                        max_values ? max_values : SIZE_MAX, 0, 0, JSON_PARSE_OK};
    cJSON *root;

    ps.lossy = len && memchr(text, '\0', len) != NULL; /* outside a string it is an error anyway */
    skip_ws(&ps);
    root = parse_value(&ps);
    if (root) {
        skip_ws(&ps);
        if (ps.p != ps.end) {
            fail(&ps, JSON_PARSE_INVALID);
            cJSON_Delete(root);
            root = NULL;
        }
    }
    st->error = ps.err;
    st->offset = root ? 0 : (size_t)(ps.p - (const unsigned char *)text);
    st->lossy = ps.lossy;
    return root;
}

const char *json_parse_error_text(enum json_parse_error e)
{
    switch (e) {
    case JSON_PARSE_OK: return "no error";
    case JSON_PARSE_INVALID: return "not valid JSON";
    case JSON_PARSE_TOO_DEEP: return "nested too deep";
    case JSON_PARSE_TOO_MANY: return "too many values";
    case JSON_PARSE_NOMEM: return "out of memory";
    }
    return "unknown error";
}
