/*
 * The validating policy on Canaries, through admission_decide: gating switched off while a release is
 * in flight, gating Flagger would never consult (iterations, provider kubernetes, no analysis), and a
 * gated Canary that still breaks the mutator's invariants after all mutations.
 */
#include "check.h"

#include "fake_lookup.h"
#include "admission.h"
#include "policy.h"

struct canary_world {
    cJSON *old_obj; /* the stored Canary test/podinfo: complete gating (trigger B), Progressing at 10% */
    cJSON *new_obj; /* a copy to change */
    struct policy_config cfg;
    struct decision d;
};

static void canary_world_init(struct canary_world *w)
{
    memset(w, 0, sizeof(*w));
    w->old_obj = fixture_json("validate/canary.json");
    w->new_obj = cJSON_Duplicate(w->old_obj, 1);
    w->cfg.loadtester_url = "http://flagger-loadtester.test";
    decision_init(&w->d);
}

static void canary_world_free(struct canary_world *w)
{
    decision_free(&w->d);
    cJSON_Delete(w->old_obj);
    cJSON_Delete(w->new_obj);
}

static void run_op(struct canary_world *w, const char *op)
{
    struct admission_request r = fake_request("flagger.app", "Canary", op, strcmp(op, "CREATE") ? w->old_obj : NULL,
                                              strcmp(op, "DELETE") ? w->new_obj : NULL, NULL);
    struct fake_lookup none = {{NULL}, 0, 0};
    struct canary_lookup l = fake_lookup_of(&none);

    decision_free(&w->d);
    admission_decide(ADMISSION_VALIDATE, &r, &w->cfg, &l, &w->d);
}

static void set_label(cJSON *obj, const char *value)
{
    if (!fake_at(obj, "metadata/labels"))
        fake_put(obj, "metadata", "labels", cJSON_CreateObject());
    if (value)
        fake_put(obj, "metadata/labels", "manual-gate.io/enabled", cJSON_CreateString(value));
    else
        fake_del(obj, "metadata/labels", "manual-gate.io/enabled");
}

static void set_phase(cJSON *obj, const char *phase)
{
    fake_put(obj, "status", "phase", cJSON_CreateString(phase));
}

static void remove_hook(cJSON *obj, const char *name)
{
    cJSON *hooks = fake_at(obj, "spec/analysis/webhooks"), *h;
    int i = 0;

    cJSON_ArrayForEach(h, hooks) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(h, "name")->valuestring, name) == 0) {
            cJSON_DeleteItemFromArray(hooks, i);
            return;
        }
        i++;
    }
}

static void canary_allows_complete_gated_canary(void)
{
    struct canary_world w;

    canary_world_init(&w);
    run_op(&w, "CREATE");
    if (!w.d.allowed)
        fprintf(stderr, "  CREATE denied: %s\n", w.d.message);
    CHECK_INT(w.d.allowed, 1);
    fake_put(w.new_obj, "spec/analysis", "maxWeight", cJSON_CreateNumber(30));
    run_op(&w, "UPDATE");
    CHECK_INT(w.d.allowed, 1);
    CHECK(w.d.warnings == NULL);
    canary_world_free(&w);
}

