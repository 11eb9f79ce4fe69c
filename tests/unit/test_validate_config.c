/*
 * The validating policy on ConfigMaps and Secrets that a gated Canary tracks (status.trackedConfigs),
 * through admission_decide with a fake Canary lookup: content changes and DELETE are denied while the
 * release is in flight; metadata-only changes pass; no Secret value ever reaches a message, a warning
 * or an audit annotation.
 */
#include "check.h"

#include "fake_lookup.h"
#include "admission.h"
#include "policy.h"

/* The values in tests/fixtures/validate/secret.json and the ones the tests write, plain and base64. */
static const char *const secret_values[] = {
    "s3cr3t-hunter2-old", "czNjcjN0LWh1bnRlcjItb2xk", "s3cr3t-hunter2-new", "czNjcjN0LWh1bnRlcjItbmV3",
    "podinfo-password-9", "cG9kaW5mbw==",
};


static void run_op(struct world *w, const char *op)
{
    const cJSON *src = w->old_obj;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(src, "kind");
    struct admission_request r = fake_request("", kind->valuestring, op, strcmp(op, "CREATE") ? w->old_obj : NULL,
                                              strcmp(op, "DELETE") ? w->new_obj : NULL, w->groups);
    struct canary_lookup l = fake_lookup_of(&w->fake);

    decision_free(&w->d);
    admission_decide(ADMISSION_VALIDATE, &r, &w->cfg, &l, &w->d);
}

static void run(struct world *w)
{
    run_op(w, "UPDATE");
}

static void set_phase(cJSON *canary, const char *phase)
{
    fake_put(canary, "status", "phase", cJSON_CreateString(phase));
}


/* No Secret value, plain or base64, in anything the decision carries. */
static int leaks_secret(const struct decision *d)
{
    char *audit = d->audit ? cJSON_PrintUnformatted(d->audit) : NULL;
    char *warnings = d->warnings ? cJSON_PrintUnformatted(d->warnings) : NULL;
    int leak = 0;
    size_t i;

    for (i = 0; i < sizeof(secret_values) / sizeof(secret_values[0]); i++) {
        if ((d->message && strstr(d->message, secret_values[i])) || (audit && strstr(audit, secret_values[i])) ||
            (warnings && strstr(warnings, secret_values[i])))
            leak = 1;
    }
    free(audit);
    free(warnings);
    return leak;
}

static void config_denies_tracked_configmap_data_change(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    fake_put(w.new_obj, "data", "level", cJSON_CreateString("debug"));
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK_INT(w.d.code, 403);
    CHECK_STR(w.d.message,
              "manual-gate: ConfigMap test/podinfo-config is tracked by Canary test/podinfo, whose gated release is "
              "in flight (phase Progressing, canary weight 10%): a change to its data makes Flagger restart the "
              "analysis from 0%. Finish the release (manual-gate gate open podinfo -n test, one step each) or roll "
              "it back (manual-gate rollback open podinfo -n test), then apply; or set or change the annotation manual-gate.io/override: \"<reason>\" in "
              "the same request to force it.");
    world_free(&w);
}

static void config_denies_every_configmap_content_change(void)
{
    static const struct { const char *what; const char *key; const char *json; } cases[] = {
        {"data key added", "data", "{\"podinfo.yaml\":\"ui:\\n  message: hello\\n\",\"level\":\"info\",\"x\":\"1\"}"},
        {"data removed", "data", NULL},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct world w;

        world_init(&w, "validate/configmap.json");
        if (cases[i].json)
            fake_put(w.new_obj, "", cases[i].key, cJSON_Parse(cases[i].json));
        else
            fake_del(w.new_obj, "", cases[i].key);
        run(&w);
        if (w.d.allowed)
            fprintf(stderr, "  case %s allowed\n", cases[i].what);
        CHECK_INT(w.d.allowed, 0);
        world_free(&w);
    }
}

static void config_allows_untracked_configmap(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    fake_put(w.old_obj, "metadata", "name", cJSON_CreateString("unrelated"));
    fake_put(w.new_obj, "metadata", "name", cJSON_CreateString("unrelated"));
    fake_put(w.new_obj, "data", "level", cJSON_CreateString("debug"));
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK(w.d.warnings == NULL);
    world_free(&w);
}

