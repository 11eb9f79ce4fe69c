/*
 * An object through what the cluster runs when it is created, without a cluster: the mutating policy,
 * its JSON Patch applied, then the validating policy on the patched object, as the API server calls
 * the two webhooks. The validating policy sees a synced Canary cache that knows no release in flight.
 * `manual-gate mutate` runs every Canary of a file through it, so offline means what the cluster means.
 *
 * Memory: admit_create fills a struct admit_result that owns everything in it; admit_result_free
 * releases it. The object passed in is only read.
 */
#ifndef MG_ADMIT_H
#define MG_ADMIT_H

#include <cjson/cJSON.h>

#include "policy.h"

struct admit_result {
    int allowed;
    char *message;   /* the denial as the cluster words it; NULL when allowed */
    cJSON *object;   /* the object as the cluster would store it (patched); NULL when denied */
    cJSON *patch;    /* the mutating policy's JSON Patch, NULL when it changes nothing */
    cJSON *warnings; /* both policies' warnings, in the order the API server returns them; NULL if none */
};

/* Admit obj as a CREATE. 0 with r filled (allowed or denied); -1 with r->message saying why when the
 * object cannot be judged (out of memory, a patch that does not apply). */
int admit_create(const cJSON *obj, const struct policy_config *cfg, struct admit_result *r) __attribute__((warn_unused_result));
/* Release what admit_create filled; r is zeroed. */
void admit_result_free(struct admit_result *r);

#endif