/* Mistake 7: re-applying an old manifest without the gates lets the release run on to 100%. */
static void canary_denies_removing_gating_in_flight(void)
{
    static const struct {
        const char *what, *old_label, *new_label;
        int drop_hooks;
        const char *how;
    } cases[] = {
        {"gate hooks removed", NULL, NULL, 1, "removing its /gate/check confirm-traffic-increase webhook"},
        {"label set to false", NULL, "false", 1, "setting the label manual-gate.io/enabled: \"false\""},
        {"label set to false, hooks kept", NULL, "false", 0, "setting the label manual-gate.io/enabled: \"false\""},
        {"label true set to false", "true", "false", 1, "setting the label manual-gate.io/enabled: \"false\""},
        {"label true removed with the hooks", "true", NULL, 1, "removing its /gate/check"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct canary_world w;

        canary_world_init(&w);
        if (cases[i].old_label) {
            set_label(w.old_obj, cases[i].old_label);
            set_label(w.new_obj, cases[i].old_label);
        }
        set_label(w.new_obj, cases[i].new_label);
        if (cases[i].drop_hooks)
            fake_del(w.new_obj, "spec/analysis", "webhooks");
        run_op(&w, "UPDATE");
        if (w.d.allowed)
            fprintf(stderr, "  case %s allowed\n", cases[i].what);
        CHECK_INT(w.d.allowed, 0);
        CHECK_INT(w.d.code, 403);
        CHECK(w.d.message && strstr(w.d.message, "manual-gate: Canary test/podinfo has a gated release in flight "
                                                 "(phase Progressing, canary weight 10%)"));
        CHECK(w.d.message && strstr(w.d.message, cases[i].how));
        CHECK(w.d.message && strstr(w.d.message, "manual-gate gate open podinfo -n test") && strstr(w.d.message, "manual-gate rollback open podinfo -n test"));
        canary_world_free(&w);
    }
}

/* Only the gate check matters for Flagger: the label true alone, removed while the hooks stay, still gates. */
static void canary_allows_dropping_label_while_hooks_gate(void)
{
    struct canary_world w;

    canary_world_init(&w);
    set_label(w.old_obj, "true");
    set_label(w.new_obj, NULL);
    run_op(&w, "UPDATE");
    CHECK_INT(w.d.allowed, 1);
    canary_world_free(&w);
}

static void canary_allows_removing_gating_outside_a_release(void)
{
    static const char *const phases[] = {"", "Initializing", "Initialized", "Succeeded", "Failed", "Terminated"};
    size_t i;

    for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        struct canary_world w;

        canary_world_init(&w);
        set_phase(w.old_obj, phases[i]);
        set_phase(w.new_obj, phases[i]);
        fake_del(w.new_obj, "spec/analysis", "webhooks");
        run_op(&w, "UPDATE");
        CHECK_INT(w.d.allowed, 1);
        set_label(w.new_obj, "false");
        run_op(&w, "UPDATE");
        CHECK_INT(w.d.allowed, 1);
        canary_world_free(&w);
    }
}

/* The phase that counts is the stored one: the request cannot talk its way out of a release. */
static void canary_reads_phase_of_stored_object(void)
{
    struct canary_world w;

    canary_world_init(&w);
    set_phase(w.new_obj, "Succeeded");
    fake_del(w.new_obj, "spec/analysis", "webhooks");
    run_op(&w, "UPDATE");
    CHECK_INT(w.d.allowed, 0);
    canary_world_free(&w);
}

/* Flagger installed with -mesh-provider=kubernetes runs every Canary without spec.provider as
 * blue/green; --mesh-provider tells manual-gate so. spec.provider still wins. */
static void canary_denies_gating_under_a_kubernetes_mesh_provider(void)
{
    struct canary_world w;

    canary_world_init(&w);
    fake_del(w.new_obj, "spec", "provider");
    w.cfg.mesh_provider = "kubernetes";
    run_op(&w, "CREATE");
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "names no spec.provider and Flagger's -mesh-provider is kubernetes"));
    w.cfg.mesh_provider = "istio";
    run_op(&w, "CREATE");
    CHECK_INT(w.d.allowed, 1);
    w.cfg.mesh_provider = "kubernetes";
    fake_put(w.new_obj, "spec", "provider", cJSON_CreateString("istio"));
    run_op(&w, "CREATE");
    CHECK_INT(w.d.allowed, 1);
    canary_world_free(&w);
}

/* Mistake 6, for each trigger: gates that only the progressive canary strategy would call. */
static void canary_denies_gating_flagger_never_consults(void)
{
    static const struct { const char *what; const char *path, *key, *json; const char *says; } cases[] = {
        {"iterations", "spec/analysis", "iterations", "10",
         "spec.analysis.iterations is 10, which makes Flagger run a blue/green release"},
        {"iterations with match", "spec/analysis", "match", "[{\"headers\":{\"x-canary\":{\"exact\":\"insider\"}}}]",
         "spec.analysis.iterations is 10, which makes Flagger run A/B testing (analysis.match is set)"},
        {"provider kubernetes", "spec", "provider", "\"kubernetes\"",
         "spec.provider is kubernetes, which makes Flagger run a blue/green release"},
    };
    static const char *const triggers[] = {"hook", "label"};
    size_t i, t;

    for (t = 0; t < 2; t++) {
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct canary_world w;

            canary_world_init(&w);
            if (t == 1) {
                fake_del(w.new_obj, "spec/analysis", "webhooks");
                set_label(w.new_obj, "true");
            }
            if (strcmp(cases[i].key, "match") == 0)
                fake_put(w.new_obj, "spec/analysis", "iterations", cJSON_CreateNumber(10));
            fake_put(w.new_obj, cases[i].path, cases[i].key, cJSON_Parse(cases[i].json));
            run_op(&w, "CREATE");
            if (w.d.allowed)
                fprintf(stderr, "  %s by %s allowed\n", cases[i].what, triggers[t]);
            CHECK_INT(w.d.allowed, 0);
            CHECK(w.d.message && strstr(w.d.message, cases[i].says));
            CHECK(w.d.message && strstr(w.d.message, "confirm-traffic-increase webhooks only for the progressive canary"));
            run_op(&w, "UPDATE");
            CHECK_INT(w.d.allowed, 0);
            canary_world_free(&w);
        }
    }
}

