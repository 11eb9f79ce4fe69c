/*
 * The validating policy on ConfigMaps and Secrets that a gated Canary tracks (status.trackedConfigs).
 * Flagger counts a change of their content (a ConfigMap's data, a Secret's data) as a new revision, and
 * so is a change in the number of tracked configs (the annotation flagger.app/config-tracking added or
 * removed); a DELETE changes what the pods mount. All are judged like a target's new pod template.
 * Other metadata changes, binaryData and CREATE pass.
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
#include "obj.h"

/* "data: {}" and no data mount the same files. */
static const cJSON *content_of(const cJSON *obj, const char *key)
{
    const cJSON *v = obj_get(obj, key);

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

/* Flagger drops a ConfigMap or Secret from tracking when this annotation starts with "disable"
 * (config_tracker.go's configIsDisabled). */
#define TRACKING_ANNOTATION "flagger.app/config-tracking"

static int tracking_disabled(const cJSON *obj)
{
    const char *v = obj_annotation(obj, TRACKING_ANNOTATION);

    return v && strncmp(v, "disable", 7) == 0;
}

/* Turning tracking back on: Flagger does not list the config in status.trackedConfigs, so manual-gate
 * cannot tell which Canary's target references it. For each one that does, the number of tracked configs
 * changes, which Flagger counts as a new revision: the rule is namespace-wide, every gated release in
 * flight in the namespace holds it (the override works). */
static void judge_tracking_on(const struct admission_request *req, const struct policy_config *cfg,
                              const struct canary_lookup *lookup, struct decision *d)
{
    struct guard_subject s;

    guard_subject_init(req, &s);
    s.change = "removing the annotation " TRACKING_ANNOTATION;
    s.rule = "config-tracked-in-flight";
    guard_decide_any(req, cfg, lookup, s.namespace_, &s,
                     "has Flagger track it again, and for every Canary whose target references it the number of "
                     "tracked configs changes: a new revision, which restarts the analysis from 0%. manual-gate "
                     "cannot tell which Canaries reference it",
                     d);
}

void validate_config(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d)
{
    /* Flagger checksums a ConfigMap's data only: a binaryData change is no new revision. */
    static const char *const configmap_keys[] = {"data", NULL};
    static const char *const secret_keys[] = {"data", "stringData", NULL};
    int is_secret = strcmp(req->kind, "Secret") == 0;
    int is_delete = req->op == ADMISSION_OP_DELETE;
    const char *change = "a change to its data", *rule = "config-data-in-flight";
    struct canary_info info;
    struct guard_subject s;
    char ref[320];
    int rc = CANARY_LOOKUP_UNKNOWN;

    if (is_delete) {
        /* Deleting anything changes what the pods mount, whatever its content. */
        change = "deleting it";
        rule = "config-delete-in-flight";
    } else if (req->op == ADMISSION_OP_UPDATE && req->object && req->old_object) {
        if (tracking_disabled(req->old_object) && !tracking_disabled(req->object)) {
            judge_tracking_on(req, cfg, lookup, d);
            return;
        }
        if (!tracking_disabled(req->old_object) && tracking_disabled(req->object)) {
            /* One tracked config fewer: a new revision for the Canary that tracks it. */
            change = "disabling its tracking (annotation " TRACKING_ANNOTATION ")";
            rule = "config-untracked-in-flight";
        } else if (!content_changed(req->old_object, req->object, is_secret ? secret_keys : configmap_keys,
                                    req->lossy)) {
            return;
        }
    } else {
        return;
    }

    guard_subject_init(req, &s);
    s.relation = "is tracked by";
    s.change = change;
    s.rule = rule;
    snprintf(ref, sizeof(ref), "%s/%s", is_secret ? "secret" : "configmap", s.name);
    memset(&info, 0, sizeof(info));
    if (lookup && lookup->by_config)
        rc = lookup->by_config(lookup->ctx, s.namespace_, ref, &info);
    guard_decide(req, cfg, rc, &info, &s, d);
}
