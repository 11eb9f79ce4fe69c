/*
 * The admission pipeline (see admission.h). Adding a kind or a policy is one row of the routing table
 * and one file.
 */
#include "admission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "canary.h"
#include "log.h"
#include "mutate_canary.h"
#include "obj.h"
#include "review.h"
#include "utf8.h"
#include "validate_canary.h"
#include "validate_config.h"
#include "validate_target.h"

typedef void admission_policy(const struct admission_request *req, const struct policy_config *cfg,
                              const struct canary_lookup *lookup, struct decision *d);

#define OP_BIT(op) (1u << (op))
#define OPS_ANY (~0u)
/* A patch on DELETE is a 500 for the user, whatever the failurePolicy: the mutator never sees one. */
#define OPS_WRITE (OP_BIT(ADMISSION_OP_CREATE) | OP_BIT(ADMISSION_OP_UPDATE))

static const struct route {
    enum admission_endpoint ep;
    const char *group, *kind;
    unsigned ops;
    admission_policy *run;
} routes[] = {
    {ADMISSION_MUTATE, "flagger.app", "Canary", OPS_WRITE, mutate_canary},
    {ADMISSION_VALIDATE, "flagger.app", "Canary", OPS_ANY, validate_canary},
    {ADMISSION_VALIDATE, "apps", "Deployment", OPS_ANY, validate_target},
    {ADMISSION_VALIDATE, "apps", "DaemonSet", OPS_ANY, validate_target},
    {ADMISSION_VALIDATE, "", "ConfigMap", OPS_ANY, validate_config},
    {ADMISSION_VALIDATE, "", "Secret", OPS_ANY, validate_config},
};

void admission_decide(enum admission_endpoint ep, const struct admission_request *req,
                      const struct policy_config *cfg, const struct canary_lookup *lookup, struct decision *d)
{
    static const struct policy_config no_cfg;
    size_t i;

    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];

        if (r->ep == ep && (r->ops & OP_BIT(req->op)) && strcmp(req->group, r->group) == 0 &&
            strcmp(req->kind, r->kind) == 0) {
            r->run(req, cfg ? cfg : &no_cfg, lookup, d);
            break;
        }
    }
    /* Only a mutating webhook may patch: the API server rejects a patch from a validating one. */
    if (ep == ADMISSION_VALIDATE)
        decision_patch(d, NULL);
}

const char *admission_endpoint_name(enum admission_endpoint ep)
{
    return ep == ADMISSION_MUTATE ? "mutate" : "validate";
}

const char *admission_outcome_name(enum admission_outcome o)
{
    static const char *const names[] = {"allowed", "patched", "denied", "error", "rejected"};

    return (unsigned)o <= ADMISSION_REJECTED ? names[o] : "?";
}

static enum admission_outcome outcome_of(const struct decision *d)
{
    if (!d->allowed)
        return d->code == 403 ? ADMISSION_DENIED : ADMISSION_ERROR;
    return d->patch ? ADMISSION_PATCHED : ADMISSION_ALLOWED;
}

/* The override as its own log field: the rule it passed, the user and the reason (request text, cut
 * as every such field is). */
static void log_override(cJSON *f, const struct decision *d)
{
    cJSON *o = cJSON_AddObjectToObject(f, "override");

    cJSON_AddStringToObject(o, "rule", d->rule ? d->rule : "");
    log_add_text(o, "user", obj_string_or(d->audit, DECISION_AUDIT_OVERRIDE_USER, ""));
    log_add_text(o, "reason", obj_string_or(d->audit, DECISION_AUDIT_OVERRIDE_REASON, ""));
}

/* The log line's fields for an answered review. Denial messages are built by the policies from names
 * only, never from object contents, so they may be logged. What the request says (uid, names, user) is
 * any bytes of any length: log_add_text bounds it and makes it well-formed UTF-8. */
static cJSON *log_fields(const struct admission_request *req, const struct decision *d, enum admission_outcome o)
{
    cJSON *f = cJSON_CreateObject();

    if (!f)
        return NULL;
    log_add_text(f, "uid", req->uid);
    log_add_text(f, "kind", req->kind);
    log_add_text(f, "namespace", req->namespace_);
    log_add_text(f, "name", req->name);
    log_add_text(f, "operation", req->operation);
    log_add_text(f, "user", req->username);
    cJSON_AddBoolToObject(f, "dryRun", req->dry_run);
    cJSON_AddStringToObject(f, "decision", admission_outcome_name(o));
    if (d->rule && !d->overridden)
        cJSON_AddStringToObject(f, "rule", d->rule);
    if (!d->allowed) {
        cJSON_AddNumberToObject(f, "code", d->code);
        cJSON_AddStringToObject(f, "message", d->message ? d->message : "");
    }
    if (d->overridden)
        log_override(f, d);
    if (d->patch)
        cJSON_AddNumberToObject(f, "patchOps", cJSON_GetArraySize(d->patch));
    if (d->warnings)
        cJSON_AddNumberToObject(f, "warnings", cJSON_GetArraySize(d->warnings));
    return f;
}

