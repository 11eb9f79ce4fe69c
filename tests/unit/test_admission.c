/*
 * The admission pipeline without a server: a body in, a review (or a reason) out, with the outcome the
 * server counts and the fields it logs; the routing table by kind, operation and endpoint.
 */
#include "check.h"
#include "admission.h"
#include "fake_lookup.h"
#include "log.h"

static cJSON *body_of(const struct admission_result *r)
{
    return r->body ? cJSON_ParseWithLength(r->body, r->len) : NULL;
}

static const char *response_string(const cJSON *review, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(review, "response"), key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A review body around request fields given as JSON text. */
static char *review_text(const char *kind_json, const char *op, const char *object, const char *old)
{
    char *s = NULL;

    if (asprintf(&s, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u-1\","
                     "\"kind\":%s,\"namespace\":\"test\",\"name\":\"podinfo\",\"operation\":\"%s\","
                     "\"userInfo\":{\"username\":\"alice\"},\"object\":%s,\"oldObject\":%s}}",
                 kind_json, op, object ? object : "null", old ? old : "null") < 0)
        return NULL;
    return s;
}

static void admission_denies_a_deployment_review_and_says_what_to_log(void)
{
    struct world w;
    struct canary_lookup l;
    struct admission_result r;
    char *old, *new, *body;
    cJSON *review;

    world_init(&w, "validate/deployment.json");
    fake_put(w.new_obj, "spec/template/spec/containers/0", "image", cJSON_CreateString("podinfo:6.5.1"));
    old = cJSON_PrintUnformatted(w.old_obj);
    new = cJSON_PrintUnformatted(w.new_obj);
    body = review_text("{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"}", "UPDATE", new, old);
    l = fake_lookup_of(&w.fake);
    admission_handle(ADMISSION_VALIDATE, body, strlen(body), &w.cfg, &l, &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.outcome, ADMISSION_DENIED);
    review = body_of(&r);
    CHECK_STR(response_string(review, "uid"), "u-1");
    CHECK_STR(obj_string(r.log, "uid"), "u-1");
    CHECK_STR(obj_string(r.log, "kind"), "Deployment");
    CHECK_STR(obj_string(r.log, "decision"), "denied");
    CHECK(obj_string(r.log, "message") && strstr(obj_string(r.log, "message"), "restart the analysis"));
    cJSON_Delete(review);
    admission_result_free(&r);
    CHECK(r.body == NULL && r.log == NULL);
    free(old);
    free(new);
    free(body);
    world_free(&w);
}

/* s with its one "marker" replaced by with; the caller frees it. */
static char *replace_text(const char *s, const char *marker, const char *with)
{
    const char *at = strstr(s, marker);
    char *out = NULL;

    if (!at || asprintf(&out, "%.*s%s%s", (int)(at - s), s, with, at + strlen(marker)) < 0)
        return NULL;
    return out;
}

/* The decision on a Deployment UPDATE, while its release is in flight, that takes runAsUser from old to
 * new (as the API server writes them: number text a double may not hold exactly). */
static enum admission_outcome run_as_user_change(const char *old_text, const char *new_text)
{
    struct world w;
    struct canary_lookup l;
    struct admission_result r;
    char *old, *new, *body, *body2, *body3;
    enum admission_outcome o;

    world_init(&w, "validate/deployment.json");
    fake_put(w.old_obj, "spec/template/spec", "securityContext", cJSON_Parse("{\"runAsUser\":111111}"));
    fake_put(w.new_obj, "spec/template/spec", "securityContext", cJSON_Parse("{\"runAsUser\":222222}"));
    old = cJSON_PrintUnformatted(w.old_obj);
    new = cJSON_PrintUnformatted(w.new_obj);
    body = review_text("{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"}", "UPDATE", new, old);
    body2 = replace_text(body, "222222", new_text);
    body3 = body2 ? replace_text(body2, "111111", old_text) : NULL;
    l = fake_lookup_of(&w.fake);
    admission_handle(ADMISSION_VALIDATE, body3, body3 ? strlen(body3) : 0, &w.cfg, &l, &r);
    CHECK_INT(r.status, 200);
    o = r.outcome;
    admission_result_free(&r);
    free(old);
    free(new);
    free(body);
    free(body2);
    free(body3);
    world_free(&w);
    return o;
}

/* 2^53 and 2^53+1 are one double but two int64s to Go: the change must still count (fail closed). Equal numbers a double
 * holds exactly stay unchanged. */
static void admission_counts_numbers_a_double_cannot_hold_as_changed(void)
{
    CHECK_INT(run_as_user_change("9007199254740992", "9007199254740993"), ADMISSION_DENIED);
    CHECK_INT(run_as_user_change("9007199254740993", "9007199254740993"), ADMISSION_DENIED);
    /* Go reads both as one float64 too, and the API server sends it printed in its shortest form. */
    CHECK_INT(run_as_user_change("0.12345678901234567891", "0.12345678901234567892"), ADMISSION_ALLOWED);
    CHECK_INT(run_as_user_change("1", "1"), ADMISSION_ALLOWED);
    CHECK_INT(run_as_user_change("9007199254740991", "9007199254740991"), ADMISSION_ALLOWED);
    CHECK_INT(run_as_user_change("1000", "1001"), ADMISSION_DENIED);
}

/* What the request says goes into the log bounded and well-formed: a 5 MB uid, a raw 0xFF in a name. */
static void admission_log_fields_are_bounded_and_well_formed(void)
{
    size_t big = 5u << 20;
    char *uid = malloc(big + 1), *body = NULL;
    struct admission_result r;
    const char *v;

    memset(uid, 'u', big);
    uid[big] = '\0';
    CHECK(asprintf(&body, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
                          "{\"uid\":\"%s\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"ConfigMap\"},"
                          "\"namespace\":\"test\",\"name\":\"cm\xff\",\"operation\":\"CREATE\","
                          "\"userInfo\":{\"username\":\"alice\"},\"object\":{}}}", uid) > 0);
    admission_handle(ADMISSION_VALIDATE, body, strlen(body), NULL, NULL, &r);
    CHECK_INT(r.status, 200);
    v = obj_string(r.log, "uid");
    CHECK(v && strlen(v) == LOG_FIELD_MAX + strlen(LOG_CUT_MARK));
    CHECK_STR(obj_string(r.log, "name"), "cm\xef\xbf\xbd");
    admission_result_free(&r);
    free(body);
    free(uid);
}

static void admission_patches_a_gated_canary_only_on_the_mutating_endpoint(void)
{
    cJSON *c = fixture_json("mutate/cases/empty_list.json");
    char *canary = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "canary"));
    char *body = review_text("{\"group\":\"flagger.app\",\"version\":\"v1beta1\",\"kind\":\"Canary\"}", "CREATE", canary,
                             NULL);
    struct policy_config cfg = {.loadtester_url = "http://flagger-loadtester.test"};
    struct fake_lookup none = {{NULL}, 0, 0};
    struct canary_lookup l = fake_lookup_of(&none);
    struct admission_result r;
    cJSON *review;

    admission_handle(ADMISSION_MUTATE, body, strlen(body), &cfg, &l, &r);
    CHECK_INT(r.outcome, ADMISSION_PATCHED);
    review = body_of(&r);
    CHECK_STR(response_string(review, "patchType"), "JSONPatch");
    cJSON_Delete(review);
    admission_result_free(&r);
    /* The validating endpoint judges the incomplete Canary, and never patches. */
    admission_handle(ADMISSION_VALIDATE, body, strlen(body), &cfg, &l, &r);
    CHECK(r.outcome != ADMISSION_PATCHED);
    CHECK(r.body && !strstr(r.body, "\"patch\""));
    admission_result_free(&r);
    free(body);
    free(canary);
    cJSON_Delete(c);
}

