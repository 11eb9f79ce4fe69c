/*
 * One decision for every change that Flagger counts as a new revision of a gated Canary's target (its
 * new pod template, a tracked ConfigMap's or Secret's new content, a config's tracking switched on or off,
 * a new Flagger): by the release's phase, allow, allow with a warning, or deny with a message that says
 * what would really happen and how to proceed; let break glass through with a warning and audit
 * annotations; and decide what an unknown gating state means (--fail-open).
 *
 * The phase table (docs/design.md):
 *   Progressing > 0%, WaitingPromotion   deny: the analysis restarts from 0%
 *   Promoting, Failed > 0%               deny: unanalysed code on live traffic (no restart)
 *   Progressing at 0%                    allow, warning: restarts, but only waiting time is lost
 *   Finalising                           allow, warning: the change starts a new release once this ends
 *   Waiting, no release                  allow
 */
#include "guard.h"

#include <stdio.h>
#include <string.h>

#include "canary.h"
#include "obj.h"
#include "utf8.h"

/* An audit annotation is one line of the API server's audit log: a reason longer than this is cut
 * there rather than letting one request bloat the log. */
#define AUDIT_REASON_MAX 256
/* Canaries named in a message about several releases before "and N more". */
#define GUARD_NAMED_MAX 5

/* The rule of a change denied because the Canary cache cannot say whether a release is in flight. */
#define GUARD_RULE_UNKNOWN "gating-state-unknown"

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

int guard_in_override_group(const struct admission_request *req, const struct policy_config *cfg)
{
    return cfg && in_group(req->groups, cfg->override_group);
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

    if (ann && req->op == ADMISSION_OP_UPDATE)
        stored = obj_annotation(req->old_object, CANARY_ANN_OVERRIDE);
    kept = stored && strcmp(stored, ann) == 0;
    *reason = NULL;
    if (ann && !is_blank(ann) && !kept) {
        *reason = ann;
        return OVERRIDE_ANNOTATION;
    }
    if (guard_in_override_group(req, cfg))
        return OVERRIDE_GROUP;
    if (!ann)
        return OVERRIDE_NONE;
    return is_blank(ann) ? OVERRIDE_EMPTY : OVERRIDE_KEPT;
}

/* Break glass: 1 when the request carries an override, d then allowing what `rule` would deny with a
 * warning (what_is_lost says what the override costs) and audit annotations. *ov tells the caller which
 * kind it found. */
static int override_grant(const struct admission_request *req, const struct policy_config *cfg,
                          const struct guard_subject *s, const char *rule, const char *what_is_lost,
                          enum override_kind *ov, struct decision *d)
{
    const char *user = req->username[0] ? req->username : "an unnamed user", *ann;
    char reason[AUDIT_REASON_MAX + 1];

    *ov = override_find(req, cfg, s, &ann);
    if (*ov != OVERRIDE_ANNOTATION && *ov != OVERRIDE_GROUP)
        return 0;
    if (*ov == OVERRIDE_ANNOTATION)
        utf8_sanitize(reason, sizeof(reason), ann, NULL); /* cut to AUDIT_REASON_MAX bytes, well-formed */
    else
        snprintf(reason, sizeof(reason), "member of the override group %s", cfg->override_group);
    decision_warn(d, "manual-gate: override by %.40s: %s (%s)", user, what_is_lost, reason);
    decision_override(d, rule, user, reason);
    return 1;
}

/* The Canary a decision concerns, for the Events on it. With several (guard_decide_any), the first named. */
static void release_of(const struct canary_info *info, struct decision *d)
{
    decision_release_set(&d->release, info->namespace_, info->name, info->uid, info->phase, info->weight);
}

/* How to force the change, for the end of a denial. */
static const char *how_to_force(const struct admission_request *req, enum override_kind ov)
{
    if (req->op == ADMISSION_OP_DELETE)
        return "set the annotation " CANARY_ANN_OVERRIDE ": \"<reason>\" on it first, then delete it, to force it";
    if (ov == OVERRIDE_KEPT)
        return "give the annotation " CANARY_ANN_OVERRIDE " a new reason in the same request to force it (the "
               "value already on the object does not count again)";
    return "set or change the annotation " CANARY_ANN_OVERRIDE ": \"<reason>\" in the same request to force it";
}

