/*
 * The validating policy on Canaries, run after every mutating webhook. It rejects what would make a
 * gated release run on by itself or be lost: switching gating off, changing spec.targetRef or deleting
 * the Canary while a release is in flight; gating that Flagger never consults (a strategy other than the
 * progressive canary, traffic mirroring, no analysis at all); a hook that opens the gate or rolls back by
 * itself; and a Canary that still breaks the mutator's invariants (another webhook undid manual-gate's
 * changes). A new step plan in flight is allowed, with a warning when it moves the next step.
 */
#include "validate_canary.h"

#include <stdio.h>
#include <string.h>

#include "canary.h"
#include "guard.h"
#include "json.h"
#include "mutate_canary.h"
#include "obj.h"
#include "url.h"

/* Patch operations named in a denial before "and N more": enough to find the culprit. */
#define INVARIANT_OPS_SHOWN 6

/* The loadtester endpoints only a human may call: a hook calling one acts without the human. */
#define CANARY_PATH_GATE_OPEN "/gate/open"
#define CANARY_PATH_ROLLBACK_OPEN "/rollback/open"

/* 1 and a description in *how when new_obj switches off the gating old_obj had. */
static int removes_gating(const cJSON *old_obj, const cJSON *new_obj, const char **how)
{
    if (!canary_is_gated(old_obj))
        return 0;
    if (canary_enabled_label(new_obj) == CANARY_ENABLED_FALSE && canary_enabled_label(old_obj) != CANARY_ENABLED_FALSE) {
        *how = "setting the label " CANARY_LABEL_ENABLED ": \"false\"";
        return 1;
    }
    if (!canary_is_gated(new_obj)) {
        *how = "removing its /gate/check confirm-traffic-increase webhook";
        return 1;
    }
    return 0;
}

static int deny_unconsulted(const cJSON *canary, const struct policy_config *cfg, const char *ns, const char *name,
                            struct decision *d)
{
    const char *spec_provider = obj_string_or(obj_get(canary, "spec"), "provider", "");
    const char *provider = canary_provider(canary, cfg->mesh_provider);
    const cJSON *analysis = canary_analysis(canary);
    const cJSON *iterations = obj_get(analysis, "iterations");
    enum canary_strategy strategy = canary_strategy(canary, cfg->mesh_provider);

    if (!analysis) {
        decision_deny(d, "canary-no-analysis",
                         "manual-gate: Canary %s/%s is gated but has neither spec.analysis nor spec.canaryAnalysis: "
                         "Flagger then skips the analysis and promotes a new revision at once, never consulting "
                         "the gates. Add spec.analysis with an interval, stepWeight and maxWeight.",
                      ns, name);
        return 1;
    }
    if (strategy == CANARY_STRATEGY_CANARY && cJSON_IsTrue(obj_get(analysis, "mirror"))) {
        decision_deny(d, "canary-mirror",
                         "manual-gate: Canary %s/%s is gated but spec.%s.mirror is true: Flagger takes the step out "
                         "of traffic mirroring without calling confirm-traffic-increase webhooks, so the first step "
                         "with live traffic would be taken with no human. Remove mirror, or the gating.",
                      ns, name, canary_analysis_key(canary));
        return 1;
    }
    if (strategy == CANARY_STRATEGY_CANARY)
        return 0;
    if (provider && strcmp(provider, "kubernetes") == 0)
        decision_deny(d, "canary-provider-kubernetes",
                         "manual-gate: Canary %s/%s is gated but %s kubernetes, which makes Flagger "
                         "run a blue/green release: Flagger calls confirm-traffic-increase webhooks only for the "
                         "progressive canary strategy, so the gates would never be consulted and the release "
                         "would run on by itself. Use a provider that shifts traffic, or remove the gating.",
                      ns, name, *spec_provider ? "spec.provider is" : "it names no spec.provider and Flagger's -mesh-provider is");
    else
        decision_deny(d, "canary-iterations",
                         "manual-gate: Canary %s/%s is gated but spec.%s.iterations is %g, which makes Flagger "
                         "run %s: Flagger calls confirm-traffic-increase webhooks only for the progressive canary "
                         "strategy, so the gates would never be consulted and the release would run on by itself. "
                         "Remove iterations and use stepWeight/stepWeights with maxWeight.",
                      ns, name, canary_analysis_key(canary), iterations->valuedouble,
                      strategy == CANARY_STRATEGY_AB ? "A/B testing (analysis.match is set)" : "a blue/green release");
    return 1;
}

