/*
 * libFuzzer target: untrusted request bodies through the codec and every policy. Besides crashes and
 * sanitizer reports it checks three properties: every decoded review encodes to a response, a Canary
 * the mutator patched yields no further patch once the patch is applied (idempotence), and what the body
 * parser accepts cJSON accepts too, as the same tree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mutate_canary.h"
#include "patch.h"
#include "admission.h"
#include "jsonparse.h"
#include "../unit/json_same.h"
#include "policy.h"
#include "review.h"

/* Every object is the target of a gated Canary whose release is in flight: the strictest answers. */
static int gated(void *ctx, const char *ns, const char *a, const char *b, struct canary_info *out)
{
    (void)ctx;
    (void)a;
    (void)b;
    memset(out, 0, sizeof(*out));
    strncpy(out->namespace_, ns, sizeof(out->namespace_) - 1);
    strcpy(out->name, "podinfo");
    strcpy(out->phase, "Progressing");
    out->weight = 10;
    out->gated = 1;
    out->release = CANARY_RELEASE_RESTARTS;
    return CANARY_LOOKUP_FOUND;
}

static int gated_cfg(void *ctx, const char *ns, const char *ref, struct canary_info *out)
{
    return gated(ctx, ns, ref, ref, out);
}

static int gated_all(void *ctx, const char *ns, struct canary_info *out, int max)
{
    if (max > 0)
        gated(ctx, ns ? ns : "test", "", "", out);
    return 1;
}

/* JSON with a key twice in one object: the API server never sends it (it serialises Go values), and
 * cJSON keeps both keys, so comparisons that read the first one cannot be symmetric. */
static int has_duplicate_keys(const cJSON *node)
{
    const cJSON *a, *b;

    for (a = node ? node->child : NULL; a; a = a->next) {
        if (cJSON_IsObject(node))
            for (b = a->next; b; b = b->next)
                if (a->string && b->string && strcmp(a->string, b->string) == 0)
                    return 1;
        if (has_duplicate_keys(a))
            return 1;
    }
    return 0;
}

static void check_idempotent(const struct admission_request *req, const struct policy_config *cfg,
                             const struct decision *d)
{
    struct decision again;
    cJSON *copy;
    char err[256];

    if (!d->allowed || !d->patch || !req->object || has_duplicate_keys(req->object))
        return;
    copy = cJSON_Duplicate(req->object, 1);
    if (patch_apply(copy, d->patch, err, sizeof(err)) != 0)
        __builtin_trap(); /* the mutator emitted a patch that does not apply to the object it saw */
    decision_init(&again);
    mutate_canary_object(copy, cfg, &again);
    if (again.patch)
        __builtin_trap(); /* not idempotent */
    decision_free(&again);
    cJSON_Delete(copy);
}

/* The body parser against cJSON: whatever it accepts, cJSON parses to the same tree. */
static void check_same_tree_as_cjson(const char *text, size_t size)
{
    struct json_parse_status st;
    cJSON *mine = json_parse(text, size, 0, &st), *theirs;

    if (!mine)
        return;
    theirs = cJSON_ParseWithLength(text, size);
    if (!json_same_tree(mine, theirs))
        __builtin_trap();
    cJSON_Delete(mine);
    cJSON_Delete(theirs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct canary_lookup lookup = {NULL, gated, gated_cfg, gated_all};
    struct policy_config cfg = {.loadtester_url = "http://loadtester.test", .override_group = "sre"};
    struct admission_result res;
    struct review rv;
    struct decision d;
    char err[256];
    int ep;

    /* The pipeline the server runs: every body gets an answer, a review (200) or a reason (4xx), and a
     * validating answer never carries a patch. */
    for (ep = ADMISSION_MUTATE; ep <= ADMISSION_VALIDATE; ep++) {
        admission_handle((enum admission_endpoint)ep, (const char *)data, size, &cfg, &lookup, &res);
        if (!res.body || (res.status != 200 && res.status / 100 != 4) ||
            (ep == ADMISSION_VALIDATE && res.outcome == ADMISSION_PATCHED))
            __builtin_trap();
        admission_result_free(&res);
    }
    check_same_tree_as_cjson((const char *)data, size);
    /* Idempotence of the mutation, on the decision itself. */
    if (review_decode((const char *)data, size, &rv, err, sizeof(err)) != 0)
        return 0;
    decision_init(&d);
    admission_decide(ADMISSION_MUTATE, &rv.req, &cfg, NULL, &d);
    check_idempotent(&rv.req, &cfg, &d);
    decision_free(&d);
    review_free(&rv);
    return 0;
}
