/*
 * Between the cache (cache.c) and its sources (cache_kube.c: list+watch through the Kubernetes API;
 * cache_files.c: --canaries files): what a source offers the cache, and the few cache functions a source
 * calls besides the publishing ones in cache.h (cache_publish, cache_apply_event).
 *
 * Memory: a source's open allocates its state, close frees it. The cache runs a source in one background
 * thread and may call interrupt from another.
 */
#ifndef MG_CACHE_SOURCE_H
#define MG_CACHE_SOURCE_H

#include <stddef.h>

#include "cache.h"

struct cache_source {
    const char *name;
    /* 1 when cfg asks for this source. */
    int (*configured)(const struct cache_config *cfg);
    /* Prepare from cfg; 0 with *state set, or -1 with a reason in err. May publish a first list. */
    int (*open)(struct cache *c, const struct cache_config *cfg, void **state, char *err, size_t errlen);
    /* The background thread: feed the cache until cache_stopping(c). */
    void (*run)(struct cache *c, void *state);
    /* From another thread: make run return promptly (a blocked network call included). */
    void (*interrupt)(void *state);
    /* Free the state (after run returned). */
    void (*close)(void *state);
};

extern const struct cache_source cache_source_kube;
extern const struct cache_source cache_source_files;

/* 1 once cache_stop has begun. */
int cache_stopping(struct cache *c);
/* Sleep ms unless stopped first; 1 when stopping. */
int cache_sleep(struct cache *c, long ms);
/* A capped, jittered exponential backoff in ms after `failures` failures in a row (jitter spreads many
 * replicas that failed together): between half and all of 250 ms doubled per failure after the first,
 * capped at 32 s; 0 for no failure. cache_backoff_pick draws from *seed (the unit tests). */
long cache_backoff_ms(struct cache *c, int failures);
long cache_backoff_pick(int failures, unsigned *seed);
/* Whether the source currently sees every change (a watch that proves life, the files were read). A list
 * published, an event or a bookmark applied set it; a source clears it when its watch fails. */
void cache_set_in_sync(struct cache *c, int in_sync);
/* The source proves life (an event, a bookmark) at least every `seconds` while in sync: past that the
 * cache counts as out of sync even before the source notices. Not called: in sync until cleared. */
void cache_expect_life(struct cache *c, long seconds);
/* Count a watch that ended, by reason (manual_gate_watch_restarts_total). */
void cache_watch_ended(struct cache *c, enum cache_watch_end why);
/* Hand the heap a list load left free back to the system. A source calls it after each full load
 * (list, relist, file read), once the text and parsed tree of the list are freed. */
void cache_give_back(void);

#endif