/* A webhook of any type whose URL is the loadtester's /gate/open or /rollback/open: Flagger calls it on
 * its own schedule, so the gate opens (or the release rolls back) with no human. The message names the
 * hook, never its URL, whose userinfo or query may hold credentials. */
static int deny_self_opening(const cJSON *canary, const char *ns, const char *name, struct decision *d)
{
    const cJSON *hooks = obj_get(canary_analysis(canary), "webhooks"), *h, *url;
    const char *hook_name;
    char path[256], which[300];
    int n = 0;

    if (!cJSON_IsArray(hooks))
        return 0;
    cJSON_ArrayForEach(h, hooks) {
        n++;
        url = obj_get(h, "url");
        if (!cJSON_IsString(url))
            continue;
        url_path(url->valuestring, path, sizeof(path));
        if (strcmp(path, CANARY_PATH_GATE_OPEN) != 0 && strcmp(path, CANARY_PATH_ROLLBACK_OPEN) != 0)
            continue;
        hook_name = obj_string_or(h, "name", NULL);
        if (hook_name)
            snprintf(which, sizeof(which), "\"%s\"", hook_name);
        else
            snprintf(which, sizeof(which), "number %d", n);
        if (strcmp(path, CANARY_PATH_GATE_OPEN) == 0)
            decision_deny(d, "hook-opens-gate",
                             "manual-gate: Canary %s/%s is gated but its webhook %s calls the loadtester's "
                             "/gate/open: Flagger calls it by itself, so the gate would open with no human and the "
                             "release run on to 100%%. Remove that webhook; a human opens the gate with manual-gate "
                             "gate open %s -n %s (a POST to /gate/open).",
                          ns, name, which, name, ns);
        else
            decision_deny(d, "hook-opens-rollback",
                             "manual-gate: Canary %s/%s is gated but its webhook %s calls the loadtester's "
                             "/rollback/open: Flagger calls it by itself, so the release would roll back with no "
                             "human. Remove that webhook; a human rolls back with manual-gate rollback open %s -n %s "
                             "(a POST to /rollback/open).",
                          ns, name, which, name, ns);
        return 1;
    }
    return 0;
}

static const char *strip_prefix(const char *s)
{
    static const char prefix[] = "manual-gate: ";

    return strncmp(s, prefix, sizeof(prefix) - 1) == 0 ? s + sizeof(prefix) - 1 : s;
}

/* Append text to buf (of size len, *used so far), cutting at the end of the buffer. */
static void append(char *buf, size_t len, size_t *used, const char *sep, const char *text)
{
    if (*used >= len - 1)
        return;
    *used += (size_t)snprintf(buf + *used, len - *used, "%s%s", *used ? sep : "", text);
    if (*used > len - 1)
        *used = len - 1;
}

/* The mutator's own verdict on the final object: any patch it would still make, or a denial, is an
 * invariant that another webhook (or a stale manifest) broke after manual-gate ran. Its warnings say
 * in words what it would change; the patch paths say where. */
