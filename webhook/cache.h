/*
 * The Canary cache: a background thread keeps an index of every Canary (cache_index.c), fed either by
 * list+watch of canaries.flagger.app through the Kubernetes API (cache_kube.c) or by files (--canaries
 * PATH, re-read on change: cache_files.c). The admission threads read it through struct canary_lookup
 * without touching the network.
 *
 * Lookups: by namespace + spec.targetRef kind + name, and by namespace + a key of status.trackedConfigs
 * ("configmap/NAME", "secret/NAME"), each one hash probe whatever the number of Canaries. The index
 * keeps only what the policies read (struct canary_info), never whole objects.
 *
 * Memory: cache_start (and cache_new) return a cache owned by the caller, released with cache_stop.
 * The apply functions only read the cJSON they are given; the caller still frees it.
 */
#ifndef MG_CACHE_H
#define MG_CACHE_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "policy.h"

struct cache_index;

struct cache;

struct cache_config {
    const char *kube_api;       /* --kube-api URL, NULL for in-cluster (KUBERNETES_SERVICE_HOST/_PORT) */
    const char *token_file;     /* --kube-token-file, NULL for the service-account default */
    const char *ca_file;        /* --kube-ca-file, NULL for the service-account default */
    const char *canaries_path;  /* --canaries PATH (file or directory), NULL to use the API */
    long max_unsynced_seconds;  /* /readyz turns 503 after this long out of sync (after the first sync) */
    long watch_idle_seconds;    /* a watch with no event or bookmark for this long is dead (<= 0: 180) */
};

/* Why a watch ended, for the log and manual_gate_watch_restarts_total{reason}: the server closed it (its
 * timeoutSeconds), the stream broke, it answered an HTTP error, an undecodable line, an ERROR event other
 * than 410, 410 Gone (HTTP or ERROR event), no event or bookmark for the idle timeout, a line over the cap,
 * an event the cache could not apply (out of memory). */
enum cache_watch_end {
    CACHE_WATCH_CLOSED,
    CACHE_WATCH_BROKEN,
    CACHE_WATCH_HTTP_ERROR,
    CACHE_WATCH_UNDECODABLE,
    CACHE_WATCH_ERROR_EVENT,
    CACHE_WATCH_GONE,
    CACHE_WATCH_IDLE,
    CACHE_WATCH_TOO_LARGE,
    CACHE_WATCH_UNAPPLIED,
    CACHE_WATCH_ENDS
};

struct cache_stats {
    long canaries;          /* Canaries in the index */
    long events;            /* watch events (or file reloads) applied */
    long relists;           /* full lists after the first */
    double last_sync_age;   /* seconds since the source was last known in sync (0 now); -1 if never */
    double alive_age;       /* seconds since the last proof of life (a list, an event, a bookmark); -1 if never */
    int synced;             /* the first list has arrived */
    int in_sync;            /* the source sees every change now (a watch that proves life, the files read) */
    long watch_ends[CACHE_WATCH_ENDS]; /* watches ended, by reason */
};

/* Start the cache. With no source at all (no API, no files) it starts empty and never synced. NULL
 * with a reason in err on a configuration error. */
struct cache *cache_start(const struct cache_config *cfg, char *err, size_t errlen);
/* Stop the background thread and free everything. NULL is fine. */
void cache_stop(struct cache *c);
/* Fill a lookup that reads this cache. */
void cache_lookup(struct cache *c, struct canary_lookup *out);
/* 1 when /readyz should answer 200. */
int cache_ready(struct cache *c);
/* Current numbers for /metrics. */
void cache_stats(struct cache *c, struct cache_stats *out);
/* "closed", "broken", ... (the reason label); "unknown" out of range. */
const char *cache_watch_end_name(enum cache_watch_end e);
/* Call fn with every Canary in the index under the read lock (a watch event waits meanwhile, so fn only
 * copies what it needs); in no particular order. Nothing when c is NULL. */
void cache_each(struct cache *c, void (*fn)(void *ctx, const struct canary_info *info), void *ctx);

/* Feeding the cache: the Kubernetes source, the file source and the unit tests all publish through
 * these (a full list through cache_publish or cache_apply_list, changes through cache_apply_event). */

/* cache_apply_event's answers besides 0 (applied) and -1 (an ERROR event other than 410, or an event that
 * cannot be applied): the resourceVersion is gone (410), or memory ran out and the index may miss the
 * Canary (the cache answers "unknown" until the next list). Both mean: list again. */
#define CACHE_EVENT_GONE 1
#define CACHE_EVENT_BROKEN 2

/* A never-synced cache with no source and no thread (max_unsynced_seconds <= 0 means 60). */
struct cache *cache_new(long max_unsynced_seconds);
/* Swap idx (built with cache_index.h, now owned by the cache) in as the whole index, with the list's
 * resourceVersion rv; mark the cache synced and in sync. A reload (files) counts as an event, a list
 * after the first as a relist. */
void cache_publish(struct cache *c, struct cache_index *idx, const char *rv, int reload);
/* Build an index from a List (an object with "items") or an array of Canaries and publish it with the
 * List's metadata.resourceVersion. 0; -1 when list is neither, or out of memory (then the index there was
 * stays, and the cache is marked out of sync). */
int cache_apply_list(struct cache *c, const cJSON *list);
/* Apply one watch event {"type", "object"}: ADDED and MODIFIED insert or replace, DELETED removes,
 * BOOKMARK only advances the resourceVersion. 0, CACHE_EVENT_GONE, CACHE_EVENT_BROKEN or -1 (above). */
int cache_apply_event(struct cache *c, const cJSON *event);
/* The resourceVersion of the last list or event into buf ("" before any). */
void cache_resource_version(struct cache *c, char *buf, size_t len);

#endif
