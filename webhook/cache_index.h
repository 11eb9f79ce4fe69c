/*
 * The Canary index behind the cache: per Canary only what the policies read (what a struct canary_info
 * holds, in one compact allocation of about 300 bytes; the parsed object is not kept) and its lookup
 * keys, in three uthash tables: by namespace/name (to apply events), by namespace/target kind/target
 * name, and by namespace/tracked config ("configmap/NAME", "secret/NAME"). Each lookup is one hash
 * probe whatever the number of Canaries. No lock and no I/O here: cache.c guards an index with its lock.
 *
 * Memory: cache_index_new returns an index freed with cache_index_free, which frees every record in it.
 * cache_rec_new returns a record the caller owns until cache_index_link takes it.
 */
#ifndef MG_CACHE_INDEX_H
#define MG_CACHE_INDEX_H

#include <cjson/cJSON.h>

#include "policy.h"

struct cache_index;
struct cache_rec;

/* An empty index; NULL when out of memory. */
struct cache_index *cache_index_new(void);
/* Free the index and its records. NULL is fine. */
void cache_index_free(struct cache_index *idx);

/* What the index keeps of one Canary object: 0 with *out set; 1 when the object cannot be indexed (no
 * namespace or name; *out NULL); -1 when out of memory. */
int cache_rec_new(const cJSON *obj, struct cache_rec **out) __attribute__((warn_unused_result));
/* Free a record not linked into an index. NULL is fine. */
void cache_rec_free(struct cache_rec *r);

/* Link r in, replacing the record of the same namespace/name, which comes back in *old for the caller
 * to free. 0; -1 when out of memory: r is not linked and the index is as it was (*old NULL). */
int cache_index_link(struct cache_index *idx, struct cache_rec *r, struct cache_rec **old)
    __attribute__((warn_unused_result));
/* Unlink and return the record of r's namespace/name (NULL when none); r itself is not touched. */
struct cache_rec *cache_index_unlink(struct cache_index *idx, const struct cache_rec *r);
/* Index one Canary object (replacing the one of its namespace/name). 0; 1 when it cannot be indexed (no
 * namespace or name: skipped); -1 when out of memory (the index then is as it was). */
int cache_index_put(struct cache_index *idx, const cJSON *obj) __attribute__((warn_unused_result));
/* Index every Canary of an array (a List's items; items of another kind are skipped). 0, or -1 when out
 * of memory (the index then holds part of them). */
int cache_index_put_items(struct cache_index *idx, const cJSON *items) __attribute__((warn_unused_result));

/* Number of Canaries. */
long cache_index_count(const struct cache_index *idx);
/* Call fn with each Canary's record, in no particular order. fn must not change the index. */
void cache_index_each(const struct cache_index *idx, void (*fn)(void *ctx, const struct canary_info *info), void *ctx);
/* The Canary of ns whose spec.targetRef is kind/name: CANARY_LOOKUP_FOUND with *out set, or CANARY_LOOKUP_NONE. Among
 * several, the highest canary_release_rank, the first to arrive among equals. */
int cache_index_by_target(const struct cache_index *idx, const char *ns, const char *kind, const char *name,
                          struct canary_info *out);
/* The same for the Canary of ns whose status.trackedConfigs holds ref ("configmap/NAME"). */
int cache_index_by_config(const struct cache_index *idx, const char *ns, const char *ref, struct canary_info *out);
/* The gated Canaries whose release a new revision would lose, of ns (NULL: all), sorted by namespace and
 * name; the first max copied to out. How many there are, or -1 when out of memory. */
int cache_index_releases(const struct cache_index *idx, const char *ns, struct canary_info *out, int max);

#endif