static void deny_broken_invariant(const cJSON *canary, const struct policy_config *cfg, const char *ns,
                                 const char *name, struct decision *d)
{
    struct decision m;
    char what[2048] = "", where[512] = "";
    size_t wused = 0, pused = 0;
    const cJSON *item;
    char op[320];
    int n = 0;

    decision_init(&m);
    mutate_canary_object(canary, cfg, &m);
    if (!m.allowed) {
        decision_deny(d, "canary-invariant-broken",
                         "manual-gate: Canary %s/%s is gated but still breaks an invariant after all mutations: %s",
                      ns, name, strip_prefix(m.message ? m.message : "the mutation denies it"));
    } else if (m.patch) {
        cJSON_ArrayForEach(item, m.warnings)
            if (cJSON_IsString(item))
                append(what, sizeof(what), &wused, "; ", strip_prefix(item->valuestring));
        cJSON_ArrayForEach(item, m.patch) {
            if (n++ == INVARIANT_OPS_SHOWN) {
                append(where, sizeof(where), &pused, ", ", "...");
                break;
            }
            snprintf(op, sizeof(op), "%s %s", obj_string_or(item, "op", "?"), obj_string_or(item, "path", "?"));
            append(where, sizeof(where), &pused, ", ", op);
        }
        decision_deny(d, "canary-invariant-broken",
                         "manual-gate: Canary %s/%s is gated but still breaks an invariant after all mutations "
                         "(another mutating webhook may have undone manual-gate's changes): manual-gate would "
                         "still change it: %s (%s). Fix the manifest, or the webhook that rewrites it.",
                      ns, name, wused ? what : "see the patch", where);
    }
    decision_free(&m);
}

/* ---- a release in flight ---- */

/* The username the namespace controller deletes with: a namespace being deleted takes the target with it,
 * so no unanalysed code can go live, and blocking it would leave the namespace Terminating. */
#define NAMESPACE_CONTROLLER "system:serviceaccount:kube-system:namespace-controller"

/* UPDATE of a Canary whose gated release is in flight: deny switching gating off or another target. */
static int deny_in_flight_update(const cJSON *old_obj, const cJSON *obj, const char *ns, const char *name,
                                 struct decision *d)
{
    const char *how = NULL;

    if (removes_gating(old_obj, obj, &how)) {
        decision_deny(d, "gating-off-in-flight",
                         "manual-gate: Canary %s/%s has a gated release in flight (phase %s, canary weight %d%%): "
                         "%s would let Flagger run the release on to 100%% by itself. Finish the release "
                         "(manual-gate gate open %s -n %s, one step each) or roll it back (manual-gate rollback "
                         "open %s -n %s), then apply.",
                      ns, name, canary_phase(old_obj), canary_weight(old_obj), how, name, ns, name, ns);
        return 1;
    }
    if (!json_equal(obj_get(obj_get(old_obj, "spec"), "targetRef"), obj_get(obj_get(obj, "spec"), "targetRef"))) {
        decision_deny(d, "target-ref-in-flight",
                         "manual-gate: Canary %s/%s has a gated release in flight (phase %s, canary weight %d%%): "
                         "changing spec.targetRef makes Flagger compare the new target with the last applied spec "
                         "and start its analysis over, and the release in flight is lost. Finish the release or "
                         "roll it back, then apply.",
                      ns, name, canary_phase(old_obj), canary_weight(old_obj));
        return 1;
    }
    return 0;
}

static const char *weight_text(int w, char *buf, size_t len)
{
    if (w == CANARY_NEXT_PROMOTION)
        snprintf(buf, len, "promotion");
    else if (w == 0)
        snprintf(buf, len, "no step");
    else
        snprintf(buf, len, "%d%%", w);
    return buf;
}

/* A new stepWeight, stepWeights or maxWeight in flight: Flagger reads it at the next step, and a weight
 * that is no longer one of the steps jumps to 100% (scheduler.go's nextStepWeight). Say where the next
 * opened gate goes now. */
static void warn_step_plan(const cJSON *old_obj, const cJSON *obj, const char *name, struct decision *d)
{
    int w = canary_weight(old_obj), was = canary_next_weight(old_obj, w), now = canary_next_weight(obj, w);
    char a[16], b[16];

    if (strcmp(canary_phase(old_obj), "Progressing") != 0 || was == now)
        return;
    decision_warn(d, "manual-gate: with the new step plan the next opened gate takes %.30s from %d%% to %s (was %s)",
                  name, w, weight_text(now, a, sizeof(a)), weight_text(was, b, sizeof(b)));
}

