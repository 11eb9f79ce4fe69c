/*
 * The Canary cache: a background thread keeps an index of every Canary, fed either by list+watch of
 * canaries.flagger.app through the Kubernetes API (kube.c) or by files (--canaries PATH, re-read on
 * change). The admission threads read it through struct canary_lookup without touching the network.
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

struct cache;

struct cache_config {
    const char *kube_api;       /* --kube-api URL, NULL for in-cluster (KUBERNETES_SERVICE_HOST/_PORT) */
    const char *token_file;     /* --kube-token-file, NULL for the service-account default */
    const char *ca_file;        /* --kube-ca-file, NULL for the service-account default */
    const char *canaries_path;  /* --canaries PATH (file or directory), NULL to use the API */
    long max_unsynced_seconds;  /* /readyz turns 503 after this long out of sync (after the first sync) */
};

struct cache_stats {
    long canaries;          /* Canaries in the index */
    long events;            /* watch events (or file reloads) applied */
    long relists;           /* full lists after the first */
    double last_sync_age;   /* seconds since the source was last known in sync; -1 if never */
    int synced;             /* the first list has arrived */
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

/* The index without a source, and the two ways to feed it. The watch loop, the file source and the
 * unit tests all go through these. */

/* cache_apply_event's answer to an ERROR event with code 410: the resourceVersion is gone, list again. */
#define CACHE_EVENT_GONE 1

/* A never-synced cache with no source and no thread (max_unsynced_seconds <= 0 means 60). */
struct cache *cache_new(long max_unsynced_seconds);
/* Replace the whole index with a List (an object with "items") or an array of Canaries, take the
 * List's metadata.resourceVersion, and mark the cache synced. 0, or -1 when list is neither. */
int cache_apply_list(struct cache *c, const cJSON *list);
/* Apply one watch event {"type", "object"}: ADDED and MODIFIED insert or replace, DELETED removes,
 * BOOKMARK only advances the resourceVersion. 0 when applied, CACHE_EVENT_GONE for an ERROR event with
 * code 410, -1 for any other ERROR event or an event that cannot be applied. */
int cache_apply_event(struct cache *c, const cJSON *event);
/* The resourceVersion of the last list or event into buf ("" before any). */
void cache_resource_version(struct cache *c, char *buf, size_t len);

#endif
