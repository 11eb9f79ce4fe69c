/*
 * The Canary index (see cache_index.h). A key joins its parts with '\0' (Kubernetes names never hold
 * one), so "a/b" + "c" and "a" + "b/c" differ.
 */
#include "cache_index.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "obj.h"

/* uthash reports a failed allocation (the element's hh.tbl stays NULL) instead of exiting. */
#define HASH_NONFATAL_OOM 1
#include <uthash.h>

/* Longest lookup key: namespace (63) + kind + name (253), with room to spare. */
#define KEY_MAX 1024

/* One Canary, in one allocation: the numbers, then its strings, each NUL-terminated, in this order:
 * namespace, name (together the by_name key, name_n bytes), target kind and name (when it has a
 * targetRef), uid, phase, and each tracked config ("configmap/x"). The other lookup keys are joined on
 * the stack when the record is linked or unlinked. About 300 bytes where a struct canary_info is 440. */
struct cache_rec {
    UT_hash_handle hh;
    int64_t last_transition;
    double threshold;
    int weight, failed_checks;
    unsigned char gated, release;
    unsigned name_n;        /* namespace + '\0' + name */
    unsigned target_off;    /* offset of the target kind, 0 without a targetRef */
    unsigned uid_off, phase_off, configs_off, nconfigs;
    char s[];
};

/* Every Canary sharing one target or one tracked config, in arrival order; recs points at one while
 * only one does (the common case: one allocation a slot). */
struct slot {
    UT_hash_handle hh;
    struct cache_rec **recs, *one;
    unsigned n, cap, key_n;
    char key[];
};

struct cache_index {
    struct cache_rec *by_name;
    struct slot *by_target;
    struct slot *by_config;
};

/* ---- keys ---- */

/* Join two or three parts into buf; -1 when they do not fit. */
static int key_fill(char *buf, size_t size, size_t *len, const char *a, const char *b, const char *c)
{
    size_t na = strlen(a), nb = strlen(b), nc = c ? strlen(c) + 1 : 0;

    if (na + 1 + nb + nc > size)
        return -1;
    memcpy(buf, a, na);
    buf[na] = '\0';
    memcpy(buf + na + 1, b, nb);
    if (c) {
        buf[na + 1 + nb] = '\0';
        memcpy(buf + na + 2 + nb, c, nc - 1);
    }
    *len = na + 1 + nb + nc;
    return 0;
}

/* A record's target key ("ns\0kind\0name"); 0 when it has no target or the key does not fit. */
static size_t rec_target_key(const struct cache_rec *r, char *buf)
{
    const char *kind = r->s + r->target_off;
    size_t n;

    if (!r->target_off || key_fill(buf, KEY_MAX, &n, r->s, kind, kind + strlen(kind) + 1) != 0)
        return 0;
    return n;
}

/* The i-th tracked config's key ("ns\0configmap/x"), and where the next config starts in *at. */
static size_t rec_config_key(const struct cache_rec *r, size_t *at, char *buf)
{
    const char *ref = r->s + *at;
    size_t n;

    *at += strlen(ref) + 1;
    return key_fill(buf, KEY_MAX, &n, r->s, ref, NULL) == 0 ? n : 0;
}

/* ---- records ---- */

void cache_rec_free(struct cache_rec *r)
{
    free(r);
}

/* Copy src into dst of size bytes, cut to fit (a lookup copies four strings: no snprintf). */
static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The record's strings, copied into a struct canary_info. */
static void rec_info(const struct cache_rec *r, struct canary_info *out)
{
    size_t ns = strlen(r->s);

    copy_str(out->namespace_, sizeof(out->namespace_), r->s);
    copy_str(out->name, sizeof(out->name), r->s + ns + 1);
    copy_str(out->uid, sizeof(out->uid), r->s + r->uid_off);
    copy_str(out->phase, sizeof(out->phase), r->s + r->phase_off);
    out->weight = r->weight;
    out->gated = r->gated;
    out->release = (enum canary_release)r->release;
    out->failed_checks = r->failed_checks;
    out->threshold = r->threshold;
    out->last_transition = r->last_transition;
}