/* Flagger's GetAnalysis() falls back to canaryAnalysis; the message names the key in use. */
static void canary_reads_canary_analysis(void)
{
    struct canary_world w;
    cJSON *analysis;

    canary_world_init(&w);
    analysis = cJSON_DetachItemFromObjectCaseSensitive(fake_at(w.new_obj, "spec"), "analysis");
    cJSON_AddItemToObject(analysis, "iterations", cJSON_CreateNumber(5));
    cJSON_AddItemToObject(fake_at(w.new_obj, "spec"), "canaryAnalysis", analysis);
    run_op(&w, "CREATE");
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "spec.canaryAnalysis.iterations is 5"));
    canary_world_free(&w);
}

static void canary_allows_zero_iterations(void)
{
    struct canary_world w;

    canary_world_init(&w);
    fake_put(w.new_obj, "spec/analysis", "iterations", cJSON_CreateNumber(0));
    run_op(&w, "CREATE");
    CHECK_INT(w.d.allowed, 1);
    canary_world_free(&w);
}

/* Without gating enabled (no trigger, or the label "false" over a hook) nothing is judged. */
static void canary_allows_any_strategy_without_gating(void)
{
    static const char *const labels[] = {NULL, "false"};
    size_t i;

    for (i = 0; i < 2; i++) {
        struct canary_world w;

        canary_world_init(&w);
        if (!labels[i])
            fake_del(w.new_obj, "spec/analysis", "webhooks");
        else
            set_label(w.new_obj, labels[i]);
        fake_put(w.new_obj, "spec/analysis", "iterations", cJSON_CreateNumber(10));
        fake_put(w.new_obj, "spec", "provider", cJSON_CreateString("kubernetes"));
        run_op(&w, "CREATE");
        CHECK_INT(w.d.allowed, 1);
        canary_world_free(&w);
    }
}

static void canary_denies_gated_canary_without_analysis(void)
{
    static const char *const shapes[] = {"absent", "null"};
    size_t i;

    for (i = 0; i < 2; i++) {
        struct canary_world w;

        canary_world_init(&w);
        set_label(w.new_obj, "true");
        if (i == 0)
            fake_del(w.new_obj, "spec", "analysis");
        else
            fake_put(w.new_obj, "spec", "analysis", cJSON_CreateNull());
        run_op(&w, "CREATE");
        if (w.d.allowed)
            fprintf(stderr, "  analysis %s allowed\n", shapes[i]);
        CHECK_INT(w.d.allowed, 0);
        CHECK(w.d.message && strstr(w.d.message, "neither spec.analysis nor spec.canaryAnalysis"));
        canary_world_free(&w);
    }
}

/* Another mutating webhook (or a stale manifest) undid what manual-gate completed. */
static void canary_denies_broken_invariant(void)
{
    static const struct {
        const char *what, *hook, *key, *json;
        const char *names; /* what the message must name */
    } cases[] = {
        {"gate-close removed", "gate-close", NULL, NULL, "/gate/close"},
        {"rollback removed", "rollback", NULL, NULL, "/rollback/check"},
        {"threshold lowered", NULL, "threshold", "5", "/spec/analysis/threshold"},
        {"skipAnalysis true", NULL, "skipAnalysis", "true", "/spec/skipAnalysis"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct canary_world w;

        canary_world_init(&w);
        if (cases[i].hook)
            remove_hook(w.new_obj, cases[i].hook);
        else if (strcmp(cases[i].key, "skipAnalysis") == 0)
            fake_put(w.new_obj, "spec", cases[i].key, cJSON_Parse(cases[i].json));
        else
            fake_put(w.new_obj, "spec/analysis", cases[i].key, cJSON_Parse(cases[i].json));
        run_op(&w, "UPDATE");
        if (w.d.allowed)
            fprintf(stderr, "  case %s allowed\n", cases[i].what);
        CHECK_INT(w.d.allowed, 0);
        CHECK(w.d.message && strstr(w.d.message, "manual-gate: Canary test/podinfo is gated but still breaks an "
                                                 "invariant after all mutations"));
        CHECK(w.d.message && strstr(w.d.message, cases[i].names));
        CHECK(w.d.patch == NULL);
        canary_world_free(&w);
    }
}

/* A denial of the mutator on the final object is reported as a broken invariant too. */
static void canary_reports_mutation_denial_as_invariant(void)
{
    struct canary_world w;

    canary_world_init(&w);
    /* two /gate/check hooks: which one holds the gate is the user's call, the mutator refuses */
    cJSON_AddItemToArray(fake_at(w.new_obj, "spec/analysis/webhooks"),
                         cJSON_Parse("{\"name\":\"second-check\",\"type\":\"confirm-traffic-increase\","
                                     "\"url\":\"http://flagger-loadtester.test/gate/check\",\"muteAlert\":true}"));
    run_op(&w, "CREATE");
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "manual-gate: Canary test/podinfo is gated but still breaks an "
                                             "invariant after all mutations: "));
    CHECK(w.d.message && !strstr(w.d.message, "mutations: manual-gate: "));
    canary_world_free(&w);
}