/* A trackedConfigs key names the kind: a ConfigMap called like a tracked Secret is not tracked. */
static void config_matches_tracked_kind(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    fake_put(w.old_obj, "metadata", "name", cJSON_CreateString("podinfo-secret"));
    fake_put(w.new_obj, "metadata", "name", cJSON_CreateString("podinfo-secret"));
    fake_put(w.new_obj, "data", "level", cJSON_CreateString("debug"));
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

static void config_ignores_canary_in_other_namespace(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    fake_put(w.canary, "metadata", "namespace", cJSON_CreateString("other"));
    fake_put(w.new_obj, "data", "level", cJSON_CreateString("debug"));
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

static void config_allows_tracked_change_outside_a_release(void)
{
    static const char *const phases[] = {"", "Initialized", "Succeeded", "Failed", "Waiting"};
    size_t i;

    for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        struct world w;

        world_init(&w, "validate/configmap.json");
        set_phase(w.canary, phases[i]);
        fake_put(w.canary, "status", "canaryWeight", cJSON_CreateNumber(0));
        fake_put(w.new_obj, "data", "level", cJSON_CreateString("debug"));
        run(&w);
        CHECK_INT(w.d.allowed, 1);
        world_free(&w);
    }
}

static void config_allows_tracked_change_of_ungated_canary(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    fake_del(w.canary, "spec/analysis", "webhooks");
    fake_put(w.new_obj, "data", "level", cJSON_CreateString("debug"));
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

static void config_allows_metadata_only_change(void)
{
    static const char *const fixtures[] = {"validate/configmap.json", "validate/secret.json"};
    size_t i;

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        struct world w;

        world_init(&w, fixtures[i]);
        fake_put(w.new_obj, "metadata", "labels", cJSON_Parse("{\"app\":\"podinfo\",\"team\":\"web\"}"));
        fake_annotate(w.new_obj, "owner", "web-team");
        fake_put(w.new_obj, "metadata", "resourceVersion", cJSON_CreateString("9999"));
        run(&w);
        CHECK_INT(w.d.allowed, 1);
        world_free(&w);
    }
}

/* An empty map and no map mount the same files. */
static void config_treats_empty_content_as_absent(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    fake_del(w.old_obj, "", "data");
    fake_put(w.new_obj, "", "data", cJSON_CreateObject());
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    fake_put(w.new_obj, "", "data", cJSON_CreateNull());
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    /* Not vacuous: a data key is a change. */
    fake_put(w.new_obj, "", "data", cJSON_Parse("{\"k\":\"v\"}"));
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    world_free(&w);
}

static void config_denies_tracked_secret_change_without_echoing_values(void)
{
    struct world w;

    world_init(&w, "validate/secret.json");
    fake_put(w.new_obj, "data", "token", cJSON_CreateString("czNjcjN0LWh1bnRlcjItbmV3"));
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message,
                                "manual-gate: Secret test/podinfo-secret is tracked by Canary test/podinfo, whose "
                                "gated release is in flight"));
    CHECK(!leaks_secret(&w.d));
    world_free(&w);
}

/* stringData is write-only and merged into data by the API server, but is content all the same. */
static void config_denies_tracked_secret_string_data(void)
{
    struct world w;

    world_init(&w, "validate/secret.json");
    fake_put(w.new_obj, "", "stringData", cJSON_Parse("{\"password\":\"podinfo-password-9\"}"));
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK(!leaks_secret(&w.d));
    world_free(&w);
}

/* A Secret has no binaryData: only data and stringData are its content. */
static void config_secret_ignores_unknown_fields(void)
{
    struct world w;

    world_init(&w, "validate/secret.json");
    fake_put(w.new_obj, "", "binaryData", cJSON_Parse("{\"x\":\"AAAA\"}"));
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

static void config_override_allows_with_warning_and_audit(void)
{
    static const char *const fixtures[] = {"validate/configmap.json", "validate/secret.json"};
    size_t i;

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        struct world w;

        world_init(&w, fixtures[i]);
        fake_put(w.new_obj, "data", "token", cJSON_CreateString("czNjcjN0LWh1bnRlcjItbmV3"));
        fake_annotate(w.new_obj, "manual-gate.io/override", "rotate the leaked token now");
        run(&w);
        CHECK_INT(w.d.allowed, 1);
        CHECK(fake_warned(&w.d, "override by alice"));
        CHECK_STR(fake_audit(&w.d, "override-reason"), "rotate the leaked token now");
        CHECK_STR(fake_audit(&w.d, "override-user"), "alice");
        CHECK(!leaks_secret(&w.d));
        world_free(&w);
    }
}

