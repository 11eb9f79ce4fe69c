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

/* One pass before the parser: count the values the parse would create (commas and openings outside
 * strings), and notice a NUL in a string (escaped or raw), where cJSON's C strings end early. */
static size_t scan_body(const char *s, size_t n, int *nul)
{
    size_t values = 1, i;
    int in_string = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c == '\0') {
            *nul = 1;
        } else if (in_string) {
            if (c == '\\') {
                if (n - i > 5 && memcmp(s + i + 1, "u0000", 5) == 0)
                    *nul = 1;
                i++;
            } else if (c == '"') {
                in_string = 0;
            }
        } else if (c == '"') {
            in_string = 1;
        } else if (c == ',' || c == '[' || c == '{') {
            values++;
        }
    }
    return values;
}

/* At least as many as the values scan_body counts: every comma and opening, in strings too. One
 * branch-free pass the compiler vectorises, several times cheaper than scan_body. */
static size_t values_at_most(const char *s, size_t n)
{
    size_t values = 1, i = 0, j;
    unsigned char c;

    /* Blocks of a fixed 64 bytes (a byte counter cannot overflow in one): the form GCC vectorises at -O2. */
    for (; n - i >= 64; i += 64) {
        c = 0;
        for (j = 0; j < 64; j++)
            c += (unsigned char)((s[i + j] == ',') | (s[i + j] == '[') | (s[i + j] == '{'));
        values += c;
    }
    for (; i < n; i++)
        values += (s[i] == ',') | (s[i] == '[') | (s[i] == '{');
    return values;
}

/* 1 when a string of the body may hold a NUL: a raw one, or an escaped one ("\u0000" not preceded by
 * another backslash's escape, which only the full scan tells apart; it runs only then). */
static int may_hold_nul(const char *s, size_t n)
{
    const char *p = s, *end = s + n;
    int nul = 0;

    if (memchr(s, '\0', n))
        return 1;
    while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL && (end - p < 6 || memcmp(p + 1, "u0000", 5) != 0))
        p += 2 <= end - p ? 2 : 1;
    if (!p)
        return 0;
    scan_body(s, n, &nul);
    return nul;
}

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
    int nul = 0, scanned = 0;

    memset(out, 0, sizeof(*out));
    if (len == 0) {
        snprintf(err, errlen, "empty body: expected an admission.k8s.io/v1 AdmissionReview");
        return 400;
    }
    /* A body of fewer bytes than the limit cannot hold more values, nor one with fewer commas and
     * openings: the exact count runs only when both fail. The NUL check is memchr, not a pass. */
    if (len >= REVIEW_MAX_VALUES && values_at_most(body, len) > REVIEW_MAX_VALUES) {
        scanned = 1;
        if (scan_body(body, len, &nul) > REVIEW_MAX_VALUES) {
            snprintf(err, errlen, "body holds more than %d JSON values", REVIEW_MAX_VALUES);
            return 413;
        }
    }
    if (!scanned)
        nul = may_hold_nul(body, len);
    if (!(out->root = cJSON_ParseWithLength(body, len))) {
        snprintf(err, errlen, "body is not valid JSON");
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
    fill_request(request, uid, nul || !json_numbers_exact(out->root), &out->req);
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
