/*
 * The validating policy on Canary targets (Deployments and DaemonSets). Only an UPDATE that changes
 * spec.template is a new revision for Flagger; replicas (HPA, kubectl scale, Flagger's own scaling),
 * metadata and status changes, CREATE and DELETE never restart an analysis and always pass.
 */
#include "validate_target.h"

#include <string.h>

#include "guard.h"
#include "json.h"

static const cJSON *template_of(const cJSON *obj)
{
    const cJSON *spec = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "spec") : NULL;

    return cJSON_IsObject(spec) ? cJSON_GetObjectItemCaseSensitive(spec, "template") : NULL;
}

/* Compared as JSON values (key order and number spelling do not matter), never re-serialised. */
static int template_changed(const cJSON *old_obj, const cJSON *new_obj)
{
    const cJSON *a = template_of(old_obj), *b = template_of(new_obj);

    if (!a && !b)
        return 0;
    return !json_equal(a, b);
}

void validate_target(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d)
{
    struct canary_info info;
    struct guard_subject s;
    int rc = LOOKUP_UNKNOWN;

    /* Without both objects an UPDATE changes nothing that can be compared; the API server always
     * sends both. */
    if (strcmp(req->operation, "UPDATE") != 0 || !req->object || !req->old_object)
        return;
    if (!template_changed(req->old_object, req->object))
        return;

    guard_subject_init(req, &s);
    s.relation = "is the target of";
    s.change = "a new pod template";
    memset(&info, 0, sizeof(info));
    if (lookup && lookup->by_target)
        rc = lookup->by_target(lookup->ctx, s.namespace_, req->kind, s.name, &info);
    guard_decide(req, cfg, rc, &info, &s, d);
}
