/*
 * AdmissionReview decode/encode. The API server treats any answer that is not an admission.k8s.io/v1
 * AdmissionReview with the request's uid as a failed call, so encoding is done here only, from a
 * struct decision, for every path.
 */
#include "review.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "arena.h"
#include "json.h"
#include "jsonparse.h"
#include "obj.h"
#include "utf8.h"

#define REVIEW_API_VERSION "admission.k8s.io/v1"
#define REVIEW_KIND "AdmissionReview"

/* An absent object and a JSON null are the same to the API server: both mean "no object". */
static const cJSON *object_or_null(const cJSON *obj, const char *key)
{
    const cJSON *v = obj_get(obj, key);

    return cJSON_IsObject(v) ? v : NULL;
}

/* Most JSON values a body may hold. The parsed tree costs about 80 bytes a value, so the byte limit
 * alone would let a 6 MiB body of "[0,0,0,...]" grow to 250 MB; a 3 MiB Deployment UPDATE holds about
 * 100,000 values. 500,000 bounds one parse to about 40 MB. */
#define REVIEW_MAX_VALUES 500000

/* ---- decoding ---- */

enum admission_op admission_op_of(const char *s)
{
    static const struct { const char *name; enum admission_op op; } ops[] = {
        {"CREATE", ADMISSION_OP_CREATE}, {"UPDATE", ADMISSION_OP_UPDATE}, {"DELETE", ADMISSION_OP_DELETE}, {"CONNECT", ADMISSION_OP_CONNECT},
    };
    size_t i;

    for (i = 0; s && i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(s, ops[i].name) == 0)
            return ops[i].op;
    return ADMISSION_OP_OTHER;
}

/* The request fields the policies read, pointing into the parsed review. */
static void fill_request(const cJSON *request, const cJSON *uid, int lossy, struct admission_request *req)
{
    const cJSON *kind = obj_get(request, "kind"), *user = obj_get(request, "userInfo");
    const cJSON *groups = obj_get(user, "groups");

    req->uid = uid->valuestring;
    req->group = obj_string_or(kind, "group", "");
    req->version = obj_string_or(kind, "version", "");
    req->kind = obj_string_or(kind, "kind", "");
    req->namespace_ = obj_string_or(request, "namespace", "");
    req->name = obj_string_or(request, "name", "");
    req->operation = obj_string_or(request, "operation", "");
    req->op = admission_op_of(req->operation);
    req->username = obj_string_or(user, "username", "");
    req->groups = cJSON_IsArray(groups) ? groups : NULL;
    req->object = object_or_null(request, "object");
    req->old_object = object_or_null(request, "oldObject");
    req->dry_run = cJSON_IsTrue(obj_get(request, "dryRun"));
    req->lossy = lossy;
}

int review_decode(const char *body, size_t len, struct review *out, char *err, size_t errlen)
{
    const char *api, *kind;
    const cJSON *request, *uid;
    char api_text[41], kind_text[41];
    struct json_parse_status st;

    memset(out, 0, sizeof(*out));
    if (len == 0) {
        snprintf(err, errlen, "empty body: expected an admission.k8s.io/v1 AdmissionReview");
        return 400;
    }
    if (!(out->root = json_parse(body, len, REVIEW_MAX_VALUES, &st))) {
        if (st.error == JSON_PARSE_TOO_MANY) {
            snprintf(err, errlen, "body holds more than %d JSON values", REVIEW_MAX_VALUES);
            return 413;
        }
        if (st.error == JSON_PARSE_NOMEM) {
            snprintf(err, errlen, "out of memory while parsing the body");
            return 500;
        }
        snprintf(err, errlen, "body is %s (at byte %zu)", json_parse_error_text(st.error), st.offset);
        goto fail;
    }
    if (!cJSON_IsObject(out->root)) {
        snprintf(err, errlen, "body is not a JSON object");
        goto fail;
    }
    api = obj_string_or(out->root, "apiVersion", "");
    kind = obj_string_or(out->root, "kind", "");
    if (strcmp(api, REVIEW_API_VERSION) != 0 || strcmp(kind, REVIEW_KIND) != 0) {
        /* The reason is the 400 body and a log field: quoted request text stays well-formed UTF-8. */
        utf8_sanitize(api_text, sizeof(api_text), api, NULL);
        utf8_sanitize(kind_text, sizeof(kind_text), kind, NULL);
        snprintf(err, errlen, "unsupported apiVersion/kind \"%s\"/\"%s\": expected %s %s", api_text, kind_text,
                 REVIEW_API_VERSION, REVIEW_KIND);
        goto fail;
    }
    if (!cJSON_IsObject(request = obj_get(out->root, "request"))) {
        snprintf(err, errlen, "review has no request object");
        goto fail;
    }
    uid = obj_get(request, "uid");
    if (!cJSON_IsString(uid) || uid->valuestring[0] == '\0') {
        snprintf(err, errlen, "review has no request.uid");
        goto fail;
    }
    fill_request(request, uid, st.lossy, &out->req);
    /* Its data is in the request's memory now, and in copies the encoder may make: wiped at its end. */
    if (strcmp(out->req.kind, "Secret") == 0)
        arena_mark_secret();
    return 0;

fail:
    review_free(out);
    return 400;
}

