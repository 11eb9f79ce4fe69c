/*
 * JSON Patch building and strict application. The API server applies a mutating webhook's patch with
 * evanphx/json-patch: a patch that does not apply exactly is a 500 for the user whatever the
 * failurePolicy, so the applier here is as strict, and the tests apply every patch the policy builds.
 */
#include "patch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int patch_path_append(char *buf, size_t len, const char *token)
{
    size_t used = strlen(buf), i, n = used;

    if (n + 1 >= len)
        return -1;
    buf[n++] = '/';
    for (i = 0; token[i]; i++) {
        const char *esc = token[i] == '~' ? "~0" : token[i] == '/' ? "~1" : NULL;
        size_t need = esc ? 2 : 1;

        if (n + need >= len) {
            buf[used] = '\0';
            return -1;
        }
        if (esc) {
            buf[n++] = esc[0];
            buf[n++] = esc[1];
        } else {
            buf[n++] = token[i];
        }
    }
    buf[n] = '\0';
    return 0;
}

int patch_path(char *buf, size_t len, const char *const *tokens, size_t n)
{
    size_t i;

    if (!len)
        return -1;
    buf[0] = '\0';
    for (i = 0; i < n; i++)
        if (patch_path_append(buf, len, tokens[i]) < 0)
            return -1;
    return 0;
}

static int patch_op(cJSON *ops, const char *op, const char *path, cJSON *value, int with_value)
{
    cJSON *o = NULL;

    if (!cJSON_IsArray(ops) || !path || (with_value && !value))
        goto fail;
    if (!(o = cJSON_CreateObject()) || !cJSON_AddStringToObject(o, "op", op) ||
        !cJSON_AddStringToObject(o, "path", path))
        goto fail;
    if (with_value) {
        if (!cJSON_AddItemToObject(o, "value", value))
            goto fail;
        value = NULL;
    }
    if (!cJSON_AddItemToArray(ops, o))
        goto fail;
    return 0;
fail:
    cJSON_Delete(o);
    cJSON_Delete(value);
    return -1;
}

int patch_add(cJSON *ops, const char *path, cJSON *value)
{
    return patch_op(ops, "add", path, value, 1);
}

int patch_replace(cJSON *ops, const char *path, cJSON *value)
{
    return patch_op(ops, "replace", path, value, 1);
}

int patch_remove(cJSON *ops, const char *path)
{
    return patch_op(ops, "remove", path, NULL, 0);
}

/* Wrap value in objects for tokens[from..n-1): {"a": {"b": value}}. Takes ownership of value. */
static cJSON *nest(const char *const *tokens, size_t from, size_t n, cJSON *value)
{
    cJSON *o;

    while (value && n-- > from) {
        if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToObject(o, tokens[n], value)) {
            cJSON_Delete(o);
            cJSON_Delete(value);
            return NULL;
        }
        value = o;
    }
    return value;
}