static void config_override_group_allows(void)
{
    struct world w;

    world_init(&w, "validate/secret.json");
    w.cfg.override_group = "sre-oncall";
    cJSON_AddItemToArray(w.groups, cJSON_CreateString("sre-oncall"));
    fake_put(w.new_obj, "data", "token", cJSON_CreateString("czNjcjN0LWh1bnRlcjItbmV3"));
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK_STR(fake_audit(&w.d, "override-user"), "alice");
    world_free(&w);
}

static void config_denies_delete_of_tracked_configmap(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    run_op(&w, "DELETE");
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "podinfo-config is tracked by Canary test/podinfo"));
    CHECK(w.d.message && strstr(w.d.message, "deleting it makes Flagger restart the analysis from 0%"));
    world_free(&w);
}

static void config_denies_delete_of_tracked_secret(void)
{
    struct world w;

    world_init(&w, "validate/secret.json");
    run_op(&w, "DELETE");
    CHECK_INT(w.d.allowed, 0);
    CHECK(!leaks_secret(&w.d));
    world_free(&w);
}

static void config_allows_delete_of_untracked_or_idle(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    fake_put(w.old_obj, "metadata", "name", cJSON_CreateString("unrelated"));
    run_op(&w, "DELETE");
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);

    world_init(&w, "validate/configmap.json");
    set_phase(w.canary, "Succeeded");
    run_op(&w, "DELETE");
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

/* DELETE has no new object: annotating then deleting is the way to break glass. */
static void config_delete_override_reads_stored_object(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    fake_annotate(w.old_obj, "manual-gate.io/override", "config moved to podinfo-config-v2");
    run_op(&w, "DELETE");
    CHECK_INT(w.d.allowed, 1);
    CHECK_STR(fake_audit(&w.d, "override-reason"), "config moved to podinfo-config-v2");
    world_free(&w);
}

static void config_allows_create(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    run_op(&w, "CREATE");
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

static void config_unknown_cache_denies_unless_fail_open(void)
{
    struct world w;

    world_init(&w, "validate/secret.json");
    w.fake.unknown = 1;
    fake_put(w.new_obj, "data", "token", cJSON_CreateString("czNjcjN0LWh1bnRlcjItbmV3"));
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "the gating state of Secret test/podinfo-secret is unknown"));
    CHECK(!leaks_secret(&w.d));
    w.cfg.fail_open = 1;
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK(fake_warned(&w.d, "--fail-open"));
    world_free(&w);
}

static void config_dry_run_gets_same_decision(void)
{
    struct world w;
    struct admission_request r;
    struct canary_lookup l;
    struct decision wet;

    world_init(&w, "validate/configmap.json");
    fake_put(w.new_obj, "data", "level", cJSON_CreateString("debug"));
    l = fake_lookup_of(&w.fake);
    r = fake_request("", "ConfigMap", "UPDATE", w.old_obj, w.new_obj, w.groups);
    decision_init(&wet);
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &wet);
    r.dry_run = 1;
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
    CHECK_INT(w.d.allowed, 0);
    CHECK_INT(w.d.allowed, wet.allowed);
    CHECK_STR(w.d.message, wet.message);
    decision_free(&wet);
    world_free(&w);
}

/* A string with \u0000 is cut short by the parser: equal-looking data may differ. */
static void config_lossy_request_treats_content_as_changed(void)
{
    static const char *const fixtures[] = {"validate/configmap.json", "validate/secret.json"};
    size_t i;

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        struct world w;
        struct admission_request r;
        struct canary_lookup l;

        world_init(&w, fixtures[i]);
        fake_annotate(w.new_obj, "owner", "web-team");
        l = fake_lookup_of(&w.fake);
        r = fake_request("", cJSON_GetObjectItemCaseSensitive(w.old_obj, "kind")->valuestring, "UPDATE", w.old_obj,
                         w.new_obj, w.groups);
        admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
        CHECK_INT(w.d.allowed, 1);
        decision_free(&w.d);
        r.lossy = 1;
        admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
        CHECK_INT(w.d.allowed, 0);
        CHECK(w.d.message && strstr(w.d.message, "a change to its data"));
        CHECK(!leaks_secret(&w.d));
        world_free(&w);
    }
}

