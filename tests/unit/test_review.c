/* The AdmissionReview codec and the decision constructors, against fixtures in tests/fixtures/reviews/. */
#include <openssl/evp.h>

#include "check.h"
#include "admission.h"
#include "review.h"
#include "utf8.h"

/* Decode a fixture; returns the status review_decode gave. */
static int decode_fixture(const char *rel, struct review *rv, char *err, size_t errlen)
{
    size_t len;
    char *body = fixture_text(rel, &len);
    int st = review_decode(body, len, rv, err, errlen);

    free(body);
    return st;
}

/* Encode d for rv and parse the result back. */
static cJSON *encode(const struct review *rv, const struct decision *d)
{
    char *s = review_encode(rv, d);
    cJSON *j = cJSON_Parse(s);

    free(s);
    return j;
}

static const cJSON *at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);

    return b ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

static void decode_reads_every_request_field(void)
{
    struct review rv;
    char err[256];

    CHECK_INT(decode_fixture("reviews/deployment-update.json", &rv, err, sizeof(err)), 0);
    CHECK_STR(rv.req.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
    CHECK_STR(rv.req.group, "apps");
    CHECK_STR(rv.req.version, "v1");
    CHECK_STR(rv.req.kind, "Deployment");
    CHECK_STR(rv.req.namespace_, "test");
    CHECK_STR(rv.req.name, "podinfo");
    CHECK_STR(rv.req.operation, "UPDATE");
    CHECK_STR(rv.req.username, "alice");
    CHECK_INT(cJSON_GetArraySize(rv.req.groups), 2);
    CHECK(rv.req.object != NULL && rv.req.old_object != NULL);
    CHECK_INT(rv.req.dry_run, 1);
    review_free(&rv);
}

static void decode_treats_null_and_absent_objects_alike(void)
{
    struct review rv;
    char err[256];

    CHECK_INT(decode_fixture("reviews/delete-null-object.json", &rv, err, sizeof(err)), 0);
    CHECK(rv.req.object == NULL);
    CHECK(rv.req.old_object != NULL);
    CHECK_STR(rv.req.group, "");
    review_free(&rv);
    CHECK_INT(decode_fixture("reviews/minimal.json", &rv, err, sizeof(err)), 0);
    CHECK(rv.req.object == NULL && rv.req.old_object == NULL);
    CHECK_STR(rv.req.kind, "");
    CHECK_STR(rv.req.operation, "");
    CHECK_INT(rv.req.dry_run, 0);
    review_free(&rv);
}

static void decode_tolerates_fields_of_the_wrong_type(void)
{
    struct review rv;
    char err[256];

    CHECK_INT(decode_fixture("reviews/wrong-types.json", &rv, err, sizeof(err)), 0);
    CHECK_STR(rv.req.kind, "");
    CHECK_STR(rv.req.namespace_, "");
    CHECK_STR(rv.req.operation, "");
    CHECK_STR(rv.req.username, "");
    CHECK(rv.req.groups == NULL && rv.req.object == NULL && rv.req.old_object == NULL);
    CHECK_INT(rv.req.dry_run, 0);
    review_free(&rv);
}

static void decode_rejects_what_cannot_form_a_review(void)
{
    static const struct { const char *body; const char *reason; } cases[] = {
        {"", "empty body"},
        {"{", "not valid JSON"},
        {"[]", "not a JSON object"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", "no request"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"\"}}", "uid"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Other\",\"request\":{\"uid\":\"u\"}}", "apiVersion/kind"},
    };
    struct review rv;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        CHECK_INT(review_decode(cases[i].body, strlen(cases[i].body), &rv, err, sizeof(err)), 400);
        CHECK(strstr(err, cases[i].reason) != NULL);
        CHECK(strchr(err, '\n') == NULL);
        CHECK(rv.root == NULL);
    }
    CHECK_INT(decode_fixture("reviews/v1beta1.json", &rv, err, sizeof(err)), 400);
    CHECK(strstr(err, "admission.k8s.io/v1beta1") != NULL);
    CHECK_INT(decode_fixture("reviews/no-uid.json", &rv, err, sizeof(err)), 400);
    CHECK(strstr(err, "request.uid") != NULL);
}

static void decode_marks_a_nul_in_any_string_as_lossy(void)
{
    static const char *const bodies[] = {
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\","
        "\"object\":{\"data\":{\"k\":\"a\\u0000hidden\"}}}}",
        "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\","
        "\"object\":{\"data\":{\"k\\u0000x\":\"a\"}}}}",
    };
    static const char *clean = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                               "\"request\":{\"uid\":\"u\",\"object\":{\"data\":{\"k\":\"a\\\\u0000\"}}}}";
    struct review rv;
    char err[256];
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        CHECK_INT(review_decode(bodies[i], strlen(bodies[i]), &rv, err, sizeof(err)), 0);
        CHECK_INT(rv.req.lossy, 1);
        review_free(&rv);
    }
    /* An escaped backslash followed by "u0000" is no NUL. */
    CHECK_INT(review_decode(clean, strlen(clean), &rv, err, sizeof(err)), 0);
    CHECK_INT(rv.req.lossy, 0);
    review_free(&rv);
}

