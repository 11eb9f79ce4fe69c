/*
 * Structural JSON equality without cJSON_Compare's key-by-key scans. Objects are compared in step
 * while their keys come in the same order; at the first difference in order both key lists are sorted
 * once and compared pairwise.
 */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Printed JSON: the inputs it prints are at most 64 MiB. */
#define JSON_PRINT_MAX ((size_t)256 << 20)

static int by_key(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

static int count(const cJSON *node)
{
    int n = 0;

    for (node = node->child; node; node = node->next)
        n++;
    return n;
}

/* Objects whose keys come in different orders: sort both key lists and compare pairwise. A key
 * present twice (the API server never sends that) makes the objects unequal, to be safe. */
static int objects_equal_sorted(const cJSON *a, const cJSON *b, int n)
{
    const cJSON **ka = malloc(sizeof(*ka) * (size_t)n), **kb = malloc(sizeof(*kb) * (size_t)n);
    const cJSON *x, *y;
    int i, eq = 0;

    if (!ka || !kb)
        goto done;
    for (i = 0, x = a->child, y = b->child; x && y; x = x->next, y = y->next, i++) {
        if (!x->string || !y->string)
            goto done;
        ka[i] = x;
        kb[i] = y;
    }
    qsort(ka, (size_t)n, sizeof(*ka), by_key);
    qsort(kb, (size_t)n, sizeof(*kb), by_key);
    for (i = 0; i < n; i++)
        if (strcmp(ka[i]->string, kb[i]->string) != 0 || (i > 0 && strcmp(ka[i]->string, ka[i - 1]->string) == 0) ||
            !json_equal(ka[i], kb[i]))
            goto done;
    eq = 1;
done:
    free(ka);
    free(kb);
    return eq;
}

static int objects_equal(const cJSON *a, const cJSON *b)
{
    const cJSON *x = a->child, *y = b->child;
    int n;

    /* In step while the keys line up: linear for the API server's output. */
    for (; x && y; x = x->next, y = y->next) {
        if (!x->string || !y->string || strcmp(x->string, y->string) != 0)
            break;
        if (!json_equal(x, y))
            return 0;
    }
    if (!x && !y)
        return 1;
    n = count(a);
    if (n != count(b))
        return 0;
    return objects_equal_sorted(a, b, n);
}

int json_equal(const cJSON *a, const cJSON *b)
{
    const cJSON *x, *y;

    if (!a || !b)
        return a == b;
    if ((a->type & 0xff) != (b->type & 0xff))
        return 0;
    switch (a->type & 0xff) {
    case cJSON_False:
    case cJSON_True:
    case cJSON_NULL:
        return 1;
    case cJSON_Number:
        return a->valuedouble == b->valuedouble;
    case cJSON_String:
    case cJSON_Raw:
        return a->valuestring && b->valuestring && strcmp(a->valuestring, b->valuestring) == 0;
    case cJSON_Array:
        for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
            if (!json_equal(x, y))
                return 0;
        return !x && !y;
    case cJSON_Object:
        return objects_equal(a, b);
    default:
        return 0;
    }
}

void json_layout(const char *text, size_t len, char *indent, size_t indentlen, int *crlf)
{
    const char *nl = memchr(text, '\n', len), *p, *end = text + len;
    size_t n;

    *crlf = nl && nl > text && nl[-1] == '\r';
    indent[0] = '\0';
    for (; nl && nl + 1 < end; nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1))) {
        for (p = nl + 1; p < end && (*p == ' ' || *p == '\t'); p++)
            ;
        if (p == nl + 1 || p == end || *p == '\n' || *p == '\r')
            continue;
        /* One level: a run of tabs counts as one tab, spaces as themselves. */
        n = nl[1] == '\t' ? 1 : (size_t)(p - nl - 1);
        if (n >= indentlen)
            n = indentlen - 1;
        memcpy(indent, nl + 1, n);
        indent[n] = '\0';
        return;
    }
}

const char *json_number(double d, char *buf, size_t len)
{
    int digits;

    if (!isfinite(d))
        return NULL;
    /* cJSON prints 15 digits whenever they read back within a relative epsilon, which changes large
     * numbers: the fewest digits that read back exactly instead. */
    for (digits = 15; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return buf;
}

static int print_scalar(struct buf *b, const cJSON *v)
{
    char num[JSON_NUMBER_MAX], *s;
    int rc;

    if (cJSON_IsNumber(v))
        return json_number(v->valuedouble, num, sizeof(num)) ? buf_append(b, num, strlen(num)) : -1;
    s = cJSON_PrintUnformatted(v);
    rc = s ? buf_append(b, s, strlen(s)) : -1;
    cJSON_free(s);
    return rc;
}

static int print_newline(struct buf *b, const char *indent, int crlf, int depth)
{
    if (!*indent)
        return 0;
    if (buf_append(b, crlf ? "\r\n" : "\n", crlf ? 2 : 1) < 0)
        return -1;
    while (depth-- > 0)
        if (buf_append(b, indent, strlen(indent)) < 0)
            return -1;
    return 0;
}

static int print_value(struct buf *b, const cJSON *v, const char *indent, int crlf, int depth)
{
    int obj = cJSON_IsObject(v);
    const cJSON *c;
    cJSON *key;

    if (!(obj || cJSON_IsArray(v)))
        return print_scalar(b, v);
    if (buf_append(b, obj ? "{" : "[", 1) < 0)
        return -1;
    for (c = v->child; c; c = c->next) {
        if ((c != v->child && buf_append(b, ",", 1) < 0) || print_newline(b, indent, crlf, depth + 1) < 0)
            return -1;
        if (obj) {
            key = cJSON_CreateStringReference(c->string);
            if (!key || print_scalar(b, key) < 0 || buf_append(b, *indent ? ": " : ":", *indent ? 2 : 1) < 0) {
                cJSON_Delete(key);
                return -1;
            }
            cJSON_Delete(key);
        }
        if (print_value(b, c, indent, crlf, depth + 1) < 0)
            return -1;
    }
    if (v->child && print_newline(b, indent, crlf, depth) < 0)
        return -1;
    return buf_append(b, obj ? "}" : "]", 1);
}

char *json_print(const cJSON *v, const char *indent, int crlf, int final_eol)
{
    struct buf b = BUF_INIT(JSON_PRINT_MAX);

    if (print_value(&b, v, indent, crlf, 0) < 0 ||
        (final_eol && buf_append(&b, crlf ? "\r\n" : "\n", crlf ? 2 : 1) < 0)) {
        buf_free(&b);
        return NULL;
    }
    return buf_detach(&b);
}