/* Flagger's own metadata writes (finalizers, annotations) to a Canary it cannot fix must pass. */
static void canary_allows_update_that_leaves_gating_inputs_alone(void)
{
    struct canary_world w;

    canary_world_init(&w);
    fake_put(w.old_obj, "spec/analysis", "iterations", cJSON_CreateNumber(10));
    fake_put(w.new_obj, "spec/analysis", "iterations", cJSON_CreateNumber(10));
    fake_put(w.new_obj, "metadata", "finalizers", cJSON_Parse("[\"finalizer.flagger.app\"]"));
    fake_put(w.new_obj, "status", "canaryWeight", cJSON_CreateNumber(20));
    run_op(&w, "UPDATE");
    CHECK_INT(w.d.allowed, 1);
    /* a spec change on the same Canary is judged again */
    fake_put(w.new_obj, "spec/analysis", "maxWeight", cJSON_CreateNumber(30));
    run_op(&w, "UPDATE");
    CHECK_INT(w.d.allowed, 0);
    canary_world_free(&w);
}

/* Blocking the finalizer removal of a Canary being deleted would wedge the deletion. */
static void canary_allows_update_while_being_deleted(void)
{
    struct canary_world w;

    canary_world_init(&w);
    fake_put(w.new_obj, "spec/analysis", "iterations", cJSON_CreateNumber(10));
    fake_put(w.new_obj, "metadata", "deletionTimestamp", cJSON_CreateString("2024-05-03T10:00:00Z"));
    fake_del(w.new_obj, "spec/analysis", "webhooks");
    run_op(&w, "UPDATE");
    CHECK_INT(w.d.allowed, 1);
    canary_world_free(&w);
}

/* Deleting a gated Canary in flight drops the release: Flagger re-created would promote the current
 * template unanalysed. */
static void canary_denies_delete_in_flight(void)
{
    static const char *const phases[] = {"Progressing", "Waiting", "WaitingPromotion", "Promoting", "Finalising"};
    size_t i;

    for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        struct canary_world w;

        canary_world_init(&w);
        set_phase(w.old_obj, phases[i]);
        run_op(&w, "DELETE");
        CHECK_INT(w.d.allowed, 0);
        CHECK(w.d.message && strstr(w.d.message, "deleting it makes Flagger forget the release"));
        CHECK(w.d.message && strstr(w.d.message, "Finish the release or roll it back first, then delete it"));
        CHECK(w.d.patch == NULL);
        canary_world_free(&w);
    }
}

static void canary_allows_delete_outside_a_release(void)
{
    static const char *const phases[] = {"", "Initialized", "Succeeded", "Terminated"};
    size_t i;

    for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        struct canary_world w;

        canary_world_init(&w);
        set_phase(w.old_obj, phases[i]);
        run_op(&w, "DELETE");
        CHECK_INT(w.d.allowed, 1);
        canary_world_free(&w);
    }
    {
        /* An ungated Canary in flight is none of manual-gate's business. */
        struct canary_world w;

        canary_world_init(&w);
        fake_put(w.old_obj, "spec/analysis", "webhooks", cJSON_CreateArray());
        run_op(&w, "DELETE");
        CHECK_INT(w.d.allowed, 1);
        canary_world_free(&w);
    }
}

/* A failed promotion can leave the canary serving traffic; deleting the Canary then also removes the
 * primary it owns. */