/* Append s and its NUL at *at (NULL dst: only count). */
static unsigned put_str(char *dst, size_t *at, const char *s)
{
    size_t n = strlen(s) + 1, was = *at;

    if (dst)
        memcpy(dst + was, s, n);
    *at += n;
    return (unsigned)was;
}

/* The strings of a record, counted (r NULL) or copied; returns their size. Strings longer than a
 * canary_info holds are cut there, as the info always was. */
static size_t rec_strings(struct cache_rec *r, const cJSON *obj, const char *kind, const char *target)
{
    const cJSON *tracked = obj_get(obj_get(obj, "status"), "trackedConfigs"), *t;
    char *dst = r ? r->s : NULL, uid[sizeof(((struct canary_info *)0)->uid)];
    char phase[sizeof(((struct canary_info *)0)->phase)];
    size_t at = 0;

    snprintf(uid, sizeof(uid), "%s", obj_string_or(obj_get(obj, "metadata"), "uid", ""));
    snprintf(phase, sizeof(phase), "%s", canary_phase(obj));
    put_str(dst, &at, obj_namespace(obj));
    put_str(dst, &at, obj_name(obj));
    if (r)
        r->name_n = (unsigned)at - 1;
    if (kind && kind[0] && target && target[0]) {
        unsigned off = put_str(dst, &at, kind);

        put_str(dst, &at, target);
        if (r)
            r->target_off = off;
    }
    if (r) {
        r->uid_off = put_str(dst, &at, uid);
        r->phase_off = put_str(dst, &at, phase);
        r->configs_off = (unsigned)at;
    } else {
        at += strlen(uid) + strlen(phase) + 2;
    }
    if (!cJSON_IsObject(tracked))
        return at;
    cJSON_ArrayForEach(t, tracked) {
        if (!t->string || !t->string[0])
            continue;
        put_str(dst, &at, t->string);
        if (r)
            r->nconfigs++;
    }
    return at;
}

int cache_rec_new(const cJSON *obj, struct cache_rec **out)
{
    const cJSON *ref = obj_get(obj_get(obj, "spec"), "targetRef");
    const char *kind = obj_string(ref, "kind"), *target = obj_string(ref, "name");
    struct cache_rec *r;
    size_t size;

    *out = NULL;
    if (!cJSON_IsObject(obj) || !obj_namespace(obj)[0] || !obj_name(obj)[0])
        return 1;
    size = rec_strings(NULL, obj, kind, target);
    if (!(r = calloc(1, sizeof(*r) + size)))
        return -1;
    rec_strings(r, obj, kind, target);
    r->weight = canary_weight(obj);
    r->gated = (unsigned char)canary_is_gated(obj);
    r->release = (unsigned char)canary_release_of(r->s + r->phase_off, r->weight);
    r->failed_checks = canary_failed_checks(obj);
    r->threshold = canary_threshold(canary_analysis(obj));
    r->last_transition = canary_last_transition(obj);
    *out = r;
    return 0;
}

/* ---- slots ---- */

static void slot_free(struct slot *s)
{
    if (s->recs != &s->one)
        free(s->recs);
    free(s);
}

static int slot_grow(struct slot *s)
{
    unsigned cap = s->cap * 2;
    struct cache_rec **grown;

    if (s->recs == &s->one) {
        if (!(grown = malloc(cap * sizeof(*grown))))
            return -1;
        grown[0] = s->one;
    } else if (!(grown = realloc(s->recs, cap * sizeof(*grown)))) {
        return -1;
    }
    s->recs = grown;
    s->cap = cap;
    return 0;
}

