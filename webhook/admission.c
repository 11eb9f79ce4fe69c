/*
 * The admission pipeline (see admission.h). Adding a kind or a policy is one row of the routing table
 * and one file.
 */
#include "admission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mutate_canary.h"
#include "review.h"
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

/* The log line's fields for an answered review. Denial messages are built by the policies from names
 * only, never from object contents, so they may be logged. */
static cJSON *log_fields(const struct admission_request *req, const struct decision *d, enum admission_outcome o)
{
    cJSON *f = cJSON_CreateObject();

    if (!f)
        return NULL;
    cJSON_AddStringToObject(f, "uid", req->uid);
    cJSON_AddStringToObject(f, "kind", req->kind);
    cJSON_AddStringToObject(f, "namespace", req->namespace_);
    cJSON_AddStringToObject(f, "name", req->name);
    cJSON_AddStringToObject(f, "operation", req->operation);
    cJSON_AddStringToObject(f, "user", req->username);
    cJSON_AddBoolToObject(f, "dryRun", req->dry_run);
    cJSON_AddStringToObject(f, "decision", admission_outcome_name(o));
    if (!d->allowed) {
        cJSON_AddNumberToObject(f, "code", d->code);
        cJSON_AddStringToObject(f, "message", d->message ? d->message : "");
    }
    if (d->patch)
        cJSON_AddNumberToObject(f, "patchOps", cJSON_GetArraySize(d->patch));
    if (d->warnings)
        cJSON_AddNumberToObject(f, "warnings", cJSON_GetArraySize(d->warnings));
    return f;
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
    if ((out->body = review_encode(&rv, &d)) != NULL) {
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