static void canary_denies_delete_after_a_failed_promotion(void)
{
    struct canary_world w;

    canary_world_init(&w);
    set_phase(w.old_obj, "Failed");
    fake_put(w.old_obj, "status", "canaryWeight", cJSON_CreateNumber(100));
    run_op(&w, "DELETE");
    CHECK_INT(w.d.allowed, 0);
    fake_put(w.old_obj, "status", "canaryWeight", cJSON_CreateNumber(0));
    run_op(&w, "DELETE");
    CHECK_INT(w.d.allowed, 1);
    canary_world_free(&w);
}

/* The annotation cannot come with a DELETE: --override-group members pass, audited. */
static void canary_override_group_may_delete_in_flight(void)
{
    struct canary_world w;
    struct admission_request r;
    struct fake_lookup none = {{NULL}, 0, 0};
    struct canary_lookup l = fake_lookup_of(&none);
    cJSON *groups = cJSON_Parse("[\"system:authenticated\",\"sre\"]");

    canary_world_init(&w);
    w.cfg.override_group = "sre";
    r = fake_request("flagger.app", "Canary", "DELETE", w.old_obj, NULL, groups);
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
    CHECK_INT(w.d.allowed, 1);
    CHECK_STR(fake_audit(&w.d, "override-user"), "alice");
    CHECK_STR(fake_audit(&w.d, "override-reason"), "member of the override group sre");
    CHECK(fake_warned(&w.d, "deleting Canary podinfo drops its gated release"));
    decision_free(&w.d);
    /* An annotation on the stored Canary does not count. */
    fake_put(w.old_obj, "metadata", "annotations", cJSON_Parse("{\"manual-gate.io/override\":\"please\"}"));
    r = fake_request("flagger.app", "Canary", "DELETE", w.old_obj, NULL, NULL);
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
    CHECK_INT(w.d.allowed, 0);
    cJSON_Delete(groups);
    canary_world_free(&w);
}

/* A namespace being deleted takes the target with it: its controller is not blocked. */
static void canary_namespace_deletion_may_delete_in_flight(void)
{
    struct canary_world w;
    struct admission_request r;
    struct fake_lookup none = {{NULL}, 0, 0};
    struct canary_lookup l = fake_lookup_of(&none);

    canary_world_init(&w);
    r = fake_request("flagger.app", "Canary", "DELETE", w.old_obj, NULL, NULL);
    r.username = "system:serviceaccount:kube-system:namespace-controller";
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
    CHECK_INT(w.d.allowed, 1);
    CHECK(fake_warned(&w.d, "namespace test is being deleted"));
    canary_world_free(&w);
}

/* A new targetRef in flight: Flagger compares the new target with the last applied spec and starts over. */
static void canary_denies_target_ref_change_in_flight(void)
{
    struct canary_world w;

    canary_world_init(&w);
    fake_put(w.new_obj, "spec/targetRef", "name", cJSON_CreateString("podinfo-v2"));
    run_op(&w, "UPDATE");
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "changing spec.targetRef"));
    set_phase(w.old_obj, "Succeeded");
    run_op(&w, "UPDATE");
    CHECK_INT(w.d.allowed, 1);
    canary_world_free(&w);
}

/* analysis.mirror: the step out of mirroring takes live traffic with no confirm-traffic-increase call. */
static void canary_denies_mirror_with_gating(void)
{
    struct canary_world w;

    canary_world_init(&w);
    fake_put(w.new_obj, "spec/analysis", "mirror", cJSON_CreateTrue());
    run_op(&w, "CREATE");
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "spec.analysis.mirror is true"));
    CHECK(w.d.message && strstr(w.d.message, "first step with live traffic would be taken with no human"));
    fake_put(w.new_obj, "spec/analysis", "mirror", cJSON_CreateFalse());
    run_op(&w, "CREATE");
    CHECK_INT(w.d.allowed, 1);
    canary_world_free(&w);
}

/* stepWeights changed in flight so that 10% is no longer a step: Flagger jumps to 100% next. Allowed
 * (the gate still holds), with a warning that says where the next opened gate goes. */