int patch_set(cJSON *ops, const cJSON *doc, const char *const *tokens, size_t n, cJSON *value)
{
    const cJSON *node = doc, *next;
    char path[512] = "";
    size_t i;

    for (i = 0; i < n; i++) {
        if (!cJSON_IsObject(node) || patch_path_append(path, sizeof(path), tokens[i]) < 0)
            goto fail;
        next = cJSON_GetObjectItemCaseSensitive(node, tokens[i]);
        if (i + 1 == n || !next || cJSON_IsNull(next)) {
            value = nest(tokens, i + 1, n, value);
            return next && !cJSON_IsNull(next) ? patch_replace(ops, path, value) : patch_add(ops, path, value);
        }
        node = next;
    }
fail:
    cJSON_Delete(value);
    return -1;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Decode the reference token that starts at *p (after its "/") into out; advance *p past it. */
static int token_next(const char **p, char *out)
{
    const char *s = *p;
    size_t n = 0;

    while (*s && *s != '/') {
        if (*s == '~') {
            if (s[1] == '0')
                out[n++] = '~';
            else if (s[1] == '1')
                out[n++] = '/';
            else
                return -1;
            s += 2;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    *p = s;
    return 0;
}

/* An array index as RFC 6901 spells it: "0" or digits without a leading zero. -1 when not one. */
static long token_index(const char *t)
{
    char *end;
    long v;

    if (!*t || (t[0] == '0' && t[1]) || t[0] < '0' || t[0] > '9')
        return -1;
    errno = 0;
    v = strtol(t, &end, 10);
    if (*end || errno)
        return -1;
    return v;
}

static cJSON *child_of(cJSON *node, const char *token)
{
    long i;

    if (cJSON_IsObject(node))
        return cJSON_GetObjectItemCaseSensitive(node, token);
    if (cJSON_IsArray(node) && (i = token_index(token)) >= 0 && i < cJSON_GetArraySize(node))
        return cJSON_GetArrayItem(node, (int)i);
    return NULL;
}

/* Insert item before index idx (< size). Not cJSON_InsertItemInArray: Debian bookworm's cJSON
 * 1.7.15-1+deb12u4 refuses every position but the first and the end. Takes ownership of item. */
static int array_insert(cJSON *array, int idx, cJSON *item)
{
    cJSON *tail = cJSON_CreateArray(), *it;

    if (!tail) {
        cJSON_Delete(item);
        return -1;
    }
    while (cJSON_GetArraySize(array) > idx)
        cJSON_AddItemToArray(tail, cJSON_DetachItemFromArray(array, idx));
    cJSON_AddItemToArray(array, item);
    while ((it = cJSON_DetachItemFromArray(tail, 0)) != NULL)
        cJSON_AddItemToArray(array, it);
    cJSON_Delete(tail);
    return 0;
}

static int apply_one(cJSON *doc, const char *op, const char *path, const cJSON *value, char *err, size_t errlen)
{
    char *token = NULL;
    const char *p = path;
    cJSON *parent = doc, *copy = NULL;
    long idx = -1;
    int size;

    if (*path != '/') {
        set_err(err, errlen, "%s %s: only paths below the document root are supported", op, path);
        goto fail;
    }
    if (!(token = malloc(strlen(path) + 1)))
        goto fail;
    for (;;) {
        p++;
        if (token_next(&p, token) < 0) {
            set_err(err, errlen, "%s %s: bad ~ escape", op, path);
            goto fail;
        }
        if (!*p)
            break;
        if (!(parent = child_of(parent, token))) {
            set_err(err, errlen, "%s %s: parent does not exist", op, path);
            goto fail;
        }
    }
    if (strcmp(op, "remove") != 0) {
        if (!value) {
            set_err(err, errlen, "%s %s: no value", op, path);
            goto fail;
        }
        if (!(copy = cJSON_Duplicate(value, 1)))
            goto fail;
    }
    if (cJSON_IsObject(parent)) {
        int exists = cJSON_GetObjectItemCaseSensitive(parent, token) != NULL;

        if (!exists && strcmp(op, "add") != 0) {
            set_err(err, errlen, "%s %s: target does not exist", op, path);
            goto fail;
        }
        if (strcmp(op, "remove") == 0)
            cJSON_DeleteItemFromObjectCaseSensitive(parent, token);
        else if (exists && !cJSON_ReplaceItemInObjectCaseSensitive(parent, token, copy))
            goto fail;
        else if (!exists && !cJSON_AddItemToObject(parent, token, copy))
            goto fail;
    } else if (cJSON_IsArray(parent)) {
        size = cJSON_GetArraySize(parent);
        if (strcmp(op, "add") == 0 && strcmp(token, "-") == 0)
            idx = size;
        else
            idx = token_index(token);
        if (idx < 0 || idx > size || (idx == size && strcmp(op, "add") != 0)) {
            set_err(err, errlen, "%s %s: index out of range (array of %d)", op, path, size);
            goto fail;
        }
        if (strcmp(op, "remove") == 0)
            cJSON_DeleteItemFromArray(parent, (int)idx);
        else if (strcmp(op, "replace") == 0 && !cJSON_ReplaceItemInArray(parent, (int)idx, copy))
            goto fail;
        else if (strcmp(op, "add") == 0 && idx == size && !cJSON_AddItemToArray(parent, copy))
            goto fail;
        else if (strcmp(op, "add") == 0 && idx < size && array_insert(parent, (int)idx, copy) < 0) {
            copy = NULL;
            goto fail;
        }
    } else {
        set_err(err, errlen, "%s %s: parent is not an object or array", op, path);
        goto fail;
    }
    free(token);
    return 0;
fail:
    if (err && errlen && !err[0])
        set_err(err, errlen, "%s %s: out of memory", op, path);
    free(token);
    cJSON_Delete(copy);
    return -1;
}

int patch_apply(cJSON *doc, const cJSON *ops, char *err, size_t errlen)
{
    const cJSON *o;

    if (err && errlen)
        err[0] = '\0';
    if (!cJSON_IsArray(ops)) {
        set_err(err, errlen, "patch is not an array");
        return -1;
    }
    cJSON_ArrayForEach(o, ops) {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "path");

        if (!cJSON_IsString(op) || !cJSON_IsString(path)) {
            set_err(err, errlen, "patch op without op or path");
            return -1;
        }
        if (strcmp(op->valuestring, "add") != 0 && strcmp(op->valuestring, "replace") != 0 &&
            strcmp(op->valuestring, "remove") != 0) {
            set_err(err, errlen, "unsupported patch op %s", op->valuestring);
            return -1;
        }
        if (apply_one(doc, op->valuestring, path->valuestring, cJSON_GetObjectItemCaseSensitive(o, "value"), err,
                      errlen) < 0)
            return -1;
    }
    return 0;
}
