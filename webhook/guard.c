/*
 * One decision for every change that would make Flagger restart a gated release from 0% (a target's
 * new pod template, a tracked ConfigMap's or Secret's new content): deny while the release is in
 * flight, with a message that names the Canary and says how to proceed; let break glass through with a
 * warning and audit annotations; and decide what an unknown gating state means (--fail-open).
 */
#include "guard.h"

#include <stdio.h>
#include <string.h>

#include "canary.h"

/* An audit annotation is one line of the API server's audit log: a reason longer than this is cut
 * there rather than letting one request bloat the log. */
#define AUDIT_REASON_MAX 256

enum override_kind { OVERRIDE_NONE, OVERRIDE_EMPTY, OVERRIDE_KEPT, OVERRIDE_ANNOTATION, OVERRIDE_GROUP };

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

static int in_group(const cJSON *groups, const char *group)
{
    const cJSON *g;

    if (!group || !*group || !cJSON_IsArray(groups))
        return 0;
    cJSON_ArrayForEach(g, groups)
        if (cJSON_IsString(g) && strcmp(g->valuestring, group) == 0)
            return 1;
    return 0;
}

/* On UPDATE the annotation counts only when this request sets or changes it: one left on the object
 * (or kept in Git) would otherwise let every later change through unnoticed. On DELETE there is no new
 * object, so the stored one's counts (annotate, then delete).
 * A non-blank annotation wins over the group so the audit log keeps the human's own reason. A blank
 * one is not a reason: the point of break glass is that the audit log says why. */
static enum override_kind override_find(const struct admission_request *req, const struct policy_config *cfg,
                                        const struct guard_subject *s, const char **reason)
{
    const char *ann = obj_annotation(s->annotated, CANARY_ANN_OVERRIDE);
    const char *stored = NULL;
    int kept;

    if (ann && req->op == OP_UPDATE)
        stored = obj_annotation(req->old_object, CANARY_ANN_OVERRIDE);
    kept = stored && strcmp(stored, ann) == 0;
    *reason = NULL;
    if (ann && !is_blank(ann) && !kept) {
        *reason = ann;
        return OVERRIDE_ANNOTATION;
    }
    if (cfg && in_group(req->groups, cfg->override_group))
        return OVERRIDE_GROUP;
    if (!ann)
        return OVERRIDE_NONE;
    return is_blank(ann) ? OVERRIDE_EMPTY : OVERRIDE_KEPT;
}

/* Copy at most max bytes of s, never cutting a UTF-8 sequence in two (the audit value must stay
 * valid UTF-8). */
static void copy_utf8(char *dst, size_t dstlen, const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n > max)
        n = max;
    if (n >= dstlen)
        n = dstlen - 1;
    if (n < strlen(s))
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static void grant(const struct admission_request *req, const struct policy_config *cfg, int found,
                  const struct canary_info *info, enum override_kind kind, const char *ann_reason,
                  struct decision *d)
{
    const char *user = req->username[0] ? req->username : "an unnamed user";
    char reason[AUDIT_REASON_MAX + 1];

    if (kind == OVERRIDE_ANNOTATION)
        copy_utf8(reason, sizeof(reason), ann_reason, AUDIT_REASON_MAX);
    else
        snprintf(reason, sizeof(reason), "member of the override group %s", cfg->override_group);
    if (found)
        decision_warn(d, "manual-gate: override by %s: Canary %s/%s restarts its gated release from 0%% (%s)",
                      user, info->namespace_, info->name, reason);
    else
        decision_warn(d, "manual-gate: override by %s while the gating state is unknown (%s)", user, reason);
    decision_audit(d, "override-reason", reason);
    decision_audit(d, "override-user", user);
    decision_allow(d);
}

void guard_decide(const struct admission_request *req, const struct policy_config *cfg, int lookup_rc,
                  const struct canary_info *info, const struct guard_subject *s, struct decision *d)
{
    int found = lookup_rc == LOOKUP_FOUND;
    enum override_kind ov;
    const char *reason, *advice, *force;
    char situation[1024];

    if (lookup_rc == LOOKUP_NONE)
        return;
    /* The phase decides (DESIGN.md section 2): outside a release a change is how a release starts. */
    if (found && !(info->gated && canary_phase_in_flight(info->phase)))
        return;

    ov = override_find(req, cfg, s, &reason);
    if (ov == OVERRIDE_ANNOTATION || ov == OVERRIDE_GROUP) {
        grant(req, cfg, found, info, ov, reason, d);
        return;
    }
    if (!found && cfg && cfg->fail_open) {
        decision_warn(d, "manual-gate: allowed by --fail-open although the gating state is unknown "
                         "(Canary cache not synced)");
        return;
    }

    if (found)
        snprintf(situation, sizeof(situation),
                 "%s %s/%s %s Canary %s/%s, whose gated release is in flight (phase %s, canary weight %d%%)",
                 s->kind, s->namespace_, s->name, s->relation, info->namespace_, info->name, info->phase,
                 info->weight);
    else
        snprintf(situation, sizeof(situation),
                 "the gating state of %s %s/%s is unknown (the Canary cache has not synced with the API server)",
                 s->kind, s->namespace_, s->name);

    if (ov == OVERRIDE_EMPTY) {
        decision_deny(d, "manual-gate: %s: the annotation %s is empty; it must give the reason for forcing "
                         "the change, e.g. %s: \"hotfix for incident 1234\".",
                      situation, CANARY_ANN_OVERRIDE, CANARY_ANN_OVERRIDE);
        return;
    }

    if (!found)
        advice = "Retry once manual-gate is ready (/readyz)";
    else if (strcmp(info->phase, "Promoting") == 0 || strcmp(info->phase, "Finalising") == 0)
        /* The gates are no longer consulted once promotion started: waiting is the way forward. */
        advice = "Wait for the promotion to finish (phase Succeeded), then apply";
    else
        advice = "Finish the release with the loadtester's /gate/open, or roll back with /rollback/open, then apply";
    if (req->op == OP_DELETE)
        force = "set the annotation " CANARY_ANN_OVERRIDE ": \"<reason>\" on it first, then delete it, to force it";
    else if (ov == OVERRIDE_KEPT)
        force = "give the annotation " CANARY_ANN_OVERRIDE " a new reason in the same request to force it (the "
                "value already on the object does not count again)";
    else
        force = "set or change the annotation " CANARY_ANN_OVERRIDE ": \"<reason>\" in the same request to force it";
    if (found)
        decision_deny(d, "manual-gate: %s: %s makes Flagger restart the analysis from 0%%. %s; or %s.", situation,
                      s->change, advice, force);
    else
        decision_deny(d, "manual-gate: %s: %s could make Flagger restart a gated analysis from 0%%. %s; or %s.",
                      situation, s->change, advice, force);
}

static const char *meta_string(const cJSON *obj, const char *key)
{
    const cJSON *meta = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "metadata") : NULL;
    const cJSON *v = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, key) : NULL;

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void guard_subject_init(const struct admission_request *req, struct guard_subject *s)
{
    const cJSON *obj = req->object ? req->object : req->old_object;
    const char *v;

    memset(s, 0, sizeof(*s));
    s->kind = req->kind;
    s->namespace_ = req->namespace_;
    if (!*s->namespace_ && (v = meta_string(obj, "namespace")) != NULL)
        s->namespace_ = v;
    s->name = req->name;
    if (!*s->name && (v = meta_string(obj, "name")) != NULL)
        s->name = v;
    s->annotated = obj;
    s->relation = "";
    s->change = "";
}
