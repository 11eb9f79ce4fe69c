/*
 * Decision constructors. A denial drops any patch (the API server ignores a patch on a denial, and a
 * half-built patch must never be sent), and a warning is made fit for kubectl before it is kept.
 */
#include "decision.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    d->rule = NULL;
    d->overridden = 0;
    free(d->message);
    d->message = NULL;
}

void decision_override(struct decision *d, const char *rule, const char *user, const char *reason)
{
    decision_allow(d);
    d->rule = rule;
    d->overridden = 1;
    decision_audit(d, DECISION_AUDIT_OVERRIDE_REASON, reason);
    decision_audit(d, DECISION_AUDIT_OVERRIDE_USER, user);
}

void decision_release_set(struct decision_release *r, const char *ns, const char *name, const char *uid,
                          const char *phase, int weight)
{
    r->set = 1;
    snprintf(r->namespace_, sizeof(r->namespace_), "%s", ns ? ns : "");
    snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
    snprintf(r->uid, sizeof(r->uid), "%s", uid ? uid : "");
    snprintf(r->phase, sizeof(r->phase), "%s", phase ? phase : "");
    r->weight = weight;
}

static void decision_vfail(struct decision *d, int code, const char *fmt, va_list ap)
{
    char *msg = NULL;

    d->allowed = 0;
    d->code = code;
    d->overridden = 0;
    cJSON_Delete(d->patch);
    d->patch = NULL;
    free(d->message);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    d->message = msg ? msg : strdup("denied (out of memory while formatting the reason)");
}

void decision_deny(struct decision *d, const char *rule, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    decision_vfail(d, 403, fmt, ap);
    va_end(ap);
    d->rule = rule;
}

void decision_error(struct decision *d, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    decision_vfail(d, code, fmt, ap);
    va_end(ap);
    d->rule = NULL;
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
