/*
 * What an SRE hears of a decision: every denial names a stable rule id, an override is recorded as an
 * override (the rule it passed, who, why), and the notice that the metrics count and the Events tell names
 * the denied object and the Canary whose release it concerns, with its phase and weight.
 */
#include "check.h"
#include "admission.h"
#include "fake_lookup.h"

static char *review_of(const char *kind_json, const char *op, const cJSON *obj, const cJSON *old, int dry_run)
{
    char *o = obj ? cJSON_PrintUnformatted(obj) : NULL, *p = old ? cJSON_PrintUnformatted(old) : NULL, *s = NULL;

    if (asprintf(&s, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u-1\","
                     "\"kind\":%s,\"namespace\":\"test\",\"name\":\"podinfo\",\"operation\":\"%s\",\"dryRun\":%s,"
                     "\"userInfo\":{\"username\":\"alice\",\"groups\":[\"sre\"]},\"object\":%s,\"oldObject\":%s}}",
                 kind_json, op, dry_run ? "true" : "false", o ? o : "null", p ? p : "null") < 0)
        s = NULL;
    free(o);
    free(p);
    return s;
}

#define DEPLOYMENT "{\"group\":\"apps\",\"version\":\"v1\",\"kind\":\"Deployment\"}"
#define CANARY "{\"group\":\"flagger.app\",\"version\":\"v1beta1\",\"kind\":\"Canary\"}"

static void run(struct world *w, const char *kind, const char *op, const cJSON *obj, const cJSON *old, int dry_run,
                struct admission_result *r)
{
    char *body = review_of(kind, op, obj, old, dry_run);
    struct canary_lookup l = fake_lookup_of(&w->fake);

    admission_handle(ADMISSION_VALIDATE, body, body ? strlen(body) : 0, &w->cfg, &l, r);
    free(body);
}

static void denied_template_names_its_rule_object_and_release(void)
{
    struct world w;
    struct admission_result r;
    const struct admission_notice *n = &r.notice;

    world_init(&w, "validate/deployment.json");
    fake_put(w.canary, "metadata", "uid", cJSON_CreateString("c-uid-1"));
    fake_put(w.new_obj, "spec/template/spec/containers/0", "image", cJSON_CreateString("podinfo:6.5.1"));
    run(&w, DEPLOYMENT, "UPDATE", w.new_obj, w.old_obj, 0, &r);
    CHECK_INT(r.outcome, ADMISSION_DENIED);
    CHECK_INT(r.level, LOG_LEVEL_WARN);
    CHECK_STR(obj_string(r.log, "rule"), "template-in-flight");
    CHECK_INT(n->kind, ADMISSION_NOTICE_DENIED);
    CHECK_STR(n->rule, "template-in-flight");
    CHECK_STR(n->operation, "UPDATE");
    CHECK_STR(n->user, "alice");
    CHECK_STR(n->object.api_version, "apps/v1");
    CHECK_STR(n->object.kind, "Deployment");
    CHECK_STR(n->object.namespace_, "test");
    CHECK_STR(n->object.name, "podinfo");
    CHECK_STR(n->object.uid, "0b4f2e36-8d7d-4a55-9d6c-1c2f6f0e8a11");
    CHECK(n->canary.set);
    CHECK_STR(n->canary.name, "podinfo");
    CHECK_STR(n->canary.uid, "c-uid-1");
    CHECK_STR(n->canary.phase, canary_phase(w.canary));
    CHECK_INT(n->canary.weight, canary_weight(w.canary));
    CHECK(n->canary.weight > 0);
    admission_result_free(&r);
    world_free(&w);
}

static void override_is_its_own_log_field_and_notice(void)
{
    struct world w;
    struct admission_result r;
    const cJSON *o;

    world_init(&w, "validate/deployment.json");
    fake_put(w.new_obj, "spec/template/spec/containers/0", "image", cJSON_CreateString("podinfo:6.5.1"));
    fake_annotate(w.new_obj, CANARY_ANN_OVERRIDE, "CVE fix, approved by oncall");
    run(&w, DEPLOYMENT, "UPDATE", w.new_obj, w.old_obj, 0, &r);
    CHECK_INT(r.outcome, ADMISSION_ALLOWED);
    CHECK_INT(r.level, LOG_LEVEL_INFO);
    o = obj_get(r.log, "override");
    CHECK_STR(obj_string(o, "rule"), "template-in-flight");
    CHECK_STR(obj_string(o, "user"), "alice");
    CHECK_STR(obj_string(o, "reason"), "CVE fix, approved by oncall");
    CHECK(obj_get(r.log, "rule") == NULL); /* an override is not a denial */
    CHECK_INT(r.notice.kind, ADMISSION_NOTICE_OVERRIDDEN);
    CHECK_STR(r.notice.rule, "template-in-flight");
    CHECK_STR(r.notice.reason, "CVE fix, approved by oncall");
    CHECK(r.notice.canary.set);
    admission_result_free(&r);
    world_free(&w);
}

