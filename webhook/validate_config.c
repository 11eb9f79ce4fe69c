/*
 * The validating policy on ConfigMaps and Secrets that a gated Canary tracks (status.trackedConfigs).
 * Flagger restarts the analysis when their content changes, and a DELETE changes what the pods mount,
 * so both are judged like a target's new pod template. Metadata-only changes and CREATE pass.
 *
 * Secrets: the request carries their values. This file decides from json_equal alone and never
 * copies, logs or prints a value; messages and warnings name the object only. The request body and
 * its parsed tree belong to the server, which clears them after the answer is sent.
 */
#include "validate_config.h"

#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "json.h"

/* "data: {}" and no data mount the same files. */
static const cJSON *content_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

    return cJSON_IsNull(v) || (cJSON_IsObject(v) && !v->child) ? NULL : v;
}

/* In a lossy request a value may hide a difference after a NUL: any content there counts as changed. */
static int content_changed(const cJSON *old_obj, const cJSON *new_obj, const char *const *keys, int lossy)
{
    const cJSON *a, *b;

    for (; *keys; keys++) {
        a = content_of(old_obj, *keys);
        b = content_of(new_obj, *keys);
        if ((lossy && (a || b)) || !json_equal(a, b))
            return 1;
    }
    return 0;
}

void validate_config(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d)
{
    static const char *const configmap_keys[] = {"data", "binaryData", NULL};
    static const char *const secret_keys[] = {"data", "stringData", NULL};
    int is_secret = strcmp(req->kind, "Secret") == 0;
    int is_delete = req->op == OP_DELETE;
    struct canary_info info;
    struct guard_subject s;
    char ref[320];
    int rc = LOOKUP_UNKNOWN;

    if (is_delete) {
        /* Deleting anything changes what the pods mount, whatever its content. */
    } else if (req->op == OP_UPDATE && req->object && req->old_object) {
        if (!content_changed(req->old_object, req->object, is_secret ? secret_keys : configmap_keys, req->lossy))
            return;
    } else {
        return;
    }

    guard_subject_init(req, &s);
    s.relation = "is tracked by";
    s.change = is_delete ? "deleting it" : "a change to its data";
    snprintf(ref, sizeof(ref), "%s/%s", is_secret ? "secret" : "configmap", s.name);
    memset(&info, 0, sizeof(info));
    if (lookup && lookup->by_config)
        rc = lookup->by_config(lookup->ctx, s.namespace_, ref, &info);
    guard_decide(req, cfg, rc, &info, &s, d);
}