/* An integer a double cannot hold exactly makes the request lossy too; the same digits in a string do not.
 * A long fraction is not: the API server sends it as Go's float64 printed, the double read here. */
static void decode_marks_an_inexact_number_as_lossy(void)
{
    static const struct { const char *value; int lossy; } cases[] = {
        {"9007199254740993", 1}, {"-9007199254740992", 1}, {"1e400", 1}, {"0.12345678901234567891", 0},
        {"9007199254740991", 0}, {"1", 0}, {"-0.5", 0}, {"\"9007199254740993\"", 0}, {"[1,2.5e3,-7]", 0},
    };
    struct review rv;
    char body[512], err[256];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body), "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                                     "\"request\":{\"uid\":\"u\",\"object\":{\"spec\":{\"v\":%s}}}}", cases[i].value);
        CHECK_INT(review_decode(body, strlen(body), &rv, err, sizeof(err)), 0);
        if (rv.req.lossy != cases[i].lossy)
            fprintf(stderr, "  case %s\n", cases[i].value);
        CHECK_INT(rv.req.lossy, cases[i].lossy);
        review_free(&rv);
    }
}

/* The reason quoting request text is the 400 body: well-formed UTF-8 even when the cut falls inside a
 * character or the text holds a byte that begins none. */
static void decode_reason_quotes_request_text_as_well_formed_utf8(void)
{
    char body[512], err[256], api[64];
    struct review rv;

    memset(api, 'a', 39);
    strcpy(api + 39, "\xe2\x82\xac\xff");
    snprintf(body, sizeof(body), "{\"apiVersion\":\"%s\",\"kind\":\"Review\xff\"}", api);
    CHECK_INT(review_decode(body, strlen(body), &rv, err, sizeof(err)), 400);
    CHECK(utf8_valid(err));
    CHECK(strstr(err, "\"Review\xef\xbf\xbd\"") != NULL);
    CHECK(strstr(err, "\xe2\x82") == NULL); /* the euro sign did not fit in 40 bytes: left out whole */
}

static void decode_refuses_a_body_with_too_many_values(void)
{
    static const char *head = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\","
                              "\"request\":{\"uid\":\"u\",\"object\":{\"a\":[0";
    size_t n = 600000, len = strlen(head) + 2 * n + 8, i;
    char *body = malloc(len), *p = body, err[256];
    struct review rv;

    p += sprintf(p, "%s", head);
    for (i = 0; i < n; i++) {
        *p++ = ',';
        *p++ = '0';
    }
    p += sprintf(p, "]}}}");
    CHECK_INT(review_decode(body, (size_t)(p - body), &rv, err, sizeof(err)), 413);
    CHECK(strstr(err, "JSON values") != NULL);
    CHECK(rv.root == NULL);
    free(body);
}

static void encode_allow_echoes_uid_apiversion_and_kind(void)
{
    struct review rv;
    struct decision d;
    char err[256];
    cJSON *out;

    CHECK_INT(decode_fixture("reviews/deployment-update.json", &rv, err, sizeof(err)), 0);
    decision_init(&d);
    out = encode(&rv, &d);
    CHECK_STR(cJSON_GetStringValue(at(out, "apiVersion", NULL)), "admission.k8s.io/v1");
    CHECK_STR(cJSON_GetStringValue(at(out, "kind", NULL)), "AdmissionReview");
    CHECK_STR(cJSON_GetStringValue(at(out, "response", "uid")), "705ab4f5-6393-11e8-b7cc-42010a800002");
    CHECK(cJSON_IsTrue(at(out, "response", "allowed")));
    CHECK(at(out, "response", "status") == NULL);
    CHECK(at(out, "response", "patch") == NULL && at(out, "response", "patchType") == NULL);
    CHECK(at(out, "response", "warnings") == NULL);
    cJSON_Delete(out);
    decision_free(&d);
    review_free(&rv);
}