/* The routing table: a patch on DELETE is a 500 for the user, so the mutator never sees one; kinds
 * without a policy are allowed untouched. */
static void admission_routes_by_kind_operation_and_endpoint(void)
{
    static const struct { enum admission_endpoint ep; const char *kind, *op; enum admission_outcome want; } cases[] = {
        {ADMISSION_MUTATE, "{\"group\":\"flagger.app\",\"version\":\"v1beta1\",\"kind\":\"Canary\"}", "DELETE",
         ADMISSION_ALLOWED},
        {ADMISSION_MUTATE, "{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}", "CREATE", ADMISSION_ALLOWED},
        {ADMISSION_VALIDATE, "{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"}", "UPDATE", ADMISSION_ALLOWED},
        {ADMISSION_MUTATE, "{\"group\":\"flagger.app\",\"version\":\"v1beta1\",\"kind\":\"Canary\"}", "CREATE",
         ADMISSION_PATCHED},
        /* "Canary" of another group is not Flagger's. */
        {ADMISSION_MUTATE, "{\"group\":\"example.com\",\"version\":\"v1\",\"kind\":\"Canary\"}", "CREATE",
         ADMISSION_ALLOWED},
    };
    cJSON *c = fixture_json("mutate/cases/empty_list.json");
    char *canary = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "canary"));
    struct policy_config cfg = {.loadtester_url = "http://flagger-loadtester.test"};
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *body = review_text(cases[i].kind, cases[i].op, strcmp(cases[i].op, "DELETE") ? canary : NULL,
                                 strcmp(cases[i].op, "CREATE") ? canary : NULL);
        struct admission_result r;

        admission_handle(cases[i].ep, body, strlen(body), &cfg, NULL, &r);
        CHECK_INT(r.status, 200);
        CHECK_INT(r.outcome, cases[i].want);
        admission_result_free(&r);
        free(body);
    }
    free(canary);
    cJSON_Delete(c);
}

/* No review can be formed: a 4xx with a one-line reason, nothing to log as an admission. */
static void admission_rejects_what_is_no_review(void)
{
    static const struct { const char *body; int status; } cases[] = {
        {"not json", 400}, {"", 400}, {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}", 400},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct admission_result r;

        admission_handle(ADMISSION_VALIDATE, cases[i].body, strlen(cases[i].body), NULL, NULL, &r);
        CHECK_INT(r.status, cases[i].status);
        CHECK_INT(r.outcome, ADMISSION_REJECTED);
        CHECK(r.body && r.len > 0 && !strchr(r.body, '\n'));
        CHECK(r.log == NULL);
        admission_result_free(&r);
    }
}

TEST_MAIN("admission", TEST(admission_denies_a_deployment_review_and_says_what_to_log),
          TEST(admission_counts_numbers_a_double_cannot_hold_as_changed),
          TEST(admission_log_fields_are_bounded_and_well_formed),
          TEST(admission_patches_a_gated_canary_only_on_the_mutating_endpoint),
          TEST(admission_routes_by_kind_operation_and_endpoint), TEST(admission_rejects_what_is_no_review))
