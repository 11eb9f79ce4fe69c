/*
 * The Canary index (see cache_index.h). A key joins its parts with '\0' (Kubernetes names never hold
 * one), so "a/b" + "c" and "a" + "b/c" differ.
 */
#include "cache_index.h"

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

struct key {
    char *p; /* parts joined by '\0' */
    size_t n;
};

struct cache_rec {
    struct key name;     /* namespace, name */
    struct key target;   /* namespace, kind, name; p NULL without a targetRef */
    struct key *configs; /* namespace, "configmap/x" */
    size_t nconfigs;
    struct canary_info info;
    UT_hash_handle hh;
};

/* Every Canary sharing one target or one tracked config, in arrival order. */
struct slot {
    struct key key;
    struct cache_rec **recs;
    size_t n, cap;
    UT_hash_handle hh;
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

static int key_make(struct key *k, const char *a, const char *b, const char *c)
{
    size_t size = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;

    k->p = malloc(size);
    if (!k->p || key_fill(k->p, size, &k->n, a, b, c) != 0) {
        free(k->p);
        k->p = NULL;
        return -1;
    }
    return 0;
}

/* ---- records ---- */

void cache_rec_free(struct cache_rec *r)
{
    size_t i;

    if (!r)
        return;
    free(r->name.p);
    free(r->target.p);
    for (i = 0; i < r->nconfigs; i++)
        free(r->configs[i].p);
    free(r->configs);
    free(r);
}

/* The keys of status.trackedConfigs. 0, or -1 when out of memory. */
static int rec_configs(struct cache_rec *r, const char *ns, const cJSON *tracked)
{
    const cJSON *t;
    size_t n = 0;

    if (!cJSON_IsObject(tracked))
        return 0;
    cJSON_ArrayForEach(t, tracked)
        n++;
    if (!(r->configs = calloc(n ? n : 1, sizeof(*r->configs))))
        return -1;
    cJSON_ArrayForEach(t, tracked) {
        if (!t->string || !t->string[0])
            continue;
        if (key_make(&r->configs[r->nconfigs], ns, t->string, NULL) != 0)
            return -1;
        r->nconfigs++;
    }
    return 0;
}

int cache_rec_new(const cJSON *obj, struct cache_rec **out)
{
    const cJSON *ref = obj_get(obj_get(obj, "spec"), "targetRef");
    const char *ns = obj_namespace(obj), *name = obj_name(obj);
    const char *kind = obj_string(ref, "kind"), *target = obj_string(ref, "name");
    struct cache_rec *r;

    *out = NULL;
    if (!cJSON_IsObject(obj) || !ns[0] || !name[0])
        return 1;
    if (!(r = calloc(1, sizeof(*r))) || key_make(&r->name, ns, name, NULL) != 0 ||
        (kind && kind[0] && target && target[0] && key_make(&r->target, ns, kind, target) != 0) ||
        rec_configs(r, ns, obj_get(obj_get(obj, "status"), "trackedConfigs")) != 0) {
        cache_rec_free(r);
        return -1;
    }
    snprintf(r->info.namespace_, sizeof(r->info.namespace_), "%s", ns);
    snprintf(r->info.name, sizeof(r->info.name), "%s", name);
    snprintf(r->info.uid, sizeof(r->info.uid), "%s", obj_string_or(obj_get(obj, "metadata"), "uid", ""));
    snprintf(r->info.phase, sizeof(r->info.phase), "%s", canary_phase(obj));
    r->info.weight = canary_weight(obj);
    r->info.gated = canary_is_gated(obj);
    r->info.release = canary_release_of(r->info.phase, r->info.weight);
    r->info.failed_checks = canary_failed_checks(obj);
    r->info.threshold = canary_threshold(canary_analysis(obj));
    r->info.last_transition = canary_last_transition(obj);
    *out = r;
    return 0;
}

/* ---- slots ---- */

static void slot_free(struct slot *s)
{
    free(s->key.p);
    free(s->recs);
    free(s);
}

static int slot_add(struct slot **table, const struct key *k, struct cache_rec *r)
{
    struct cache_rec **grown;
    struct slot *s;
    size_t cap;

    HASH_FIND(hh, *table, k->p, k->n, s);
    if (!s) {
        if (!(s = calloc(1, sizeof(*s))) || !(s->key.p = malloc(k->n))) {
            free(s);
            return -1;
        }
        memcpy(s->key.p, k->p, k->n);
        s->key.n = k->n;
        HASH_ADD_KEYPTR(hh, *table, s->key.p, s->key.n, s);
        if (!s->hh.tbl) {
            slot_free(s);
            return -1;
        }
    }
    if (s->n == s->cap) {
        cap = s->cap ? s->cap * 2 : 1;
        if (!(grown = realloc(s->recs, cap * sizeof(*grown)))) {
            if (s->n == 0) {
                HASH_DEL(*table, s);
                slot_free(s);
            }
            return -1;
        }
        s->recs = grown;
        s->cap = cap;
    }
    s->recs[s->n++] = r;
    return 0;
}

static void slot_remove(struct slot **table, const struct key *k, const struct cache_rec *r)
{
    struct slot *s;
    size_t i;

    HASH_FIND(hh, *table, k->p, k->n, s);
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
        rank = canary_release_rank(s->recs[i]->info.gated, s->recs[i]->info.release);
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
    size_t i;

    if (r->target.p)
        slot_remove(&idx->by_target, &r->target, r);
    for (i = 0; i < nconfigs; i++)
        slot_remove(&idx->by_config, &r->configs[i], r);
    HASH_DEL(idx->by_name, r);
}

/* Add r to every table; -1 leaves the index as it was. */
static int link_rec(struct cache_index *idx, struct cache_rec *r)
{
    size_t i;

    HASH_ADD_KEYPTR(hh, idx->by_name, r->name.p, r->name.n, r);
    if (!r->hh.tbl)
        return -1;
    if (r->target.p && slot_add(&idx->by_target, &r->target, r) != 0) {
        HASH_DEL(idx->by_name, r);
        return -1;
    }
    for (i = 0; i < r->nconfigs; i++) {
        if (slot_add(&idx->by_config, &r->configs[i], r) != 0) {
            unlink_rec(idx, r, i);
            return -1;
        }
    }
    return 0;
}

struct cache_rec *cache_index_unlink(struct cache_index *idx, const struct cache_rec *r)
{
    struct cache_rec *found;

    HASH_FIND(hh, idx->by_name, r->name.p, r->name.n, found);
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

    HASH_ITER(hh, idx->by_name, r, tmp)
        fn(ctx, &r->info);
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
        *out = slot_best(s)->info;
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
        if (!r->info.gated || !canary_release_denies(r->info.release) || (ns && strcmp(ns, r->info.namespace_) != 0))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            if (!(grown = realloc(all, (size_t)cap * sizeof(*all)))) {
                free(all);
                return -1;
            }
            all = grown;
        }
        all[n++] = r->info;
    }
    if (n > 0) {
        qsort(all, (size_t)n, sizeof(*all), info_order);
        if (max > 0)
            memcpy(out, all, sizeof(*all) * (size_t)(n < max ? n : max));
    }
    free(all);
    return n;
}
