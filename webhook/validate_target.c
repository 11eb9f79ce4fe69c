/*
 * The validating policy on Canary targets (Deployments and DaemonSets), and on the Deployments that run
 * Flagger (--flagger-deployment). Only an UPDATE that changes spec.template is a new revision for
 * Flagger; replicas (HPA, kubectl scale, Flagger's own scaling, including the nodeSelector key it scales
 * DaemonSets to zero with), metadata and status changes, CREATE and DELETE never restart an analysis and
 * always pass.
 */
#include "validate_target.h"

#include <string.h>

#include "guard.h"
#include "json.h"
#include "obj.h"

static const cJSON *template_of(const cJSON *obj)
{
    return obj_get(obj_get(obj, "spec"), "template");
}

/* Flagger "scales a DaemonSet to zero" by adding this key to its template's nodeSelector (in Finalising,
 * and when it rolls back) and removes it again; its own change detection drops the key, whatever its
 * value, and treats an empty nodeSelector as none (DaemonSetController.HasTargetChanged). */
#define SCALE_TO_ZERO_KEY "flagger.app/scale-to-zero"

/* A copy of a DaemonSet's template as Flagger hashes it; NULL when out of memory. The caller frees it. */
static cJSON *daemonset_template(const cJSON *tmpl)
{
    cJSON *copy = cJSON_Duplicate(tmpl, 1);
    cJSON *spec = (cJSON *)obj_get(copy, "spec");
    cJSON *sel = (cJSON *)obj_get(spec, "nodeSelector");

    if (cJSON_IsObject(sel))
        while (cJSON_GetObjectItemCaseSensitive(sel, SCALE_TO_ZERO_KEY))
            cJSON_DeleteItemFromObjectCaseSensitive(sel, SCALE_TO_ZERO_KEY);
    if (cJSON_IsNull(sel) || (cJSON_IsObject(sel) && !sel->child))
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "nodeSelector");
    return copy;
}

/* Compared as JSON values (key order does not matter, numbers exactly), never re-serialised. In a lossy
 * request a string may hide a difference after a NUL, so any template there counts as changed. Copies
 * are made only for a DaemonSet whose templates differ as sent. */
static int template_changed(const struct admission_request *req)
{
    const cJSON *a = template_of(req->old_object), *b = template_of(req->object);
    cJSON *ca, *cb;
    int changed;

    if (!a && !b)
        return 0;
    if (req->lossy || !a || !b)
        return 1;
    if (json_equal(a, b))
        return 0;
    if (strcmp(req->kind, "DaemonSet") != 0)
        return 1;
    ca = daemonset_template(a);
    cb = daemonset_template(b);
    /* Out of memory: a change cannot be ruled out, and denying is the safe answer. */
    changed = !ca || !cb || !json_equal(ca, cb);
    cJSON_Delete(ca);
    cJSON_Delete(cb);
    return changed;
}

/* 1 when the Deployment in the request runs Flagger (--flagger-deployment). */
static int runs_flagger(const struct admission_request *req, const struct guard_subject *s,
                        const struct policy_config *cfg)
{
    const char *const *p;
    size_t n = strlen(s->namespace_);

    if (!cfg || !cfg->flagger_deployments || strcmp(req->kind, "Deployment") != 0)
        return 0;
    for (p = cfg->flagger_deployments; *p; p++)
        if (strncmp(*p, s->namespace_, n) == 0 && (*p)[n] == '/' && strcmp(*p + n + 1, s->name) == 0)
            return 1;
    return 0;
}

void validate_target(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d)
{
    struct canary_info info;
    struct guard_subject s;
    int rc = CANARY_LOOKUP_UNKNOWN;

    /* Without both objects an UPDATE changes nothing that can be compared; the API server always
     * sends both. */
    if (req->op != ADMISSION_OP_UPDATE || !req->object || !req->old_object)
        return;
    if (!template_changed(req))
        return;

    guard_subject_init(req, &s);
    s.relation = "is the target of";
    s.change = "a new pod template";
    s.rule = "template-in-flight";
    if (runs_flagger(req, &s, cfg)) {
        s.rule = "flagger-upgrade-in-flight";
        /* Flagger hashes a target's template over its own Go structs, which gain fields between
         * versions: a new Flagger can see a new revision in every release in flight, once. */
        guard_decide_any(req, cfg, lookup, NULL, &s,
                         "upgrades or restarts Flagger, and a Flagger upgrade can restart every gated release in "
                         "flight from 0% once (its revision hash covers structs that gain fields between versions)",
                         d);
        return;
    }
    memset(&info, 0, sizeof(info));
    if (lookup && lookup->by_target)
        rc = lookup->by_target(lookup->ctx, s.namespace_, req->kind, s.name, &info);
    guard_decide(req, cfg, rc, &info, &s, d);
}
