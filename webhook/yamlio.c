/*
 * YAML <-> cJSON with libyaml's event API, reading scalars the way kubectl's YAML reader does
 * (sigs.k8s.io/yaml on go-yaml v2), so a manifest means here what it means to the API server:
 * - plain scalars resolve as yamlscalar.c says (nulls, YAML 1.1 booleans, octals, floats); quoted
 *   scalars and !!str are always strings; .inf/.nan are refused (JSON has no such number);
 * - anchors and aliases are resolved by copying, with a budget in bytes against "billion laughs" inputs
 *   (many aliases of one large node as much as nested ones), and merge keys (<<) are applied;
 *   duplicate keys and non-scalar keys are errors, found with a hash per mapping so that loading
 *   stays linear in the number of keys;
 * - collections nest at most YAML_DEPTH_MAX deep.
 * The emitter is in yamlemit.c.
 */
#include "yamlio.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* uthash reports a failed allocation (the element's hh.tbl stays NULL) instead of exiting. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#include "yamlscalar.h"

/* Kubernetes objects nest about 20 deep; the bound keeps hostile input from exhausting the stack. */
#define YAML_DEPTH_MAX 100
/* Bytes that anchors, aliases and merges may copy in one parse, counting each copied node's struct,
 * key and string: generous for shared blocks in real manifests (and as large as the biggest input
 * the callers read), but a bound on what nested aliases (each doubling the last) or hundreds of
 * aliases of one large scalar would otherwise build. */
#define YAML_ALIAS_BYTES_MAX ((size_t)64 << 20)

#define TAG_PREFIX "tag:yaml.org,2002:"

struct anchor {
    char *name;
    cJSON *node; /* a copy, owned here: the anchored node itself may be merged away */
    UT_hash_handle hh;
};

/* A key a mapping already holds; name points into the cJSON item's own key. */
struct key_seen {
    const char *name;
    UT_hash_handle hh;
};

struct frame {
    cJSON *node;   /* object or array being filled; owned by its parent (or the loader's root) */
    char *key;     /* object: the key whose value comes next, NULL while a key is expected */
    int key_merge; /* the pending key is a plain "<<" */
    cJSON *merges; /* values of "<<" keys, applied when the mapping ends (owned) */
    char *anchor;  /* anchor of this collection, registered when it ends */
    struct key_seen *keys; /* object: the keys it holds so far (owned) */
};

struct loader {
    struct frame stack[YAML_DEPTH_MAX];
    int depth;
    cJSON *root;
    struct anchor *anchors; /* by name */
    size_t copied;          /* bytes, of YAML_ALIAS_BYTES_MAX */
    size_t line;
    size_t doc;             /* documents started, the one being read included */
    int name_doc;           /* errors name the document as well as the line */
    char *err;
    size_t errlen;
};

/* "yaml: line N: " or "yaml: document D, line N: " before a message. */
static void where(const struct loader *l, size_t line, char *buf, size_t len)
{
    if (l->name_doc)
        snprintf(buf, len, "yaml: document %zu, line %zu: ", l->doc ? l->doc : 1, line);
    else
        snprintf(buf, len, "yaml: line %zu: ", line);
}