/* DELETE of a gated Canary in flight: Flagger forgets the release; re-created, it records the current
 * template as promoted without analysing it, and the primary (owned by the Canary) can be rebuilt from
 * it. The override annotation cannot come with a DELETE: only --override-group members pass. */
static void validate_delete(const struct admission_request *req, const struct policy_config *cfg, const char *ns,
                            const char *name, struct decision *d)
{
    const cJSON *old_obj = req->old_object;
    char reason[160];

    /* After a failed promotion the canary may still serve traffic, and the primary it would be rebuilt
     * from is gone with the Canary: as costly as a release in flight. */
    if (!old_obj || !canary_is_gated(old_obj) ||
        !(canary_in_flight(old_obj) || canary_release_of(canary_phase(old_obj), canary_weight(old_obj)) == CANARY_RELEASE_LIVE))
        return;
    if (strcmp(req->username, NAMESPACE_CONTROLLER) == 0) {
        decision_warn(d, "manual-gate: namespace %.40s is being deleted: Canary %.40s's gated release ends with it",
                      ns, name);
        return;
    }
    if (guard_in_override_group(req, cfg)) {
        snprintf(reason, sizeof(reason), "member of the override group %.100s", cfg->override_group);
        decision_warn(d, "manual-gate: override by %.40s: deleting Canary %.40s drops its gated release (%s)",
                      req->username[0] ? req->username : "an unnamed user", name, reason);
        decision_override(d, "canary-delete-in-flight", req->username[0] ? req->username : "an unnamed user",
                          reason);
        return;
    }
    decision_deny(d, "canary-delete-in-flight",
                     "manual-gate: Canary %s/%s has a gated release in flight (phase %s, canary weight %d%%): "
                     "deleting it makes Flagger forget the release; re-created, it would record the current "
                     "template as promoted without analysing it, and the primary it owns could be rebuilt from "
                     "that unanalysed template. Finish the release or roll it back first, then delete it (members "
                     "of the override group may force it).",
                  ns, name, canary_phase(old_obj), canary_weight(old_obj));
}

/* CREATE or UPDATE: the rules of a release in flight, then of gating that works. */
static void validate_write(const struct admission_request *req, const struct policy_config *cfg, const char *ns,
                           const char *name, struct decision *d)
{
    const cJSON *obj = req->object, *old_obj = req->op == ADMISSION_OP_UPDATE ? req->old_object : NULL;

    if (old_obj && canary_is_gated(old_obj) && canary_in_flight(old_obj)) {
        if (deny_in_flight_update(old_obj, obj, ns, name, d))
            return;
        warn_step_plan(old_obj, obj, name, d);
    }
    /* An unchanged Canary was judged when it was written; re-judging it would block Flagger's and
     * other controllers' metadata updates to an object they cannot fix. A lossy request may hide a
     * change in a string, so it is judged in full. */
    if (old_obj && !req->lossy && canary_gating_inputs_unchanged(old_obj, obj))
        return;
    /* Gated as Flagger sees it: the label "false" over a /gate/check hook still has Flagger call it. */
    if (canary_is_gated(obj) && deny_self_opening(obj, ns, name, d))
        return;
    if (canary_gating_enabled(obj) && !deny_unconsulted(obj, cfg, ns, name, d))
        deny_broken_invariant(obj, cfg, ns, name, d);
}

void validate_canary(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d)
{
    const cJSON *obj = req->object ? req->object : req->old_object;
    const char *ns = req->namespace_[0] ? req->namespace_ : obj_namespace(obj);
    const char *name = req->name[0] ? req->name : obj_name(obj);

    (void)lookup; /* the old object carries the Canary's own phase */
    if (req->op == ADMISSION_OP_DELETE)
        validate_delete(req, cfg, ns, name, d);
    /* A Canary being deleted only loses its finalizers now: blocking that would wedge the deletion. */
    else if ((req->op == ADMISSION_OP_CREATE || req->op == ADMISSION_OP_UPDATE) && req->object &&
             !obj_get(obj_get(req->object, "metadata"), "deletionTimestamp"))
        validate_write(req, cfg, ns, name, d);
}