static void encode_deny_carries_status_403_forbidden_and_warnings(void)
{
    struct review rv;
    struct decision d;
    char err[256];
    cJSON *out;
    const cJSON *status;

    CHECK_INT(decode_fixture("reviews/deployment-update.json", &rv, err, sizeof(err)), 0);
    decision_init(&d);
    decision_patch(&d, cJSON_Parse("[{\"op\":\"add\",\"path\":\"/x\",\"value\":1}]"));
    decision_warn(&d, "manual-gate: %s", "first");
    decision_deny(&d, "template-in-flight", "release %s is in flight", "test/podinfo");
    out = encode(&rv, &d);
    status = at(out, "response", "status");
    CHECK(cJSON_IsFalse(at(out, "response", "allowed")));
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(status, "code")), 403);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(status, "reason")), "Forbidden");
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(status, "message")), "release test/podinfo is in flight");
    CHECK(at(out, "response", "patch") == NULL); /* a denial never carries a patch */
    CHECK_INT(cJSON_GetArraySize(at(out, "response", "warnings")), 1);
    cJSON_Delete(out);
    decision_free(&d);
    review_free(&rv);
}

static void encode_error_uses_its_code_and_reason(void)
{
    struct review rv;
    struct decision d;
    char err[256];
    cJSON *out;

    CHECK_INT(decode_fixture("reviews/minimal.json", &rv, err, sizeof(err)), 0);
    decision_init(&d);
    decision_error(&d, 400, "object is not a Canary");
    out = encode(&rv, &d);
    CHECK_INT(cJSON_GetNumberValue(cJSON_GetObjectItem(at(out, "response", "status"), "code")), 400);
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(at(out, "response", "status"), "reason")), "BadRequest");
    cJSON_Delete(out);
    decision_free(&d);
    review_free(&rv);
}

static void encode_patch_is_base64_json_patch(void)
{
    static const char *ops = "[{\"op\":\"replace\",\"path\":\"/spec/skipAnalysis\",\"value\":false}]";
    struct review rv;
    struct decision d;
    char err[256];
    unsigned char decoded[256];
    const char *b64;
    cJSON *out, *got, *want;
    int n;

    CHECK_INT(decode_fixture("reviews/minimal.json", &rv, err, sizeof(err)), 0);
    decision_init(&d);
    decision_patch(&d, cJSON_Parse(ops));
    decision_audit(&d, "reason", "test");
    out = encode(&rv, &d);
    CHECK_STR(cJSON_GetStringValue(at(out, "response", "patchType")), "JSONPatch");
    b64 = cJSON_GetStringValue(at(out, "response", "patch"));
    CHECK(b64 != NULL);
    n = b64 ? EVP_DecodeBlock(decoded, (const unsigned char *)b64, (int)strlen(b64)) : -1;
    CHECK(n > 0);
    decoded[n > 0 ? n : 0] = '\0';
    got = cJSON_Parse((char *)decoded);
    want = cJSON_Parse(ops);
    CHECK(cJSON_Compare(got, want, 1));
    CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(at(out, "response", "auditAnnotations"), "reason")), "test");
    cJSON_Delete(got);
    cJSON_Delete(want);
    cJSON_Delete(out);
    decision_free(&d);
    review_free(&rv);
}

/* What the encoder wrote before it wrote straight into a buffer: a cJSON tree, printed. The answer must
 * stay the same bytes. */
static char *encode_by_tree(const struct review *rv, const struct decision *d)
{
    cJSON *root = cJSON_CreateObject(), *resp, *status;
    char *patch, *out;
    unsigned char patch64[4096];

    cJSON_AddStringToObject(root, "apiVersion", "admission.k8s.io/v1");
    cJSON_AddStringToObject(root, "kind", "AdmissionReview");
    resp = cJSON_AddObjectToObject(root, "response");
    cJSON_AddStringToObject(resp, "uid", rv->req.uid);
    cJSON_AddBoolToObject(resp, "allowed", d->allowed);
    if (!d->allowed) {
        status = cJSON_AddObjectToObject(resp, "status");
        cJSON_AddNumberToObject(status, "code", d->code ? d->code : 403);
        cJSON_AddStringToObject(status, "reason", d->code == 400 ? "BadRequest" : d->code == 500 ? "InternalError" : "Forbidden");
        cJSON_AddStringToObject(status, "message", d->message ? d->message : "denied");
    } else if (d->patch) {
        patch = cJSON_PrintUnformatted(d->patch);
        EVP_EncodeBlock(patch64, (const unsigned char *)patch, (int)strlen(patch));
        free(patch);
        cJSON_AddStringToObject(resp, "patchType", "JSONPatch");
        cJSON_AddStringToObject(resp, "patch", (char *)patch64);
    }
    if (d->warnings)
        cJSON_AddItemToObject(resp, "warnings", cJSON_Duplicate(d->warnings, 1));
    if (d->audit)
        cJSON_AddItemToObject(resp, "auditAnnotations", cJSON_Duplicate(d->audit, 1));
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* Every kind of answer, with text that needs escaping (quotes, backslashes, control bytes, non-ASCII, a
 * byte that begins no character): byte for byte what printing a cJSON tree gives. */
static void encode_writes_the_bytes_a_printed_tree_gives(void)
{
    static const char *const texts[] = {
        "plain", "", "quote \" backslash \\ slash /", "tab\t newline\n cr\r bs\b ff\f", "bell\x07 esc\x1b us\x1f del\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "bad \xff\xfe byte", "\\u0000 as text",
    };
    struct review rv;
    struct decision d;
    char err[256], *mine, *theirs;
    size_t i;
    int kind;

    CHECK_INT(decode_fixture("reviews/minimal.json", &rv, err, sizeof(err)), 0);
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        for (kind = 0; kind < 4; kind++) {
            decision_init(&d);
            rv.req.uid = texts[i];
            if (kind == 0) {
                decision_deny(&d, "template-in-flight", "denied: %s", texts[i]);
            } else if (kind == 1) {
                decision_error(&d, 400, "bad: %s", texts[i]);
            } else if (kind == 2) {
                decision_patch(&d, cJSON_Parse("[{\"op\":\"add\",\"path\":\"/x\",\"value\":\"a\\\"b\"}]"));
                decision_audit(&d, "manual-gate.io/override", texts[i]);
            }
            decision_warn(&d, "manual-gate: %s", "a warning");
            mine = review_encode(&rv, &d);
            theirs = encode_by_tree(&rv, &d);
            CHECK_STR(mine, theirs);
            free(mine);
            free(theirs);
            decision_free(&d);
        }
    }
    rv.req.uid = NULL;
    review_free(&rv);
}