static int slot_add(struct slot **table, const char *key, size_t key_n, struct cache_rec *r)
{
    struct slot *s;

    HASH_FIND(hh, *table, key, key_n, s);
    if (!s) {
        if (!(s = calloc(1, sizeof(*s) + key_n)))
            return -1;
        memcpy(s->key, key, key_n);
        s->key_n = (unsigned)key_n;
        s->recs = &s->one;
        s->cap = 1;
        HASH_ADD_KEYPTR(hh, *table, s->key, s->key_n, s);
        if (!s->hh.tbl) {
            slot_free(s);
            return -1;
        }
    }
    if (s->n == s->cap && slot_grow(s) != 0) {
        if (s->n == 0) {
            HASH_DEL(*table, s);
            slot_free(s);
        }
        return -1;
    }
    s->recs[s->n++] = r;
    return 0;
}

static void slot_remove(struct slot **table, const char *key, size_t key_n, const struct cache_rec *r)
{
    struct slot *s;
    size_t i;

    HASH_FIND(hh, *table, key, key_n, s);
    if (!s)
        return;
    for (i = 0; i < s->n && s->recs[i] != r; i++)
        ;
    if (i == s->n)
        return;
    memmove(&s->recs[i], &s->recs[i + 1], (s->n - i - 1) * sizeof(*s->recs));
    if (--s->n == 0) {
        HASH_DEL(*table, s);
        slot_free(s);
    }
}

/* The one of several Canaries sharing a key that a lookup answers. */
static const struct cache_rec *slot_best(const struct slot *s)
{
    const struct cache_rec *best = NULL;
    int best_rank = -1, rank;
    size_t i;

    for (i = 0; i < s->n; i++) {
        rank = canary_release_rank(s->recs[i]->gated, (enum canary_release)s->recs[i]->release);
        if (rank > best_rank) {
            best = s->recs[i];
            best_rank = rank;
        }
    }
    return best;
}

/* ---- the index ---- */

struct cache_index *cache_index_new(void)
{
    return calloc(1, sizeof(struct cache_index));
}

void cache_index_free(struct cache_index *idx)
{
    struct cache_rec *r, *rt;
    struct slot *s, *st;

    if (!idx)
        return;
    HASH_ITER(hh, idx->by_target, s, st) {
        HASH_DEL(idx->by_target, s);
        slot_free(s);
    }
    HASH_ITER(hh, idx->by_config, s, st) {
        HASH_DEL(idx->by_config, s);
        slot_free(s);
    }
    HASH_ITER(hh, idx->by_name, r, rt) {
        HASH_DEL(idx->by_name, r);
        cache_rec_free(r);
    }
    free(idx);
}

/* Remove r from the target slot and the first nconfigs config slots, and from by_name. */
static void unlink_rec(struct cache_index *idx, struct cache_rec *r, size_t nconfigs)
{
    char key[KEY_MAX];
    size_t i, n, at = r->configs_off;

    if ((n = rec_target_key(r, key)) != 0)
        slot_remove(&idx->by_target, key, n, r);
    for (i = 0; i < nconfigs; i++)
        if ((n = rec_config_key(r, &at, key)) != 0)
            slot_remove(&idx->by_config, key, n, r);
    HASH_DEL(idx->by_name, r);
}

/* Add r to every table; -1 leaves the index as it was. A key too long to be a Kubernetes name is left
 * out of its table (no lookup can ask for it). */
static int link_rec(struct cache_index *idx, struct cache_rec *r)
{
    char key[KEY_MAX];
    size_t i, n, at = r->configs_off;

    HASH_ADD_KEYPTR(hh, idx->by_name, r->s, r->name_n, r);
    if (!r->hh.tbl)
        return -1;
    if ((n = rec_target_key(r, key)) != 0 && slot_add(&idx->by_target, key, n, r) != 0) {
        HASH_DEL(idx->by_name, r);
        return -1;
    }
    for (i = 0; i < r->nconfigs; i++) {
        if ((n = rec_config_key(r, &at, key)) != 0 && slot_add(&idx->by_config, key, n, r) != 0) {
            unlink_rec(idx, r, i);
            return -1;
        }
    }
    return 0;
}

struct cache_rec *cache_index_unlink(struct cache_index *idx, const struct cache_rec *r)
{
    struct cache_rec *found;

    HASH_FIND(hh, idx->by_name, r->s, r->name_n, found);
    if (found)
        unlink_rec(idx, found, found->nconfigs);
    return found;
}