static void canary_warns_when_a_new_step_plan_moves_the_next_step(void)
{
    struct canary_world w;

    canary_world_init(&w);
    fake_del(w.old_obj, "spec/analysis", "maxWeight");
    fake_del(w.old_obj, "spec/analysis", "stepWeight");
    fake_put(w.old_obj, "spec/analysis", "stepWeights", cJSON_Parse("[10, 20, 40]"));
    fake_del(w.new_obj, "spec/analysis", "maxWeight");
    fake_del(w.new_obj, "spec/analysis", "stepWeight");
    fake_put(w.new_obj, "spec/analysis", "stepWeights", cJSON_Parse("[5, 25, 50]"));
    run_op(&w, "UPDATE");
    CHECK_INT(w.d.allowed, 1);
    CHECK(fake_warned(&w.d, "the next opened gate takes podinfo from 10% to 100% (was 20%)"));
    /* A plan that keeps the next step says nothing. */
    fake_put(w.new_obj, "spec/analysis", "stepWeights", cJSON_Parse("[10, 20, 60]"));
    run_op(&w, "UPDATE");
    CHECK_INT(w.d.allowed, 1);
    CHECK(w.d.warnings == NULL);
    /* maxWeight lowered to the current weight: the next step promotes. */
    fake_del(w.new_obj, "spec/analysis", "stepWeights");
    fake_put(w.new_obj, "spec/analysis", "stepWeights", cJSON_Parse("[5, 10]"));
    run_op(&w, "UPDATE");
    CHECK(fake_warned(&w.d, "from 10% to promotion (was 20%)"));
    canary_world_free(&w);
}

static void canary_dry_run_gets_same_decision(void)
{
    struct canary_world w;
    struct admission_request r;
    struct decision wet;

    canary_world_init(&w);
    fake_del(w.new_obj, "spec/analysis", "webhooks");
    r = fake_request("flagger.app", "Canary", "UPDATE", w.old_obj, w.new_obj, NULL);
    decision_init(&wet);
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, NULL, &wet);
    r.dry_run = 1;
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, NULL, &w.d);
    CHECK_INT(w.d.allowed, 0);
    CHECK_INT(w.d.allowed, wet.allowed);
    CHECK_STR(w.d.message, wet.message);
    decision_free(&wet);
    canary_world_free(&w);
}

/* Shapes the CRD schema would reject must not crash the policy. want: the decision on an UPDATE from
 * the stored Canary in flight (-1: whatever the mutator's invariants say). */
static void canary_survives_malformed_objects(void)
{
    static const struct { const char *json; int want; } cases[] = {
        {"{}", 0},
        {"{\"spec\":[]}", 0},
        {"{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"true\"}},\"spec\":7}", 0},
        {"{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"true\"}},\"spec\":{\"analysis\":{\"webhooks\":{}}}}", -1},
        {"{\"spec\":{\"analysis\":{\"webhooks\":[1,{\"type\":\"confirm-traffic-increase\",\"url\":\"/gate/check\"}],"
         "\"iterations\":\"x\"}},\"status\":[]}", -1},
        {"{\"spec\":{\"analysis\":{\"webhooks\":[{\"type\":\"confirm-traffic-increase\",\"url\":\"/gate/check\"}],"
         "\"iterations\":3}},\"metadata\":[]}", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct canary_world w;
        cJSON *bad = cJSON_Parse(cases[i].json);
        struct admission_request r;

        CHECK(bad != NULL);
        canary_world_init(&w);
        r = fake_request("flagger.app", "Canary", "UPDATE", w.old_obj, bad, NULL);
        r.namespace_ = "test";
        r.name = "podinfo";
        admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, NULL, &w.d);
        if (cases[i].want >= 0)
            CHECK_INT(w.d.allowed, cases[i].want);
        decision_free(&w.d);
        r = fake_request("flagger.app", "Canary", "UPDATE", bad, w.new_obj, NULL);
        admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, NULL, &w.d);
        decision_free(&w.d);
        r = fake_request("flagger.app", "Canary", "CREATE", NULL, bad, NULL);
        admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, NULL, &w.d);
        cJSON_Delete(bad);
        canary_world_free(&w);
    }
}

static void add_hook(cJSON *obj, const char *json)
{
    cJSON_AddItemToArray(fake_at(obj, "spec/analysis/webhooks"), cJSON_Parse(json));
}