static void empty_patch_is_no_patch(void)
{
    struct decision d;

    decision_init(&d);
    decision_patch(&d, cJSON_CreateArray());
    CHECK(d.patch == NULL);
    decision_free(&d);
}

static void warnings_are_printable_ascii_short_and_within_budget(void)
{
    struct decision d;
    char longtext[300];
    const cJSON *w;
    size_t total = 0;
    int i;

    decision_init(&d);
    memset(longtext, 'a', sizeof(longtext) - 1);
    longtext[sizeof(longtext) - 1] = '\0';
    decision_warn(&d, "line one\nline two\ttab \xc3\xa9");
    decision_warn(&d, "%s", longtext);
    decision_warn(&d, "%s", "");
    CHECK_INT(cJSON_GetArraySize(d.warnings), 2);
    CHECK_STR(cJSON_GetArrayItem(d.warnings, 0)->valuestring, "line one?line two?tab ??");
    CHECK_INT(strlen(cJSON_GetArrayItem(d.warnings, 1)->valuestring), DECISION_WARNING_MAX);
    for (i = 0; i < 100; i++)
        decision_warn(&d, "%s", longtext);
    cJSON_ArrayForEach(w, d.warnings)
        total += strlen(w->valuestring);
    CHECK(total <= DECISION_WARNINGS_BUDGET);
    CHECK(total > DECISION_WARNINGS_BUDGET - DECISION_WARNING_MAX);
    decision_free(&d);
}

static void policies_route_by_kind_and_never_patch_a_delete(void)
{
    struct review rv;
    struct decision d;
    struct policy_config cfg = {.loadtester_url = "http://loadtester.test"};
    char err[256];
    const char *body = "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\","
                       "\"kind\":{\"group\":\"flagger.app\",\"version\":\"v1beta1\",\"kind\":\"Canary\"},"
                       "\"operation\":\"DELETE\",\"oldObject\":{\"metadata\":{\"name\":\"c\",\"labels\":"
                       "{\"manual-gate.io/enabled\":\"true\"}},\"spec\":{\"analysis\":{\"interval\":\"1m\"}}}}}";

    CHECK_INT(review_decode(body, strlen(body), &rv, err, sizeof(err)), 0);
    decision_init(&d);
    admission_decide(ADMISSION_MUTATE, &rv.req, &cfg, NULL, &d);
    CHECK(d.allowed && d.patch == NULL);
    decision_free(&d);
    review_free(&rv);
}

TEST_MAIN("review",
          TEST(decode_reads_every_request_field),
          TEST(decode_treats_null_and_absent_objects_alike),
          TEST(decode_tolerates_fields_of_the_wrong_type),
          TEST(decode_rejects_what_cannot_form_a_review),
          TEST(decode_marks_a_nul_in_any_string_as_lossy),
          TEST(decode_marks_an_inexact_number_as_lossy),
          TEST(decode_reason_quotes_request_text_as_well_formed_utf8),
          TEST(decode_refuses_a_body_with_too_many_values),
          TEST(encode_allow_echoes_uid_apiversion_and_kind),
          TEST(encode_deny_carries_status_403_forbidden_and_warnings),
          TEST(encode_error_uses_its_code_and_reason),
          TEST(encode_patch_is_base64_json_patch),
          TEST(encode_writes_the_bytes_a_printed_tree_gives),
          TEST(empty_patch_is_no_patch),
          TEST(warnings_are_printable_ascii_short_and_within_budget),
          TEST(policies_route_by_kind_and_never_patch_a_delete))