int cache_index_link(struct cache_index *idx, struct cache_rec *r, struct cache_rec **old)
{
    *old = cache_index_unlink(idx, r);
    if (link_rec(idx, r) == 0)
        return 0;
    /* Put the old record back: the index must not lose a Canary because memory ran short. Its slots
     * were just freed for it, so this only fails when memory is almost gone; then the caller hears -1
     * with *old still set, and must treat the index as broken. */
    if (*old && link_rec(idx, *old) == 0)
        *old = NULL;
    return -1;
}

int cache_index_put(struct cache_index *idx, const cJSON *obj)
{
    struct cache_rec *r, *old;
    int rc = cache_rec_new(obj, &r);

    if (rc != 0)
        return rc;
    if (cache_index_link(idx, r, &old) != 0) {
        cache_rec_free(r);
        cache_rec_free(old);
        return -1;
    }
    cache_rec_free(old);
    return 0;
}

int cache_index_put_items(struct cache_index *idx, const cJSON *items)
{
    const cJSON *it;
    const char *kind;

    cJSON_ArrayForEach(it, items) {
        kind = obj_string(it, "kind");
        if ((!kind || strcmp(kind, "Canary") == 0) && cache_index_put(idx, it) < 0)
            return -1;
    }
    return 0;
}

long cache_index_count(const struct cache_index *idx)
{
    return (long)HASH_COUNT(idx->by_name);
}

void cache_index_each(const struct cache_index *idx, void (*fn)(void *ctx, const struct canary_info *info), void *ctx)
{
    const struct cache_rec *r, *tmp;
    struct canary_info info;

    HASH_ITER(hh, idx->by_name, r, tmp) {
        rec_info(r, &info);
        fn(ctx, &info);
    }
}

static int find(struct slot *table, const char *ns, const char *a, const char *b, struct canary_info *out)
{
    char key[KEY_MAX];
    struct slot *s = NULL;
    size_t n;

    if (!ns || !a || key_fill(key, sizeof(key), &n, ns, a, b) != 0)
        return CANARY_LOOKUP_NONE;
    HASH_FIND(hh, table, key, n, s);
    if (!s || !s->n)
        return CANARY_LOOKUP_NONE;
    if (out)
        rec_info(slot_best(s), out);
    return CANARY_LOOKUP_FOUND;
}

int cache_index_by_target(const struct cache_index *idx, const char *ns, const char *kind, const char *name,
                          struct canary_info *out)
{
    return name ? find(idx->by_target, ns, kind, name, out) : CANARY_LOOKUP_NONE;
}

int cache_index_by_config(const struct cache_index *idx, const char *ns, const char *ref, struct canary_info *out)
{
    return find(idx->by_config, ns, ref, NULL, out);
}

static int info_order(const void *a, const void *b)
{
    const struct canary_info *x = a, *y = b;
    int c = strcmp(x->namespace_, y->namespace_);

    return c ? c : strcmp(x->name, y->name);
}

/* A walk of every Canary: this answers rare requests (a Flagger upgrade, a config's tracking switched
 * back on), never the per-template lookups. */
int cache_index_releases(const struct cache_index *idx, const char *ns, struct canary_info *out, int max)
{
    struct canary_info *all = NULL, *grown;
    const struct cache_rec *r, *tmp;
    int n = 0, cap = 0;

    HASH_ITER(hh, idx->by_name, r, tmp) {
        if (!r->gated || !canary_release_denies((enum canary_release)r->release) || (ns && strcmp(ns, r->s) != 0))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            if (!(grown = realloc(all, (size_t)cap * sizeof(*all)))) {
                free(all);
                return -1;
            }
            all = grown;
        }
        rec_info(r, &all[n++]);
    }
    if (n > 0) {
        qsort(all, (size_t)n, sizeof(*all), info_order);
        if (max > 0)
            memcpy(out, all, sizeof(*all) * (size_t)(n < max ? n : max));
    }
    free(all);
    return n;
}