static int fail(struct loader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct loader *l, const char *fmt, ...)
{
    char msg[256], at[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    where(l, l->line, at, sizeof(at));
    if (l->err && l->errlen)
        snprintf(l->err, l->errlen, "%s%s", at, msg);
    return -1;
}

static cJSON *scalar_node(struct loader *l, const yaml_event_t *ev)
{
    const char *value = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    double num = 0;

    if (strlen(value) != ev->data.scalar.length) {
        fail(l, "a NUL character in a scalar is not supported");
        return NULL;
    }
    if (tag && (strcmp(tag, "!") == 0 || strcmp(tag, TAG_PREFIX "str") == 0))
        return cJSON_CreateString(value);
    if (!tag && ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return cJSON_CreateString(value);
    switch (yamlscalar_plain_kind(value, &num)) {
    case YAMLSCALAR_NULL: return cJSON_CreateNull();
    case YAMLSCALAR_TRUE: return cJSON_CreateTrue();
    case YAMLSCALAR_FALSE: return cJSON_CreateFalse();
    case YAMLSCALAR_NUMBER: return cJSON_CreateNumber(num);
    case YAMLSCALAR_NOT_JSON: fail(l, "\"%.40s\" is not a number JSON can hold", value); return NULL;
    case YAMLSCALAR_STRING: break;
    }
    return cJSON_CreateString(value);
}

/* What a copy of n costs: each node's struct, key and string. Stops counting once above limit. */
static size_t copy_bytes(const cJSON *n, size_t limit)
{
    size_t total = sizeof(cJSON);
    const cJSON *c;

    if (n->string)
        total += strlen(n->string) + 1;
    if (cJSON_IsString(n) && n->valuestring)
        total += strlen(n->valuestring) + 1;
    for (c = n->child; c && total <= limit; c = c->next)
        total += copy_bytes(c, limit - total);
    return total;
}

/* A copy of n, counted against the alias budget. */
static cJSON *copy_counted(struct loader *l, const cJSON *n)
{
    size_t left = YAML_ALIAS_BYTES_MAX - l->copied;
    size_t bytes = copy_bytes(n, left);
    cJSON *c;

    if (bytes > left) {
        fail(l, "aliases expand to more than %zu MiB", YAML_ALIAS_BYTES_MAX >> 20);
        return NULL;
    }
    l->copied += bytes;
    if (!(c = cJSON_Duplicate(n, 1)))
        fail(l, "out of memory");
    return c;
}

static int anchor_set(struct loader *l, const char *name, const cJSON *node)
{
    struct anchor *a;
    cJSON *copy;

    if (!name)
        return 0;
    if (!(copy = copy_counted(l, node)))
        return -1;
    /* A later anchor of the same name replaces the earlier one for the aliases after it. */
    HASH_FIND_STR(l->anchors, name, a);
    if (a) {
        cJSON_Delete(a->node);
        a->node = copy;
        return 0;
    }
    if (!(a = calloc(1, sizeof(*a))) || !(a->name = strdup(name)))
        goto oom;
    a->node = copy;
    HASH_ADD_KEYPTR(hh, l->anchors, a->name, strlen(a->name), a);
    if (!a->hh.tbl)
        goto oom;
    return 0;
oom:
    if (a)
        free(a->name);
    free(a);
    cJSON_Delete(copy);
    return fail(l, "out of memory");
}

static const cJSON *anchor_get(const struct loader *l, const char *name)
{
    struct anchor *a;

    HASH_FIND_STR(l->anchors, name, a);
    return a ? a->node : NULL;
}

static void anchors_free(struct loader *l)
{
    struct anchor *a, *tmp;

    HASH_ITER(hh, l->anchors, a, tmp) {
        HASH_DEL(l->anchors, a);
        free(a->name);
        cJSON_Delete(a->node);
        free(a);
    }
}

static int key_held(const struct frame *f, const char *name)
{
    struct key_seen *k;

    HASH_FIND_STR(f->keys, name, k);
    return k != NULL;
}

/* Add item under key to the frame's mapping and note the key; takes ownership of item. */
static int add_to_mapping(struct loader *l, struct frame *f, const char *key, cJSON *item)
{
    struct key_seen *k;

    if (!cJSON_AddItemToObject(f->node, key, item)) {
        cJSON_Delete(item);
        return fail(l, "out of memory");
    }
    if (!(k = calloc(1, sizeof(*k))))
        return fail(l, "out of memory");
    /* item->string is the object's own copy of the key, which lives as long as the mapping. */
    k->name = item->string;
    HASH_ADD_KEYPTR(hh, f->keys, k->name, strlen(k->name), k);
    if (!k->hh.tbl) {
        free(k);
        return fail(l, "out of memory");
    }
    return 0;
}

static void keys_free(struct frame *f)
{
    struct key_seen *k, *tmp;

    HASH_ITER(hh, f->keys, k, tmp) {
        HASH_DEL(f->keys, k);
        free(k);
    }
}

/* Place a finished (or just started) value at the current position; takes ownership of node. */
static int place(struct loader *l, cJSON *node)
{
    struct frame *top;

    if (!node)
        return -1;
    if (l->depth == 0) {
        cJSON_Delete(l->root);
        l->root = node;
        return 0;
    }
    top = &l->stack[l->depth - 1];
    if (cJSON_IsArray(top->node)) {
        cJSON_AddItemToArray(top->node, node);
        return 0;
    }
    if (!top->key) {
        cJSON_Delete(node);
        return fail(l, "only scalar mapping keys are supported");
    }
    if (top->key_merge) {
        if (!top->merges && !(top->merges = cJSON_CreateArray())) {
            cJSON_Delete(node);
            return fail(l, "out of memory");
        }
        cJSON_AddItemToArray(top->merges, node);
    } else if (key_held(top, top->key)) {
        cJSON_Delete(node);
        return fail(l, "duplicate key \"%.60s\"", top->key);
    } else if (add_to_mapping(l, top, top->key, node) < 0) {
        return -1;
    }
    free(top->key);
    top->key = NULL;
    return 0;
}

/* A scalar or alias in key position: keep its text as the pending key. */
static int set_key(struct loader *l, const char *text, int merge)
{
    struct frame *top = &l->stack[l->depth - 1];

    if (!(top->key = strdup(text)))
        return fail(l, "out of memory");
    top->key_merge = merge;
    return 0;
}

static int expecting_key(const struct loader *l)
{
    return l->depth > 0 && cJSON_IsObject(l->stack[l->depth - 1].node) && !l->stack[l->depth - 1].key;
}

static int on_scalar(struct loader *l, const yaml_event_t *ev)
{
    const char *anchor = (const char *)ev->data.scalar.anchor;
    cJSON *node;

    if (expecting_key(l)) {
        const char *text = (const char *)ev->data.scalar.value;
        int merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(text, "<<") == 0;

        if (anchor) {
            cJSON *s = cJSON_CreateString(text);
            int rc = s ? anchor_set(l, anchor, s) : fail(l, "out of memory");

            cJSON_Delete(s);
            if (rc < 0)
                return -1;
        }
        return set_key(l, text, merge);
    }
    if (!(node = scalar_node(l, ev)))
        return l->err && l->err[0] ? -1 : fail(l, "out of memory");
    if (anchor && anchor_set(l, anchor, node) < 0) {
        cJSON_Delete(node);
        return -1;
    }
    return place(l, node);
}

static int on_alias(struct loader *l, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const cJSON *target = anchor_get(l, name);

    if (!target)
        return fail(l, "alias *%.60s names no anchor defined before it", name);
    if (expecting_key(l)) {
        if (!cJSON_IsString(target))
            return fail(l, "alias *%.60s used as a key is not a string", name);
        return set_key(l, target->valuestring, 0);
    }
    return place(l, copy_counted(l, target));
}

static int on_start(struct loader *l, const yaml_event_t *ev, int mapping)
{
    const yaml_char_t *anchor = mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    cJSON *node;
    struct frame *f;

    if (expecting_key(l))
        return fail(l, "only scalar mapping keys are supported");
    if (l->depth == YAML_DEPTH_MAX)
        return fail(l, "nested deeper than %d levels", YAML_DEPTH_MAX);
    if (!(node = mapping ? cJSON_CreateObject() : cJSON_CreateArray()))
        return fail(l, "out of memory");
    if (place(l, node) < 0)
        return -1;
    f = &l->stack[l->depth++];
    memset(f, 0, sizeof(*f));
    f->node = node;
    if (anchor && !(f->anchor = strdup((const char *)anchor)))
        return fail(l, "out of memory");
    return 0;
}

/* YAML merge keys: keys the mapping sets itself win, then earlier merge sources over later ones. */
static int merge_one(struct loader *l, struct frame *into, const cJSON *src)
{
    const cJSON *c;

    if (!cJSON_IsObject(src))
        return fail(l, "a merge key (<<) needs a mapping or a list of mappings");
    for (c = src->child; c; c = c->next) {
        cJSON *copy;

        if (key_held(into, c->string))
            continue;
        if (!(copy = copy_counted(l, c)) || add_to_mapping(l, into, c->string, copy) < 0)
            return -1;
    }
    return 0;
}

static int on_end(struct loader *l)
{
    struct frame *f = &l->stack[l->depth - 1];
    const cJSON *m, *item;
    int rc = 0;

    cJSON_ArrayForEach(m, f->merges) {
        if (cJSON_IsArray(m)) {
            cJSON_ArrayForEach(item, m)
                if ((rc = merge_one(l, f, item)) < 0)
                    break;
        } else {
            rc = merge_one(l, f, m);
        }
        if (rc < 0)
            break;
    }
    if (rc == 0 && f->anchor)
        rc = anchor_set(l, f->anchor, f->node);
    cJSON_Delete(f->merges);
    free(f->anchor);
    free(f->key);
    keys_free(f);
    memset(f, 0, sizeof(*f));
    l->depth--;
    return rc;
}

static void loader_reset(struct loader *l)
{
    while (l->depth > 0) {
        struct frame *f = &l->stack[--l->depth];

        cJSON_Delete(f->merges);
        free(f->anchor);
        free(f->key);
        keys_free(f);
    }
    cJSON_Delete(l->root);
    l->root = NULL;
    anchors_free(l);
}

/* The YAML reader's event loop: a state-machine parser over libyaml's events, kept in one piece so the
 * order of events stays readable; it is over the project's function size limits on purpose. */
static cJSON *parse(const char *buf, size_t len, int keep_empty, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct loader *l = NULL;
    cJSON *docs = NULL;
    int done = 0, rc = 0;

    if (err && errlen)
        err[0] = '\0';
    if (!yaml_parser_initialize(&parser)) {
        if (err && errlen)
            snprintf(err, errlen, "yaml: out of memory");
        return NULL;
    }
    if (!(l = calloc(1, sizeof(*l))) || !(docs = cJSON_CreateArray())) {
        if (err && errlen)
            snprintf(err, errlen, "yaml: out of memory");
        goto fail;
    }
    l->err = err;
    l->errlen = errlen;
    l->name_doc = keep_empty;
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            char at[64];

            where(l, parser.problem_mark.line + 1, at, sizeof(at));
            if (err && errlen)
                snprintf(err, errlen, "%s%s%s%s", at, parser.problem ? parser.problem : "syntax error",
                         parser.context ? " " : "", parser.context ? parser.context : "");
            goto fail;
        }
        l->line = ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            loader_reset(l);
            l->doc++;
            break;
        case YAML_DOCUMENT_END_EVENT:
            /* An empty document ("---" alone, only comments, or null) is no object. */
            if (!l->root && keep_empty)
                l->root = cJSON_CreateNull();
            if (l->root && (keep_empty || !cJSON_IsNull(l->root))) {
                cJSON_AddItemToArray(docs, l->root);
                l->root = NULL;
            }
            loader_reset(l);
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(l, &ev);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(l, &ev);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            rc = on_start(l, &ev, ev.type == YAML_MAPPING_START_EVENT);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = on_end(l);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc < 0)
            goto fail;
    }
    loader_reset(l);
    free(l);
    yaml_parser_delete(&parser);
    return docs;
fail:
    if (l)
        loader_reset(l);
    free(l);
    cJSON_Delete(docs);
    yaml_parser_delete(&parser);
    return NULL;
}

cJSON *yamlio_parse(const char *buf, size_t len, char *err, size_t errlen)
{
    return parse(buf, len, 0, err, errlen);
}

cJSON *yamlio_parse_stream(const char *buf, size_t len, char *err, size_t errlen)
{
    return parse(buf, len, 1, err, errlen);
}