/* "phase Progressing, canary weight 10%", with what WaitingPromotion's 0% really means. */
static void describe_phase(const struct canary_info *info, char *buf, size_t len)
{
    if (strcmp(info->phase, "WaitingPromotion") == 0)
        snprintf(buf, len, "phase WaitingPromotion: its status reads canary weight %d%%, but the routes still "
                           "send the canary its last step's share", info->weight);
    else
        snprintf(buf, len, "phase %s, canary weight %d%%", info->phase, info->weight);
}

/* What the change does in the Canary's phase, and the way forward (the commands a human runs). */
static const char *consequence(const struct canary_info *info, char *advice, size_t len)
{
    if (info->release == CANARY_RELEASE_RESTARTS) {
        snprintf(advice, len, "Finish the release (manual-gate gate open %.60s -n %.60s, one step each) or roll it "
                              "back (manual-gate rollback open %.60s -n %.60s), then apply",
                 info->name, info->namespace_, info->name, info->namespace_);
        return "makes Flagger restart the analysis from 0%";
    }
    if (strcmp(info->phase, "Promoting") == 0) {
        snprintf(advice, len, "Wait for the promotion to finish (phase Succeeded), then apply");
        return "restarts nothing, but the canary serves live traffic until the primary is ready: unanalysed "
               "code would go live";
    }
    snprintf(advice, len, "Wait until the primary serves all traffic again (canary weight 0), then apply");
    return "would put unanalysed code on live traffic at once: the failed promotion left the canary serving "
           "traffic";
}

/* Allowed phases that still cost something: say so. 1 when the decision is made. */
static int allow_by_phase(const struct canary_info *info, const struct guard_subject *s, struct decision *d)
{
    switch (info->release) {
    case CANARY_RELEASE_NONE:
    case CANARY_RELEASE_WAITING:
        return 1;
    case CANARY_RELEASE_NOT_STARTED:
        decision_warn(d, "manual-gate: Canary %.40s/%.40s restarts its gated release from 0%%: no step was taken yet, "
                         "only waiting time is lost", info->namespace_, info->name);
        return 1;
    case CANARY_RELEASE_FINALISING:
        decision_warn(d, "manual-gate: Canary %.40s/%.40s is finalising: %s starts a new gated release once it has "
                         "Succeeded", info->namespace_, info->name, s->change);
        return 1;
    default:
        return 0;
    }
}

static void deny_unknown(const struct admission_request *req, const struct policy_config *cfg,
                         const struct guard_subject *s, enum override_kind ov, struct decision *d)
{
    if (cfg && cfg->fail_open) {
        decision_warn(d, "manual-gate: allowed by --fail-open although the gating state is unknown "
                         "(Canary cache not synced)");
        return;
    }
    decision_deny(d, GUARD_RULE_UNKNOWN,
                     "manual-gate: the gating state of %s %s/%s is unknown (the Canary cache has not synced with "
                     "the API server): %s could make Flagger restart a gated analysis from 0%%. Retry once "
                     "manual-gate is ready (/readyz); or %s.",
                  s->kind, s->namespace_, s->name, s->change, how_to_force(req, ov));
}

static void deny_empty_reason(const char *situation, struct decision *d)
{
    decision_deny(d, "override-reason-empty",
                     "manual-gate: %s: the annotation %s is empty; it must give the reason for forcing the change, "
                     "e.g. %s: \"hotfix for incident 1234\".", situation, CANARY_ANN_OVERRIDE, CANARY_ANN_OVERRIDE);
}

