/* Placeholder until the Canary cache lands: never synced. */
#include "cache.h"
#include <stdlib.h>
#include <string.h>
struct cache { int unused; };
static int none(void *ctx, const char *ns, const char *a, const char *b, struct canary_info *out)
{ (void)ctx; (void)ns; (void)a; (void)b; (void)out; return LOOKUP_UNKNOWN; }
static int none_cfg(void *ctx, const char *ns, const char *a, struct canary_info *out)
{ (void)ctx; (void)ns; (void)a; (void)out; return LOOKUP_UNKNOWN; }
struct cache *cache_start(const struct cache_config *cfg, char *err, size_t errlen)
{ (void)cfg; (void)err; (void)errlen; return calloc(1, sizeof(struct cache)); }
void cache_stop(struct cache *c) { free(c); }
void cache_lookup(struct cache *c, struct canary_lookup *out) { out->ctx = c; out->by_target = none; out->by_config = none_cfg; }
int cache_ready(struct cache *c) { (void)c; return 0; }
void cache_stats(struct cache *c, struct cache_stats *out) { (void)c; memset(out, 0, sizeof(*out)); out->last_sync_age = -1; }