static enum log_level level_of(const struct decision *d)
{
    if (d->allowed)
        return LOG_LEVEL_INFO;
    return d->code >= 500 ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN;
}

/* The request's object (the old one on DELETE) as an Event names it. */
static void object_ref(const struct admission_request *req, struct admission_object_ref *ref)
{
    const cJSON *obj = req->object ? req->object : req->old_object;
    const cJSON *meta = obj_get(obj, "metadata");

    if (req->group[0])
        snprintf(ref->api_version, sizeof(ref->api_version), "%s/%s", req->group, req->version);
    else
        snprintf(ref->api_version, sizeof(ref->api_version), "%s", req->version);
    /* Request text for an Event: bounded by the fields and well-formed UTF-8. */
    utf8_sanitize(ref->kind, sizeof(ref->kind), req->kind, NULL);
    utf8_sanitize(ref->namespace_, sizeof(ref->namespace_), req->namespace_[0] ? req->namespace_ : obj_namespace(obj),
                  NULL);
    utf8_sanitize(ref->name, sizeof(ref->name), req->name[0] ? req->name : obj_name(obj), NULL);
    /* On UPDATE the new object may lack the uid a client did not send; the stored one has it. */
    utf8_sanitize(ref->uid, sizeof(ref->uid),
                  obj_string_or(meta, "uid", obj_string_or(obj_get(req->old_object, "metadata"), "uid", "")), NULL);
}

/* A denial or an override, for the metrics and the Events. A Canary's own rules concern the Canary itself:
 * its release is the one stored (the old object), or the new one on CREATE. */
static void notice_of(const struct admission_request *req, const struct decision *d, struct admission_notice *n)
{
    const cJSON *canary = req->old_object ? req->old_object : req->object;

    memset(n, 0, sizeof(*n));
    if (!d->rule || (d->allowed && !d->overridden))
        return;
    n->kind = d->overridden ? ADMISSION_NOTICE_OVERRIDDEN : ADMISSION_NOTICE_DENIED;
    n->rule = d->rule;
    n->dry_run = req->dry_run;
    snprintf(n->operation, sizeof(n->operation), "%s", req->operation);
    /* Request text, for an Event's message: well-formed UTF-8 whatever the request held. */
    utf8_sanitize(n->user, sizeof(n->user), req->username, NULL);
    if (d->overridden)
        utf8_sanitize(n->reason, sizeof(n->reason), obj_string_or(d->audit, DECISION_AUDIT_OVERRIDE_REASON, ""), NULL);
    object_ref(req, &n->object);
    n->canary = d->release;
    if (!n->canary.set && strcmp(req->kind, "Canary") == 0)
        decision_release_set(&n->canary, n->object.namespace_, n->object.name, n->object.uid,
                              canary_phase(canary), canary_weight(canary));
}

static void set_reason(struct admission_result *out, int status, const char *reason)
{
    out->status = status;
    out->outcome = ADMISSION_REJECTED;
    out->body = strdup(reason);
    out->len = out->body ? strlen(out->body) : 0;
}

void admission_handle(enum admission_endpoint ep, const char *body, size_t len, const struct policy_config *cfg,
                      const struct canary_lookup *lookup, struct admission_result *out)
{
    struct review rv;
    struct decision d;
    char err[256];
    int status;

    memset(out, 0, sizeof(*out));
    if ((status = review_decode(body, len, &rv, err, sizeof(err))) != 0) {
        set_reason(out, status, err);
        return;
    }
    decision_init(&d);
    admission_decide(ep, &rv.req, cfg, lookup, &d);
    out->outcome = outcome_of(&d);
    out->log = log_fields(&rv.req, &d, out->outcome);
    out->level = level_of(&d);
    notice_of(&rv.req, &d, &out->notice);
    /* The answer outlives the request's memory (the server hands it to libmicrohttpd to send and free). */
    if ((out->body = arena_export(review_encode(&rv, &d))) != NULL) {
        out->status = 200;
        out->len = strlen(out->body);
    } else {
        set_reason(out, 500, "out of memory while encoding the review");
    }
    decision_free(&d);
    review_free(&rv);
}

void admission_result_free(struct admission_result *out)
{
    free(out->body);
    cJSON_Delete(out->log);
    memset(out, 0, sizeof(*out));
}
