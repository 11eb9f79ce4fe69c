/*
 * The routing of a request to its policy, by kind and operation.
 */
#include "policy.h"

#include <string.h>

#include "mutate_canary.h"
#include "validate_canary.h"
#include "validate_config.h"
#include "validate_target.h"

enum admission_op admission_op_of(const char *s)
{
    static const struct { const char *name; enum admission_op op; } ops[] = {
        {"CREATE", OP_CREATE}, {"UPDATE", OP_UPDATE}, {"DELETE", OP_DELETE}, {"CONNECT", OP_CONNECT},
    };
    size_t i;

    for (i = 0; s && i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(s, ops[i].name) == 0)
            return ops[i].op;
    return OP_OTHER;
}

static int is_kind(const struct admission_request *req, const char *group, const char *kind)
{
    return strcmp(req->group, group) == 0 && strcmp(req->kind, kind) == 0;
}

void policy_mutate(const struct admission_request *req, const struct policy_config *cfg, struct decision *d)
{
    /* A patch on DELETE is a 500 for the user (DESIGN.md section 4): never mutate one. */
    if (is_kind(req, "flagger.app", "Canary") && req->op != OP_DELETE)
        mutate_canary(req, cfg, d);
}

void policy_validate(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d)
{
    if (is_kind(req, "apps", "Deployment") || is_kind(req, "apps", "DaemonSet"))
        validate_target(req, cfg, lookup, d);
    else if (is_kind(req, "flagger.app", "Canary"))
        validate_canary(req, cfg, lookup, d);
    else if (is_kind(req, "", "ConfigMap") || is_kind(req, "", "Secret"))
        validate_config(req, cfg, lookup, d);
}