void guard_decide(const struct admission_request *req, const struct policy_config *cfg, int lookup_rc,
                  const struct canary_info *info, const struct guard_subject *s, struct decision *d)
{
    const char *what;
    char situation[1024], phase[200], lost[256], advice[400];
    enum override_kind ov;

    if (lookup_rc == CANARY_LOOKUP_NONE)
        return;
    if (lookup_rc == CANARY_LOOKUP_FOUND && (!info->gated || allow_by_phase(info, s, d)))
        return;
    if (lookup_rc == CANARY_LOOKUP_FOUND) {
        snprintf(lost, sizeof(lost), "Canary %.60s/%.60s's gated release (phase %s) takes the change",
                 info->namespace_, info->name, info->phase);
        release_of(info, d);
    } else {
        snprintf(lost, sizeof(lost), "the gating state is unknown");
    }
    if (override_grant(req, cfg, s, lookup_rc == CANARY_LOOKUP_FOUND ? s->rule : GUARD_RULE_UNKNOWN, lost, &ov, d))
        return;
    if (lookup_rc != CANARY_LOOKUP_FOUND) {
        if (ov == OVERRIDE_EMPTY)
            deny_empty_reason("the gating state is unknown", d);
        else
            deny_unknown(req, cfg, s, ov, d);
        return;
    }
    describe_phase(info, phase, sizeof(phase));
    snprintf(situation, sizeof(situation), "%s %s/%s %s Canary %s/%s, whose gated release is in flight (%s)",
             s->kind, s->namespace_, s->name, s->relation, info->namespace_, info->name, phase);
    if (ov == OVERRIDE_EMPTY) {
        deny_empty_reason(situation, d);
        return;
    }
    what = consequence(info, advice, sizeof(advice));
    decision_deny(d, s->rule,
                     "manual-gate: %s: %s %s. %s; or %s.", situation, s->change, what, advice, how_to_force(req, ov));
}

/* "test/a (Progressing, 10%), test/b (Promoting, 50%) and 3 more" */
static void list_releases(const struct canary_info *infos, int count, char *buf, size_t len)
{
    size_t used = 0;
    int i, shown = count < GUARD_NAMED_MAX ? count : GUARD_NAMED_MAX;

    buf[0] = '\0';
    for (i = 0; i < shown && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%.60s/%.60s (%s, %d%%)", i ? ", " : "",
                                 infos[i].namespace_, infos[i].name, infos[i].phase, infos[i].weight);
    if (count > shown && used < len)
        snprintf(buf + used, len - used, " and %d more", count - shown);
}

void guard_decide_any(const struct admission_request *req, const struct policy_config *cfg,
                      const struct canary_lookup *lookup, const char *ns, const struct guard_subject *s,
                      const char *why, struct decision *d)
{
    struct canary_info infos[GUARD_NAMED_MAX];
    char names[1024], lost[160];
    enum override_kind ov;
    int count = lookup && lookup->releases ? lookup->releases(lookup->ctx, ns, infos, GUARD_NAMED_MAX)
                                           : CANARY_LOOKUP_UNKNOWN;

    if (count == 0)
        return;
    if (count > 0) {
        snprintf(lost, sizeof(lost), "%d gated release%s in flight take%s the change", count, count > 1 ? "s" : "",
                 count > 1 ? "" : "s");
        release_of(&infos[0], d);
    } else {
        snprintf(lost, sizeof(lost), "the gating state is unknown");
    }
    if (override_grant(req, cfg, s, count > 0 ? s->rule : GUARD_RULE_UNKNOWN, lost, &ov, d))
        return;
    if (ov == OVERRIDE_EMPTY) {
        deny_empty_reason(count > 0 ? "gated releases are in flight" : "the gating state is unknown", d);
        return;
    }
    if (count < 0) {
        deny_unknown(req, cfg, s, ov, d);
        return;
    }
    list_releases(infos, count, names, sizeof(names));
    decision_deny(d, s->rule,
                     "manual-gate: %s %s/%s: %s %s. Gated releases in flight%s%s: %s. Finish them first; or %s.",
                  s->kind, s->namespace_, s->name, s->change, why, ns ? " in namespace " : "", ns ? ns : "",
                  names, how_to_force(req, ov));
}

void guard_subject_init(const struct admission_request *req, struct guard_subject *s)
{
    const cJSON *obj = req->object ? req->object : req->old_object;

    memset(s, 0, sizeof(*s));
    s->kind = req->kind;
    s->namespace_ = req->namespace_[0] ? req->namespace_ : obj_namespace(obj);
    s->name = req->name[0] ? req->name : obj_name(obj);
    s->annotated = obj;
    s->relation = "";
    s->change = "";
    s->rule = "";
}