/* A change that is simply allowed, and a dry run, are told apart from denials by the notice. */
static void plain_allow_has_no_notice_and_dry_run_says_so(void)
{
    struct world w;
    struct admission_result r;

    world_init(&w, "validate/deployment.json");
    fake_put(w.new_obj, "spec", "replicas", cJSON_CreateNumber(7));
    run(&w, DEPLOYMENT, "UPDATE", w.new_obj, w.old_obj, 0, &r);
    CHECK_INT(r.notice.kind, ADMISSION_NOTICE_NONE);
    CHECK(r.notice.rule == NULL);
    admission_result_free(&r);
    fake_put(w.new_obj, "spec/template/spec/containers/0", "image", cJSON_CreateString("podinfo:6.5.1"));
    run(&w, DEPLOYMENT, "UPDATE", w.new_obj, w.old_obj, 1, &r);
    CHECK_INT(r.notice.kind, ADMISSION_NOTICE_DENIED);
    CHECK(r.notice.dry_run);
    admission_result_free(&r);
    world_free(&w);
}

/* A Canary's own rules concern the Canary itself: its stored phase and weight. */
static void canary_denial_concerns_the_canary_itself(void)
{
    struct world w;
    struct admission_result r;
    cJSON *new_obj;

    world_init(&w, "validate/deployment.json");
    fake_put(w.canary, "metadata", "uid", cJSON_CreateString("c-uid-2"));
    new_obj = cJSON_Duplicate(w.canary, 1);
    fake_put(new_obj, "spec/analysis", "mirror", cJSON_CreateTrue());
    run(&w, CANARY, "UPDATE", new_obj, w.canary, 0, &r);
    CHECK_INT(r.outcome, ADMISSION_DENIED);
    CHECK_STR(r.notice.rule, "canary-mirror");
    CHECK_STR(r.notice.object.kind, "Canary");
    CHECK_STR(r.notice.object.api_version, "flagger.app/v1beta1");
    CHECK_STR(r.notice.canary.uid, "c-uid-2");
    CHECK_STR(r.notice.canary.phase, canary_phase(w.canary));
    admission_result_free(&r);
    cJSON_Delete(new_obj);
    world_free(&w);
}

/* The override group deletes a Canary in flight: an override of canary-delete-in-flight. */
static void group_override_of_a_canary_delete(void)
{
    struct world w;
    struct admission_result r;

    world_init(&w, "validate/deployment.json");
    w.cfg.override_group = "sre";
    run(&w, CANARY, "DELETE", NULL, w.canary, 0, &r);
    CHECK_INT(r.outcome, ADMISSION_ALLOWED);
    CHECK_INT(r.notice.kind, ADMISSION_NOTICE_OVERRIDDEN);
    CHECK_STR(r.notice.rule, "canary-delete-in-flight");
    CHECK_STR(r.notice.reason, "member of the override group sre");
    admission_result_free(&r);
    w.cfg.override_group = NULL;
    run(&w, CANARY, "DELETE", NULL, w.canary, 0, &r);
    CHECK_INT(r.outcome, ADMISSION_DENIED);
    CHECK_STR(r.notice.rule, "canary-delete-in-flight");
    admission_result_free(&r);
    world_free(&w);
}

/* Every denial a policy makes carries a rule id: none is left anonymous for the metrics. */
static void unknown_state_and_empty_reason_have_rules_too(void)
{
    struct world w;
    struct admission_result r;

    world_init(&w, "validate/deployment.json");
    w.fake.unknown = 1;
    fake_put(w.new_obj, "spec/template/spec/containers/0", "image", cJSON_CreateString("podinfo:6.5.1"));
    run(&w, DEPLOYMENT, "UPDATE", w.new_obj, w.old_obj, 0, &r);
    CHECK_STR(r.notice.rule, "gating-state-unknown");
    CHECK(!r.notice.canary.set);
    admission_result_free(&r);
    w.fake.unknown = 0;
    fake_annotate(w.new_obj, CANARY_ANN_OVERRIDE, " ");
    run(&w, DEPLOYMENT, "UPDATE", w.new_obj, w.old_obj, 0, &r);
    CHECK_STR(r.notice.rule, "override-reason-empty");
    admission_result_free(&r);
    world_free(&w);
}

TEST_MAIN("notice", TEST(denied_template_names_its_rule_object_and_release),
          TEST(override_is_its_own_log_field_and_notice), TEST(plain_allow_has_no_notice_and_dry_run_says_so),
          TEST(canary_denial_concerns_the_canary_itself), TEST(group_override_of_a_canary_delete),
          TEST(unknown_state_and_empty_reason_have_rules_too))
