/*
 * The admission chain for one CREATE, in the API server's order: mutating webhook, patch, validating
 * webhook. The request is built as review.c decodes one, so the policies cannot tell the difference.
 */
#include "admit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "obj.h"
#include "patch.h"

/* Offline there is no release in flight: every lookup answers "synced, no Canary matches". */
static int no_canary_by_target(void *ctx, const char *ns, const char *kind, const char *name, struct canary_info *out)
{
    (void)ctx, (void)ns, (void)kind, (void)name, (void)out;
    return CANARY_LOOKUP_NONE;
}

static int no_canary_by_config(void *ctx, const char *ns, const char *ref, struct canary_info *out)
{
    (void)ctx, (void)ns, (void)ref, (void)out;
    return CANARY_LOOKUP_NONE;
}

static int no_releases(void *ctx, const char *ns, struct canary_info *out, int max)
{
    (void)ctx, (void)ns, (void)out, (void)max;
    return 0;
}

/* The request the API server would send for a CREATE of obj; group and version are cut from
 * apiVersion into the caller's buffer. */
static struct admission_request create_request(const cJSON *obj, char *api, size_t apilen)
{
    struct admission_request r;
    char *slash;

    memset(&r, 0, sizeof(r));
    snprintf(api, apilen, "%s", obj_string_or(obj, "apiVersion", ""));
    slash = strchr(api, '/');
    if (slash) {
        *slash = '\0';
        r.group = api;
        r.version = slash + 1;
    } else {
        r.group = "";
        r.version = api;
    }
    r.uid = "offline";
    r.kind = obj_string_or(obj, "kind", "");
    r.namespace_ = obj_namespace(obj);
    r.name = obj_name(obj);
    r.operation = "CREATE";
    r.op = ADMISSION_OP_CREATE;
    r.username = "";
    r.object = obj;
    return r;
}

/* Move d's warnings to the end of *all. */
static void take_warnings(cJSON **all, struct decision *d)
{
    cJSON *w;

    if (!d->warnings)
        return;
    if (!*all) {
        *all = d->warnings;
    } else {
        while ((w = cJSON_DetachItemFromArray(d->warnings, 0)) != NULL)
            cJSON_AddItemToArray(*all, w);
        cJSON_Delete(d->warnings);
    }
    d->warnings = NULL;
}

static void deny(struct admit_result *r, struct decision *d)
{
    r->allowed = 0;
    r->message = d->message ? d->message : strdup("denied");
    d->message = NULL;
    cJSON_Delete(r->object);
    r->object = NULL;
}

int admit_create(const cJSON *obj, const struct policy_config *cfg, struct admit_result *r)
{
    static const struct canary_lookup none = {NULL, no_canary_by_target, no_canary_by_config, no_releases};
    struct admission_request req;
    struct decision d;
    char api[256], err[256];
    int rc = 0;

    memset(r, 0, sizeof(*r));
    decision_init(&d);
    if (!(r->object = cJSON_Duplicate(obj, 1))) {
        r->message = strdup("out of memory");
        return -1;
    }
    req = create_request(obj, api, sizeof(api));
    admission_decide(ADMISSION_MUTATE, &req, cfg, &none, &d);
    take_warnings(&r->warnings, &d);
    if (!d.allowed) {
        deny(r, &d);
        goto done;
    }
    if (d.patch && patch_apply(r->object, d.patch, err, sizeof(err)) < 0) {
        if (asprintf(&r->message, "the mutating policy's patch does not apply: %s", err) < 0)
            r->message = NULL;
        rc = -1;
        goto done;
    }
    r->patch = d.patch;
    d.patch = NULL;
    decision_free(&d);
    req.object = r->object;
    admission_decide(ADMISSION_VALIDATE, &req, cfg, &none, &d);
    take_warnings(&r->warnings, &d);
    if (!d.allowed)
        deny(r, &d);
    else
        r->allowed = 1;
done:
    decision_free(&d);
    return rc;
}

void admit_result_free(struct admit_result *r)
{
    free(r->message);
    cJSON_Delete(r->object);
    cJSON_Delete(r->patch);
    cJSON_Delete(r->warnings);
    memset(r, 0, sizeof(*r));
}