/* With no content on either side there is nothing a cut string could hide. */
static void config_lossy_request_without_content_passes(void)
{
    struct world w;
    struct admission_request r;
    struct canary_lookup l;

    world_init(&w, "validate/configmap.json");
    fake_del(w.old_obj, "", "data");
    fake_del(w.old_obj, "", "binaryData");
    fake_del(w.new_obj, "", "data");
    fake_del(w.new_obj, "", "binaryData");
    l = fake_lookup_of(&w.fake);
    r = fake_request("", "ConfigMap", "UPDATE", w.old_obj, w.new_obj, w.groups);
    r.lossy = 1;
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

/* An annotation left on the object must not let every later content change through. */
static void config_override_annotation_counts_only_when_set_or_changed(void)
{
    static const struct { const char *what, *old_reason, *new_reason; int want_allowed; } cases[] = {
        {"set in this request", NULL, "rotate the leaked token now", 1},
        {"changed in this request", "rotate the leaked token now", "rotate it again", 1},
        {"kept from the stored object", "rotate the leaked token now", "rotate the leaked token now", 0},
    };
    static const char *const fixtures[] = {"validate/configmap.json", "validate/secret.json"};
    size_t i, f;

    for (f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct world w;

            world_init(&w, fixtures[f]);
            if (cases[i].old_reason)
                fake_annotate(w.old_obj, "manual-gate.io/override", cases[i].old_reason);
            fake_annotate(w.new_obj, "manual-gate.io/override", cases[i].new_reason);
            fake_put(w.new_obj, "data", "token", cJSON_CreateString("czNjcjN0LWh1bnRlcjItbmV3"));
            run(&w);
            if (w.d.allowed != cases[i].want_allowed)
                fprintf(stderr, "  %s, %s: allowed=%d\n", fixtures[f], cases[i].what, w.d.allowed);
            CHECK_INT(w.d.allowed, cases[i].want_allowed);
            if (!cases[i].want_allowed)
                CHECK(w.d.message && strstr(w.d.message, "manual-gate.io/override a new reason in the same request"));
            CHECK(!leaks_secret(&w.d));
            world_free(&w);
        }
    }
}

/* DELETE has no new object, so the way to force it is to annotate first: the denial says so. */
static void config_delete_denial_says_annotate_first(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    run_op(&w, "DELETE");
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "or set the annotation manual-gate.io/override: \"<reason>\" on it "
                                             "first, then delete it, to force it."));
    CHECK(w.d.message && !strstr(w.d.message, "same request"));
    world_free(&w);
}

/* Flagger checksums a ConfigMap's data only: binaryData is no new revision. */
static void config_allows_binary_data_only_change(void)
{
    static const char *const values[] = {"{\"logo.png\":\"AAAA\"}", NULL};
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct world w;

        world_init(&w, "validate/configmap.json");
        if (values[i])
            fake_put(w.new_obj, "", "binaryData", cJSON_Parse(values[i]));
        else
            fake_del(w.new_obj, "", "binaryData");
        run(&w);
        CHECK_INT(w.d.allowed, 1);
        CHECK(w.d.warnings == NULL);
        world_free(&w);
    }
}

/* One tracked config fewer is a new revision for Flagger: denied in flight, like a data change. */
static void config_denies_disabling_tracking_in_flight(void)
{
    static const char *const kinds[] = {"validate/configmap.json", "validate/secret.json"};
    size_t i;

    for (i = 0; i < 2; i++) {
        struct world w;

        world_init(&w, kinds[i]);
        fake_annotate(w.new_obj, "flagger.app/config-tracking", "disabled");
        run(&w);
        CHECK_INT(w.d.allowed, 0);
        CHECK(w.d.message && strstr(w.d.message, "disabling its tracking (annotation flagger.app/config-tracking)"));
        CHECK(w.d.message && strstr(w.d.message, "restart the analysis from 0%"));
        /* Outside a release it is allowed. */
        set_phase(w.canary, "Succeeded");
        run(&w);
        CHECK_INT(w.d.allowed, 1);
        world_free(&w);
    }
}