static const char *status_reason(int code)
{
    switch (code) {
    case 400: return "BadRequest";
    case 403: return "Forbidden";
    case 500: return "InternalError";
    default: return "Forbidden";
    }
}

static char *base64(const char *s)
{
    size_t n = strlen(s);
    unsigned char *out = malloc(4 * ((n + 2) / 3) + 1);

    if (out)
        EVP_EncodeBlock(out, (const unsigned char *)s, (int)n);
    return (char *)out;
}

char *review_encode(const struct review *r, const struct decision *d)
{
    cJSON *root = cJSON_CreateObject(), *resp, *status;
    char *patch = NULL, *patch64 = NULL, *out = NULL;

    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "apiVersion", REVIEW_API_VERSION);
    cJSON_AddStringToObject(root, "kind", REVIEW_KIND);
    resp = cJSON_AddObjectToObject(root, "response");
    if (!resp)
        goto done;
    cJSON_AddStringToObject(resp, "uid", r->req.uid);
    cJSON_AddBoolToObject(resp, "allowed", d->allowed);
    if (!d->allowed) {
        status = cJSON_AddObjectToObject(resp, "status");
        if (!status)
            goto done;
        cJSON_AddNumberToObject(status, "code", d->code ? d->code : 403);
        cJSON_AddStringToObject(status, "reason", status_reason(d->code));
        cJSON_AddStringToObject(status, "message", d->message ? d->message : "denied");
    } else if (d->patch) {
        patch = cJSON_PrintUnformatted(d->patch);
        patch64 = patch ? base64(patch) : NULL;
        if (!patch64)
            goto done;
        cJSON_AddStringToObject(resp, "patchType", "JSONPatch");
        cJSON_AddStringToObject(resp, "patch", patch64);
    }
    if (d->warnings)
        cJSON_AddItemToObject(resp, "warnings", cJSON_Duplicate(d->warnings, 1));
    if (d->audit)
        cJSON_AddItemToObject(resp, "auditAnnotations", cJSON_Duplicate(d->audit, 1));
    out = cJSON_PrintUnformatted(root);
done:
    cJSON_free(patch);
    free(patch64);
    cJSON_Delete(root);
    return out;
}

/* Overwrite every string of a tree before it is freed. */
static void wipe_strings(cJSON *node)
{
    for (; node; node = node->next) {
        if (cJSON_IsString(node) && node->valuestring)
            explicit_bzero(node->valuestring, strlen(node->valuestring));
        wipe_strings(node->child);
    }
}

void review_free(struct review *r)
{
    /* A Secret review carries its contents: clear them rather than leave them in freed heap memory. */
    if (r->root && strcmp(r->req.kind ? r->req.kind : "", "Secret") == 0)
        wipe_strings(r->root);
    /* A tree in the request's arena goes with it: no walk freeing node by node. */
    if (!arena_owns(r->root))
        cJSON_Delete(r->root);
    memset(r, 0, sizeof(*r));
}
