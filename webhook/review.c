/*
 * AdmissionReview decode/encode. The API server treats any answer that is not an admission.k8s.io/v1
 * AdmissionReview with the request's uid as a failed call, so encoding is done here only, from a
 * struct decision, for every path.
 */
#include "review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "arena.h"
#include "buf.h"
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

/* The most an answer may take. It is made from a body of at most 6 MiB: a patch of it printed with every
 * byte escaped (6 bytes for "\u00XX"), in base64 (4/3 of that), is under 50 MiB; the buffer only bounds
 * what a bug could do. */
#define REVIEW_ANSWER_MAX ((size_t)64 << 20)

/* s as a JSON string, escaped as cJSON escapes: the quote, the backslash and control bytes; every other
 * byte as it is. 0, or -1 when out of memory or over the limit. */
static int put_string(struct buf *b, const char *s)
{
    static const char short_escape[32] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
    const char *run = s;
    char esc[7];
    int rc = buf_append(b, "\"", 1);

    for (; rc == 0 && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rc = buf_append(b, run, (size_t)(s - run));
        if (c < 0x20 && !short_escape[c])
            snprintf(esc, sizeof(esc), "\\u%04x", c);
        else
            snprintf(esc, sizeof(esc), "\\%c", c < 0x20 ? short_escape[c] : (char)c);
        rc = rc ? rc : buf_append(b, esc, strlen(esc));
        run = s + 1;
    }
    rc = rc ? rc : buf_append(b, run, (size_t)(s - run));
    return rc ? rc : buf_append(b, "\"", 1);
}

/* ,"key": and a string value. */
static int put_member(struct buf *b, const char *key, const char *value)
{
    int rc = buf_append(b, ",\"", 2);

    rc = rc ? rc : buf_append(b, key, strlen(key));
    rc = rc ? rc : buf_append(b, "\":", 2);
    return rc ? rc : put_string(b, value);
}

/* ,"key": and v printed by cJSON (the patch, warnings and audit annotations: not on the denying path). */
static int put_tree(struct buf *b, const char *key, const cJSON *v)
{
    char *text = cJSON_PrintUnformatted(v);
    int rc = text ? buf_printf(b, ",\"%s\":%s", key, text) : -1;

    cJSON_free(text);
    return rc;
}

/* "status":{...} of a denial: code, reason, message. */
static int put_status(struct buf *b, const struct decision *d)
{
    int code = d->code ? d->code : 403;
    int rc = buf_printf(b, ",\"status\":{\"code\":%d", code);

    rc = rc ? rc : put_member(b, "reason", status_reason(d->code));
    rc = rc ? rc : put_member(b, "message", d->message ? d->message : "denied");
    return rc ? rc : buf_append(b, "}", 1);
}

/* "patchType" and "patch": the JSON Patch in base64. */
static int put_patch(struct buf *b, const cJSON *patch)
{
    char *text = cJSON_PrintUnformatted(patch), *text64 = text ? base64(text) : NULL;
    int rc = text64 ? put_member(b, "patchType", "JSONPatch") : -1;

    rc = rc ? rc : put_member(b, "patch", text64);
    cJSON_free(text);
    free(text64);
    return rc;
}

/* Written straight into one buffer, in the order the fields always had: no tree built to be printed. */
char *review_encode(const struct review *r, const struct decision *d)
{
    static const char head[] =
        "{\"apiVersion\":\"" REVIEW_API_VERSION "\",\"kind\":\"" REVIEW_KIND "\",\"response\":{\"uid\":";
    struct buf b = BUF_INIT(REVIEW_ANSWER_MAX);
    int rc;

    b.wipe = 1; /* a Secret's review: no copy of its answer is left in freed memory as the buffer grows */
    rc = buf_append(&b, head, sizeof(head) - 1);

    rc = rc ? rc : put_string(&b, r->req.uid);
    rc = rc ? rc : buf_printf(&b, ",\"allowed\":%s", d->allowed ? "true" : "false");
    if (!d->allowed)
        rc = rc ? rc : put_status(&b, d);
    else if (d->patch)
        rc = rc ? rc : put_patch(&b, d->patch);
    if (d->warnings)
        rc = rc ? rc : put_tree(&b, "warnings", d->warnings);
    if (d->audit)
        rc = rc ? rc : put_tree(&b, "auditAnnotations", d->audit);
    rc = rc ? rc : buf_append(&b, "}}", 2);
    if (rc) {
        buf_free(&b);
        return NULL;
    }
    return buf_detach(&b);
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