/* Any value starting "disable" turns tracking off for Flagger; other values do not. */
static void config_tracking_annotation_values_read_as_flagger_does(void)
{
    static const struct { const char *value; int denied; } cases[] = {
        {"disabled", 1}, {"disable", 1}, {"disabled-for-now", 1}, {"enabled", 0}, {"", 0}, {"Disabled", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct world w;

        world_init(&w, "validate/configmap.json");
        fake_annotate(w.new_obj, "flagger.app/config-tracking", cases[i].value);
        run(&w);
        if (w.d.allowed == cases[i].denied)
            fprintf(stderr, "  value \"%s\": allowed=%d\n", cases[i].value, w.d.allowed);
        CHECK_INT(w.d.allowed, !cases[i].denied);
        world_free(&w);
    }
}

/* Tracking turned back on: not in any status.trackedConfigs, so every gated release in flight in the
 * namespace holds it, and the message names them. */
static void config_denies_enabling_tracking_while_a_release_is_in_flight_in_the_namespace(void)
{
    struct world w;
    cJSON *other;

    world_init(&w, "validate/configmap.json");
    fake_put(w.old_obj, "metadata", "name", cJSON_CreateString("untracked"));
    fake_put(w.new_obj, "metadata", "name", cJSON_CreateString("untracked"));
    fake_annotate(w.old_obj, "flagger.app/config-tracking", "disabled");
    other = cJSON_Duplicate(w.canary, 1);
    fake_put(other, "metadata", "name", cJSON_CreateString("frontend"));
    fake_put(other, "status", "phase", cJSON_CreateString("Promoting"));
    w.fake.canaries[w.fake.n++] = other;
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "removing the annotation flagger.app/config-tracking"));
    CHECK(w.d.message && strstr(w.d.message, "in namespace test: test/frontend (Promoting, 10%), test/podinfo "
                                             "(Progressing, 10%)"));
    /* The override works. */
    fake_annotate(w.new_obj, "manual-gate.io/override", "config must be tracked again");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK_STR(fake_audit(&w.d, "override-reason"), "config must be tracked again");
    cJSON_Delete(other);
    world_free(&w);
}

/* Another namespace, or no release in flight: allowed. */
static void config_allows_enabling_tracking_without_a_release_in_the_namespace(void)
{
    struct world w;

    world_init(&w, "validate/configmap.json");
    fake_annotate(w.old_obj, "flagger.app/config-tracking", "disabled");
    fake_put(w.old_obj, "metadata", "namespace", cJSON_CreateString("other"));
    fake_put(w.new_obj, "metadata", "namespace", cJSON_CreateString("other"));
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    fake_put(w.old_obj, "metadata", "namespace", cJSON_CreateString("test"));
    fake_put(w.new_obj, "metadata", "namespace", cJSON_CreateString("test"));
    set_phase(w.canary, "Succeeded");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

TEST_MAIN("validate_config",
          TEST(config_allows_binary_data_only_change),
          TEST(config_denies_disabling_tracking_in_flight),
          TEST(config_tracking_annotation_values_read_as_flagger_does),
          TEST(config_denies_enabling_tracking_while_a_release_is_in_flight_in_the_namespace),
          TEST(config_allows_enabling_tracking_without_a_release_in_the_namespace),
          TEST(config_denies_tracked_configmap_data_change),
          TEST(config_denies_every_configmap_content_change),
          TEST(config_allows_untracked_configmap),
          TEST(config_matches_tracked_kind),
          TEST(config_ignores_canary_in_other_namespace),
          TEST(config_allows_tracked_change_outside_a_release),
          TEST(config_allows_tracked_change_of_ungated_canary),
          TEST(config_allows_metadata_only_change),
          TEST(config_treats_empty_content_as_absent),
          TEST(config_denies_tracked_secret_change_without_echoing_values),
          TEST(config_denies_tracked_secret_string_data),
          TEST(config_secret_ignores_unknown_fields),
          TEST(config_override_allows_with_warning_and_audit),
          TEST(config_override_group_allows),
          TEST(config_denies_delete_of_tracked_configmap),
          TEST(config_denies_delete_of_tracked_secret),
          TEST(config_allows_delete_of_untracked_or_idle),
          TEST(config_delete_override_reads_stored_object),
          TEST(config_allows_create),
          TEST(config_unknown_cache_denies_unless_fail_open),
          TEST(config_dry_run_gets_same_decision),
          TEST(config_lossy_request_treats_content_as_changed),
          TEST(config_lossy_request_without_content_passes),
          TEST(config_override_annotation_counts_only_when_set_or_changed),
          TEST(config_delete_denial_says_annotate_first))