/* A hook on /gate/open or /rollback/open opens the gate (or rolls back) each time Flagger calls it. */
static void canary_denies_hook_that_opens_a_gate_by_itself(void)
{
    static const struct { const char *type, *url, *says; } cases[] = {
        {"rollout", "http://flagger-loadtester.test/gate/open", "/gate/open"},
        {"confirm-traffic-increase", "http://flagger-loadtester.test/gate/open", "/gate/open"},
        {"pre-rollout", "http://flagger-loadtester.test:80/gate/open?x=1", "/gate/open"},
        {"confirm-promotion", "/gate/open", "/gate/open"},
        {"event", "http://other-host.test/gate/open#x", "/gate/open"},
        {"rollout", "http://flagger-loadtester.test/rollback/open", "/rollback/open"},
        {"rollback", "http://flagger-loadtester.test/rollback/open", "/rollback/open"},
        {"post-rollout", "https://flagger-loadtester.test/rollback/open", "/rollback/open"},
        {"rollout", "http://flagger-loadtester.test/gate/%6Fpen", "/gate/open"},
    };
    static const char *const ops[] = {"CREATE", "UPDATE"};
    size_t i, o;
    char json[512];

    for (o = 0; o < 2; o++) {
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct canary_world w;

            canary_world_init(&w);
            snprintf(json, sizeof(json), "{\"name\":\"self-open\",\"type\":\"%s\",\"url\":\"%s\"}", cases[i].type,
                     cases[i].url);
            add_hook(w.new_obj, json);
            run_op(&w, ops[o]);
            if (w.d.allowed)
                fprintf(stderr, "  %s %s %s allowed\n", ops[o], cases[i].type, cases[i].url);
            CHECK_INT(w.d.allowed, 0);
            CHECK_INT(w.d.code, 403);
            CHECK(w.d.message && strstr(w.d.message, "manual-gate: Canary test/podinfo is gated but its webhook "
                                                     "\"self-open\" calls the loadtester's "));
            CHECK(w.d.message && strstr(w.d.message, cases[i].says));
            canary_world_free(&w);
        }
    }
}

static void canary_self_opening_denial_says_what_happens(void)
{
    struct canary_world w;

    canary_world_init(&w);
    add_hook(w.new_obj, "{\"name\":\"open\",\"type\":\"rollout\",\"url\":\"http://flagger-loadtester.test/gate/open\"}");
    run_op(&w, "CREATE");
    CHECK_STR(w.d.message,
              "manual-gate: Canary test/podinfo is gated but its webhook \"open\" calls the loadtester's /gate/open: "
              "Flagger calls it by itself, so the gate would open with no human and the release run on to 100%. "
              "Remove that webhook; a human opens the gate with manual-gate gate open podinfo -n test (a POST to /gate/open).");
    decision_free(&w.d);
    canary_world_free(&w);

    canary_world_init(&w);
    add_hook(w.new_obj, "{\"name\":\"abort\",\"type\":\"rollout\",\"url\":\"http://flagger-loadtester.test/rollback/open\"}");
    run_op(&w, "CREATE");
    CHECK_STR(w.d.message,
              "manual-gate: Canary test/podinfo is gated but its webhook \"abort\" calls the loadtester's "
              "/rollback/open: Flagger calls it by itself, so the release would roll back with no human. "
              "Remove that webhook; a human rolls back with manual-gate rollback open podinfo -n test (a POST to /rollback/open).");
    canary_world_free(&w);
}

/* Each way of being gated counts, the label "false" over a /gate/check hook included (Flagger still
 * calls the check); the older spec.canaryAnalysis too. */
static void canary_denies_self_opening_hook_for_each_gating(void)
{
    static const char *const shapes[] = {"label true, no check", "label false over a check", "canaryAnalysis"};
    size_t i;

    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        struct canary_world w;
        cJSON *analysis;

        canary_world_init(&w);
        if (i == 0) {
            fake_put(w.new_obj, "spec/analysis", "webhooks", cJSON_CreateArray());
            set_label(w.new_obj, "true");
        } else if (i == 1) {
            set_label(w.new_obj, "false");
        }
        add_hook(w.new_obj, "{\"name\":\"open\",\"type\":\"rollout\",\"url\":\"http://lt/gate/open\"}");
        if (i == 2) {
            analysis = cJSON_DetachItemFromObjectCaseSensitive(fake_at(w.new_obj, "spec"), "analysis");
            cJSON_AddItemToObject(fake_at(w.new_obj, "spec"), "canaryAnalysis", analysis);
        }
        run_op(&w, "CREATE");
        if (w.d.allowed)
            fprintf(stderr, "  %s allowed\n", shapes[i]);
        CHECK_INT(w.d.allowed, 0);
        CHECK(w.d.message && strstr(w.d.message, "calls the loadtester's /gate/open"));
        canary_world_free(&w);
    }
}

