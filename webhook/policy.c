/*
 * Decision constructors and the routing of a request to its policy. Every path that answers a
 * review builds its answer with these few functions, so the uid echo, the patch type and the
 * warning rules live in one place (review.c encodes the result).
 */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mutate_canary.h"
#include "validate_canary.h"
#include "validate_config.h"
#include "validate_target.h"

void decision_init(struct decision *d)
{
    memset(d, 0, sizeof(*d));
    d->allowed = 1;
}

void decision_free(struct decision *d)
{
    free(d->message);
    cJSON_Delete(d->patch);
    cJSON_Delete(d->warnings);
    cJSON_Delete(d->audit);
    decision_init(d);
}

void decision_allow(struct decision *d)
{
    d->allowed = 1;
    d->code = 0;
    free(d->message);
    d->message = NULL;
}

static void decision_vfail(struct decision *d, int code, const char *fmt, va_list ap)
{
    char *msg = NULL;

    d->allowed = 0;
    d->code = code;
    cJSON_Delete(d->patch);
    d->patch = NULL;
    free(d->message);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    d->message = msg ? msg : strdup("denied (out of memory while formatting the reason)");
}

void decision_deny(struct decision *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    decision_vfail(d, 403, fmt, ap);
    va_end(ap);
}

void decision_error(struct decision *d, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    decision_vfail(d, code, fmt, ap);
    va_end(ap);
}

void decision_patch(struct decision *d, cJSON *ops)
{
    cJSON_Delete(d->patch);
    d->patch = NULL;
    if (ops && cJSON_GetArraySize(ops) > 0)
        d->patch = ops;
    else
        cJSON_Delete(ops);
}

/* The API server silently drops a warning with a control character or invalid UTF-8, or longer than
 * 120 characters, so each is made printable ASCII and cut here rather than lost there. */
void decision_warn(struct decision *d, const char *fmt, ...)
{
    char buf[DECISION_WARNING_MAX + 1];
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (n = 0; buf[n]; n++)
        if ((unsigned char)buf[n] < 0x20 || (unsigned char)buf[n] > 0x7e)
            buf[n] = '?';
    if (n == 0 || d->warn_used + n > DECISION_WARNINGS_BUDGET)
        return;
    if (!d->warnings && !(d->warnings = cJSON_CreateArray()))
        return;
    if (cJSON_AddItemToArray(d->warnings, cJSON_CreateString(buf)))
        d->warn_used += n;
}

void decision_audit(struct decision *d, const char *key, const char *value)
{
    if (!d->audit && !(d->audit = cJSON_CreateObject()))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(d->audit, key);
    cJSON_AddStringToObject(d->audit, key, value);
}

static int is_kind(const struct admission_request *req, const char *group, const char *kind)
{
    return strcmp(req->group, group) == 0 && strcmp(req->kind, kind) == 0;
}

void policy_mutate(const struct admission_request *req, const struct policy_config *cfg, struct decision *d)
{
    /* A patch on DELETE is a 500 for the user (DESIGN.md section 4): never mutate one. */
    if (is_kind(req, "flagger.app", "Canary") && strcmp(req->operation, "DELETE") != 0)
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