/* Other gate endpoints are the pattern itself; an ungated Canary may call whatever it likes. */
static void canary_allows_other_gate_urls_and_ungated_canaries(void)
{
    static const char *const urls[] = {
        "http://flagger-loadtester.test/gate/close", "http://flagger-loadtester.test/rollback/close",
        "http://flagger-loadtester.test/gate/opener", "http://flagger-loadtester.test/x/gate/open",
        "http://flagger-loadtester.test/?next=/gate/open", "http://gate/open",
        "http://flagger-loadtester.test/gate/open/",
    };
    size_t i;
    char json[512];

    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct canary_world w;

        canary_world_init(&w);
        snprintf(json, sizeof(json), "{\"name\":\"other\",\"type\":\"rollout\",\"url\":\"%s\"}", urls[i]);
        add_hook(w.new_obj, json);
        run_op(&w, "CREATE");
        if (!w.d.allowed)
            fprintf(stderr, "  %s denied: %s\n", urls[i], w.d.message);
        CHECK_INT(w.d.allowed, 1);
        canary_world_free(&w);
    }
    {
        struct canary_world w;

        canary_world_init(&w);
        fake_put(w.new_obj, "spec/analysis", "webhooks", cJSON_CreateArray());
        add_hook(w.new_obj, "{\"name\":\"open\",\"type\":\"rollout\",\"url\":\"http://lt/gate/open\"}");
        run_op(&w, "CREATE");
        CHECK_INT(w.d.allowed, 1);
        canary_world_free(&w);
    }
}

/* The message names the hook, never its URL: userinfo and query may hold credentials. */
static void canary_self_opening_denial_does_not_quote_the_url(void)
{
    struct canary_world w;

    canary_world_init(&w);
    add_hook(w.new_obj, "{\"type\":\"rollout\",\"url\":\"http://admin:hunter2@lt/gate/open?token=abc\"}");
    run_op(&w, "CREATE");
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "its webhook number 6 calls the loadtester's /gate/open"));
    CHECK(w.d.message && !strstr(w.d.message, "hunter2") && !strstr(w.d.message, "token=abc"));
    canary_world_free(&w);
}

/* With \u0000 in the body, equal-looking specs may differ: the update is judged in full. */
static void canary_lossy_update_is_judged_in_full(void)
{
    struct canary_world w;
    struct admission_request r;

    canary_world_init(&w);
    fake_put(w.old_obj, "spec/analysis", "iterations", cJSON_CreateNumber(10));
    fake_put(w.new_obj, "spec/analysis", "iterations", cJSON_CreateNumber(10));
    fake_put(w.new_obj, "metadata", "finalizers", cJSON_Parse("[\"finalizer.flagger.app\"]"));
    r = fake_request("flagger.app", "Canary", "UPDATE", w.old_obj, w.new_obj, NULL);
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, NULL, &w.d);
    CHECK_INT(w.d.allowed, 1);
    decision_free(&w.d);
    r.lossy = 1;
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, NULL, &w.d);
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "iterations is 10"));
    canary_world_free(&w);
}

TEST_MAIN("validate_canary",
          TEST(canary_allows_complete_gated_canary),
          TEST(canary_denies_removing_gating_in_flight),
          TEST(canary_allows_dropping_label_while_hooks_gate),
          TEST(canary_allows_removing_gating_outside_a_release),
          TEST(canary_reads_phase_of_stored_object),
          TEST(canary_denies_gating_flagger_never_consults),
          TEST(canary_denies_gating_under_a_kubernetes_mesh_provider),
          TEST(canary_reads_canary_analysis),
          TEST(canary_allows_zero_iterations),
          TEST(canary_allows_any_strategy_without_gating),
          TEST(canary_denies_gated_canary_without_analysis),
          TEST(canary_denies_broken_invariant),
          TEST(canary_reports_mutation_denial_as_invariant),
          TEST(canary_allows_update_that_leaves_gating_inputs_alone),
          TEST(canary_allows_update_while_being_deleted),
          TEST(canary_denies_delete_in_flight),
          TEST(canary_allows_delete_outside_a_release),
          TEST(canary_denies_delete_after_a_failed_promotion),
          TEST(canary_override_group_may_delete_in_flight),
          TEST(canary_namespace_deletion_may_delete_in_flight),
          TEST(canary_denies_target_ref_change_in_flight),
          TEST(canary_denies_mirror_with_gating),
          TEST(canary_warns_when_a_new_step_plan_moves_the_next_step),
          TEST(canary_dry_run_gets_same_decision),
          TEST(canary_survives_malformed_objects),
          TEST(canary_denies_hook_that_opens_a_gate_by_itself),
          TEST(canary_self_opening_denial_says_what_happens),
          TEST(canary_denies_self_opening_hook_for_each_gating),
          TEST(canary_allows_other_gate_urls_and_ungated_canaries),
          TEST(canary_self_opening_denial_does_not_quote_the_url),
          TEST(canary_lossy_update_is_judged_in_full))
