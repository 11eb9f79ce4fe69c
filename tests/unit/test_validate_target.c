/*
 * The validating policy on Deployments and DaemonSets, through admission_decide with a fake Canary
 * lookup: a template change is denied only while the gated Canary that targets the object has a
 * release in flight; break glass, an unknown cache and --fail-open.
 */
#include "check.h"

#include "fake_lookup.h"
#include "admission.h"
#include "policy.h"

#define IMAGE_PATH "spec/template/spec/containers/0"


static void set_image(cJSON *obj, const char *image)
{
    fake_put(obj, IMAGE_PATH, "image", cJSON_CreateString(image));
}

static void set_phase(cJSON *canary, const char *phase, int weight)
{
    fake_put(canary, "status", "phase", cJSON_CreateString(phase));
    fake_put(canary, "status", "canaryWeight", cJSON_CreateNumber(weight));
}


/* Validate old_obj -> new_obj (op) of kind as alice. */
static void run_op(struct world *w, const char *kind, const char *op)
{
    struct admission_request r = fake_request("apps", kind, op, strcmp(op, "CREATE") ? w->old_obj : NULL,
                                              strcmp(op, "DELETE") ? w->new_obj : NULL, w->groups);
    struct canary_lookup l = fake_lookup_of(&w->fake);

    decision_free(&w->d);
    admission_decide(ADMISSION_VALIDATE, &r, &w->cfg, &l, &w->d);
}

static void run(struct world *w)
{
    run_op(w, "Deployment", "UPDATE");
}

static void target_denies_new_image_during_gated_release(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK_INT(w.d.code, 403);
    CHECK_STR(w.d.message,
              "manual-gate: Deployment test/podinfo is the target of Canary test/podinfo, whose gated release is in "
              "flight (phase Progressing, canary weight 10%): a new pod template makes Flagger restart the analysis "
              "from 0%. Finish the release (manual-gate gate open podinfo -n test, one step each) or roll it back "
              "(manual-gate rollback open podinfo -n test), then apply; or set or change the annotation manual-gate.io/override: \"<reason>\" in the same request to "
              "force it.");
    CHECK(w.d.patch == NULL);
    CHECK(w.d.audit == NULL);
    world_free(&w);
}

/* Every way a pod template changes is a new revision for Flagger. */
static void target_denies_every_template_change(void)
{
    static const struct { const char *what; const char *path; const char *key; const char *json; } cases[] = {
        {"env var", IMAGE_PATH, "env", "[{\"name\":\"PODINFO_UI_COLOR\",\"value\":\"#ff0000\"}]"},
        {"rollout restart", "spec/template/metadata", "annotations",
         "{\"prometheus.io/scrape\":\"true\",\"kubectl.kubernetes.io/restartedAt\":\"2024-05-03T10:00:00Z\"}"},
        {"pod label", "spec/template/metadata", "labels", "{\"app\":\"podinfo\",\"track\":\"x\"}"},
        {"resources", IMAGE_PATH, "resources", "{\"limits\":{\"cpu\":\"1\"}}"},
        {"template removed", "spec", "template", "null"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct world w;

        world_init(&w, "validate/deployment.json");
        if (strcmp(cases[i].json, "null") == 0)
            fake_del(w.new_obj, cases[i].path, cases[i].key);
        else
            fake_put(w.new_obj, cases[i].path, cases[i].key, cJSON_Parse(cases[i].json));
        run(&w);
        if (w.d.allowed)
            fprintf(stderr, "  case %s allowed\n", cases[i].what);
        CHECK_INT(w.d.allowed, 0);
        world_free(&w);
    }
}

/* What Flagger, the HPA, kubectl scale and controllers write must never be blocked. */
static void target_allows_changes_outside_the_template(void)
{
    static const struct { const char *what; const char *path; const char *key; const char *json; } cases[] = {
        {"replicas", "spec", "replicas", "0"},
        {"labels", "metadata", "labels", "{\"app\":\"podinfo\",\"team\":\"web\"}"},
        {"annotations", "metadata", "annotations", "{\"deployment.kubernetes.io/revision\":\"8\"}"},
        {"status", "status", "readyReplicas", "1"},
        {"strategy", "spec", "progressDeadlineSeconds", "900"},
        {"same template, other key order", "spec", "template",
         "{\"spec\":{\"dnsPolicy\":\"ClusterFirst\",\"terminationGracePeriodSeconds\":30.0,\"restartPolicy\":\"Always\","
         "\"volumes\":[{\"name\":\"config\",\"configMap\":{\"name\":\"podinfo-config\"}}],\"containers\":[{"
         "\"volumeMounts\":[{\"mountPath\":\"/etc/podinfo\",\"name\":\"config\"}],\"resources\":{\"requests\":{"
         "\"memory\":\"64Mi\",\"cpu\":\"100m\"},\"limits\":{\"memory\":\"512Mi\",\"cpu\":\"2\"}},\"env\":[{\"value\":"
         "\"#34577c\",\"name\":\"PODINFO_UI_COLOR\"}],\"command\":[\"./podinfo\",\"--port=9898\",\"--level=info\"],"
         "\"ports\":[{\"protocol\":\"TCP\",\"containerPort\":9898,\"name\":\"http\"}],\"imagePullPolicy\":"
         "\"IfNotPresent\",\"image\":\"ghcr.io/stefanprodan/podinfo:6.5.0\",\"name\":\"podinfod\"}]},"
         "\"metadata\":{\"annotations\":{\"prometheus.io/scrape\":\"true\"},\"labels\":{\"app\":\"podinfo\"}}}"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct world w;

        world_init(&w, "validate/deployment.json");
        fake_put(w.new_obj, cases[i].path, cases[i].key, cJSON_Parse(cases[i].json));
        CHECK(!cJSON_Compare(w.old_obj, w.new_obj, 1) || strstr(cases[i].what, "order"));
        run(&w);
        if (!w.d.allowed)
            fprintf(stderr, "  case %s denied: %s\n", cases[i].what, w.d.message);
        CHECK_INT(w.d.allowed, 1);
        CHECK(w.d.warnings == NULL);
        world_free(&w);
    }
}

static void target_allows_create_and_delete_during_gated_release(void)
{
    static const char *const ops[] = {"CREATE", "DELETE", "CONNECT"};
    size_t i;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        struct world w;

        world_init(&w, "validate/deployment.json");
        set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
        run_op(&w, "Deployment", ops[i]);
        CHECK_INT(w.d.allowed, 1);
        world_free(&w);
    }
}

static void target_allows_untargeted_deployment(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    fake_put(w.canary, "spec/targetRef", "name", cJSON_CreateString("frontend"));
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

/* Flagger writes the template of <name>-primary itself; no Canary targets it. */
static void target_allows_primary_deployment(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    fake_put(w.old_obj, "metadata", "name", cJSON_CreateString("podinfo-primary"));
    fake_put(w.new_obj, "metadata", "name", cJSON_CreateString("podinfo-primary"));
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

/* The same target name in another namespace is another object. */
static void target_ignores_canary_in_other_namespace(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    fake_put(w.canary, "metadata", "namespace", cJSON_CreateString("other"));
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 1);

    /* and the Deployment of that other namespace is the protected one */
    fake_put(w.old_obj, "metadata", "namespace", cJSON_CreateString("other"));
    fake_put(w.new_obj, "metadata", "namespace", cJSON_CreateString("other"));
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "Deployment other/podinfo is the target of Canary other/podinfo"));
    world_free(&w);
}

static void target_denies_daemonset_template_change(void)
{
    struct world w;

    world_init(&w, "validate/daemonset.json");
    fake_put(w.canary, "spec", "targetRef",
             cJSON_Parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"name\":\"node-agent\"}"));
    fake_put(w.new_obj, "spec/template/spec/containers/0", "image", cJSON_CreateString("ghcr.io/example/node-agent:1.5.0"));
    run_op(&w, "DaemonSet", "UPDATE");
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "manual-gate: DaemonSet test/node-agent is the target of Canary test/podinfo"));
    world_free(&w);
}

/* targetRef.kind is part of the match: a Canary of Deployment podinfo does not own DaemonSet podinfo. */
static void target_matches_target_kind(void)
{
    struct world w;

    world_init(&w, "validate/daemonset.json");
    fake_put(w.old_obj, "metadata", "name", cJSON_CreateString("podinfo"));
    fake_put(w.new_obj, "metadata", "name", cJSON_CreateString("podinfo"));
    fake_put(w.new_obj, "spec/template/spec/containers/0", "image", cJSON_CreateString("ghcr.io/example/node-agent:1.5.0"));
    run_op(&w, "DaemonSet", "UPDATE");
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

/* Trigger A (label), trigger B (/gate/check hook), and the label "false" with no hook of its own. */
static void target_follows_each_gating_trigger(void)
{
    static const struct { const char *what; const char *label; int keep_hooks; int want_allowed; } cases[] = {
        {"hook (trigger B)", NULL, 1, 0},
        {"label true (trigger A)", "true", 0, 0},
        {"label true and hook", "true", 1, 0},
        {"no gating", NULL, 0, 1},
        {"label false, no hook", "false", 0, 1},
        {"label other than true", "yes", 0, 1},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct world w;

        world_init(&w, "validate/deployment.json");
        if (!cases[i].keep_hooks)
            fake_del(w.canary, "spec/analysis", "webhooks");
        if (cases[i].label) {
            fake_put(w.canary, "metadata", "labels", cJSON_CreateObject());
            fake_put(w.canary, "metadata/labels", "manual-gate.io/enabled", cJSON_CreateString(cases[i].label));
        }
        set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
        run(&w);
        if (w.d.allowed != cases[i].want_allowed)
            fprintf(stderr, "  case %s: allowed=%d\n", cases[i].what, w.d.allowed);
        CHECK_INT(w.d.allowed, cases[i].want_allowed);
        world_free(&w);
    }
}

/* A gate hook in the older spec.canaryAnalysis counts too (Flagger's GetAnalysis). */
static void target_denies_when_gated_in_canary_analysis(void)
{
    struct world w;
    cJSON *analysis;

    world_init(&w, "validate/deployment.json");
    analysis = cJSON_DetachItemFromObjectCaseSensitive(fake_at(w.canary, "spec"), "analysis");
    cJSON_AddItemToObject(fake_at(w.canary, "spec"), "canaryAnalysis", analysis);
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    world_free(&w);
}

/* The phase table: a template change is denied where Flagger would lose the release, and every denial
 * says what would really happen in that phase. */
static void target_follows_the_phase_table(void)
{
    static const struct {
        const char *phase;
        int weight, want_allowed;
        const char *says; /* in the message (denied) or a warning (allowed), or NULL for a silent allow */
    } cases[] = {
        {"Progressing", 30, 0, "restart the analysis from 0%"},
        {"Progressing", 0, 1, "no step was taken yet, only waiting time is lost"},
        {"WaitingPromotion", 0, 0, "restart the analysis from 0%"},
        {"Promoting", 50, 0, "unanalysed code would go live"},
        {"Failed", 100, 0, "unanalysed code on live traffic at once"},
        {"Failed", 0, 1, NULL},
        {"Finalising", 0, 1, "starts a new gated release once it has Succeeded"},
        {"Waiting", 0, 1, NULL},
        {"", 0, 1, NULL}, {"Initializing", 0, 1, NULL}, {"Initialized", 0, 1, NULL}, {"Succeeded", 0, 1, NULL},
        {"Terminating", 0, 1, NULL}, {"Terminated", 0, 1, NULL},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct world w;
        const char *text;

        world_init(&w, "validate/deployment.json");
        set_phase(w.canary, cases[i].phase, cases[i].weight);
        set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
        run(&w);
        if (w.d.allowed != cases[i].want_allowed)
            fprintf(stderr, "  phase \"%s\" at %d%%: allowed=%d\n", cases[i].phase, cases[i].weight, w.d.allowed);
        CHECK_INT(w.d.allowed, cases[i].want_allowed);
        text = w.d.allowed ? (w.d.warnings ? cJSON_GetArrayItem(w.d.warnings, 0)->valuestring : NULL) : w.d.message;
        if (cases[i].says)
            CHECK(text && strstr(text, cases[i].says));
        else
            CHECK(text == NULL);
        /* Never a restart where Flagger would not restart. */
        if (strcmp(cases[i].phase, "Promoting") == 0 || strcmp(cases[i].phase, "Failed") == 0)
            CHECK(!text || !strstr(text, "restart the analysis"));
        world_free(&w);
    }
}

/* In WaitingPromotion Flagger writes weight 0 but the routes stay weighted: the message says so. */
static void target_denial_in_waiting_promotion_says_the_routes_are_weighted(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    set_phase(w.canary, "WaitingPromotion", 0);
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "its status reads canary weight 0%, but the routes still send the "
                                             "canary its last step's share"));
    world_free(&w);
}

/* --flagger-deployment: a new Flagger can restart every gated release in flight once. */
static void target_denies_a_flagger_upgrade_while_releases_are_in_flight(void)
{
    static const char *const flagger[] = {"flagger-system/flagger", NULL};
    struct world w;
    cJSON *others[6];
    char name[16];
    int i;

    world_init(&w, "validate/deployment.json");
    w.cfg.flagger_deployments = flagger;
    fake_put(w.old_obj, "metadata", "namespace", cJSON_CreateString("flagger-system"));
    fake_put(w.new_obj, "metadata", "namespace", cJSON_CreateString("flagger-system"));
    fake_put(w.old_obj, "metadata", "name", cJSON_CreateString("flagger"));
    fake_put(w.new_obj, "metadata", "name", cJSON_CreateString("flagger"));
    for (i = 0; i < 6; i++) {
        others[i] = cJSON_Duplicate(w.canary, 1);
        snprintf(name, sizeof(name), "app-%d", i);
        fake_put(others[i], "metadata", "name", cJSON_CreateString(name));
        w.fake.canaries[w.fake.n++] = others[i];
    }
    set_image(w.old_obj, "ghcr.io/fluxcd/flagger:1.37.0");
    set_image(w.new_obj, "ghcr.io/fluxcd/flagger:1.38.0");
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    /* Five named (sorted), and how many more. */
    CHECK(w.d.message && strstr(w.d.message, "test/app-0 (Progressing, 10%), test/app-1 (Progressing, 10%), test/app-2 "
                                             "(Progressing, 10%), test/app-3 (Progressing, 10%), test/app-4 (Progressing,"
                                             " 10%) and 2 more"));
    CHECK(w.d.message && strstr(w.d.message, "restart every gated release in flight from 0% once"));
    /* Scaling Flagger is no upgrade. */
    set_image(w.new_obj, "ghcr.io/fluxcd/flagger:1.37.0");
    fake_put(w.new_obj, "spec", "replicas", cJSON_CreateNumber(2));
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    /* The override works as on targets. */
    set_image(w.new_obj, "ghcr.io/fluxcd/flagger:1.38.0");
    fake_annotate(w.new_obj, "manual-gate.io/override", "CVE fix in Flagger");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK_STR(fake_audit(&w.d, "override-reason"), "CVE fix in Flagger");
    /* No release in flight: allowed. */
    fake_del(w.new_obj, "metadata/annotations", "manual-gate.io/override");
    for (i = 0; i < w.fake.n; i++)
        fake_put((cJSON *)w.fake.canaries[i], "status", "phase", cJSON_CreateString("Succeeded"));
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    for (i = 0; i < 6; i++)
        cJSON_Delete(others[i]);
    world_free(&w);
}

/* Only the Deployments named: the same name elsewhere is an ordinary Deployment. */
static void target_flagger_deployment_matches_namespace_and_name(void)
{
    static const char *const flagger[] = {"flagger-system/flagger", "istio-system/flagger", NULL};
    static const struct { const char *ns, *name; int denied; } cases[] = {
        {"flagger-system", "flagger", 1}, {"istio-system", "flagger", 1}, {"flagger-system", "flagger-x", 0},
        {"flagger", "system/flagger", 0}, {"default", "flagger", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct world w;

        world_init(&w, "validate/deployment.json");
        w.cfg.flagger_deployments = flagger;
        fake_put(w.old_obj, "metadata", "namespace", cJSON_CreateString(cases[i].ns));
        fake_put(w.new_obj, "metadata", "namespace", cJSON_CreateString(cases[i].ns));
        fake_put(w.old_obj, "metadata", "name", cJSON_CreateString(cases[i].name));
        fake_put(w.new_obj, "metadata", "name", cJSON_CreateString(cases[i].name));
        set_image(w.new_obj, "ghcr.io/fluxcd/flagger:1.38.0");
        run(&w);
        CHECK_INT(w.d.allowed, !cases[i].denied);
        world_free(&w);
    }
}

/* The gates are not consulted during promotion: the way forward is to wait. */
static void target_denial_during_promotion_says_wait(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    set_phase(w.canary, "Promoting", 0);
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "Wait for the promotion to finish"));
    CHECK(w.d.message && !strstr(w.d.message, "/gate/open"));
    world_free(&w);
}

/* The lookup prefers the gated Canary in flight where several target the same object. */
static void target_denies_when_any_matching_canary_is_in_flight(void)
{
    struct world w;
    cJSON *idle;

    world_init(&w, "validate/deployment.json");
    idle = cJSON_Duplicate(w.canary, 1);
    fake_put(idle, "metadata", "name", cJSON_CreateString("podinfo-old"));
    set_phase(idle, "Succeeded", 0);
    w.fake.canaries[0] = idle;
    w.fake.canaries[w.fake.n++] = w.canary;
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "Canary test/podinfo,"));
    cJSON_Delete(idle);
    world_free(&w);
}

static void target_override_annotation_allows_with_warning_and_audit(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    fake_annotate(w.new_obj, "manual-gate.io/override", "CVE-2024-1234 hotfix, approved by oncall");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK(w.d.message == NULL);
    CHECK(fake_warned(&w.d, "override by alice"));
    CHECK(fake_warned(&w.d, "Canary test/podinfo"));
    CHECK_STR(fake_audit(&w.d, "override-reason"), "CVE-2024-1234 hotfix, approved by oncall");
    CHECK_STR(fake_audit(&w.d, "override-user"), "alice");
    world_free(&w);
}

/* The annotation on the stored object alone does not count: the new object is what is applied. */
static void target_override_annotation_only_on_old_object_denies(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    fake_annotate(w.old_obj, "manual-gate.io/override", "left over");
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    world_free(&w);
}

static void target_override_with_empty_reason_denies(void)
{
    static const char *const reasons[] = {"", "   ", "\t\n"};
    size_t i;

    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        struct world w;

        world_init(&w, "validate/deployment.json");
        set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
        fake_annotate(w.new_obj, "manual-gate.io/override", reasons[i]);
        run(&w);
        CHECK_INT(w.d.allowed, 0);
        CHECK(w.d.message && strstr(w.d.message, "manual-gate.io/override is empty"));
        CHECK(w.d.audit == NULL);
        world_free(&w);
    }
}

static void target_override_group_allows_with_audit(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    w.cfg.override_group = "sre-oncall";
    cJSON_AddItemToArray(w.groups, cJSON_CreateString("sre-oncall"));
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK(fake_warned(&w.d, "override by alice"));
    CHECK_STR(fake_audit(&w.d, "override-user"), "alice");
    CHECK_STR(fake_audit(&w.d, "override-reason"), "member of the override group sre-oncall");
    world_free(&w);
}

static void target_override_group_needs_membership(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    w.cfg.override_group = "sre-oncall";
    cJSON_AddItemToArray(w.groups, cJSON_CreateString("sre-oncall-readonly"));
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 0);

    /* and with no --override-group, an empty group name grants nothing */
    w.cfg.override_group = "";
    cJSON_AddItemToArray(w.groups, cJSON_CreateString(""));
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    world_free(&w);
}

/* The group lets a member through even with an empty annotation; a reason given is what is audited. */
static void target_override_group_prefers_annotation_reason(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    w.cfg.override_group = "sre-oncall";
    cJSON_AddItemToArray(w.groups, cJSON_CreateString("sre-oncall"));
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    fake_annotate(w.new_obj, "manual-gate.io/override", "");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    fake_annotate(w.new_obj, "manual-gate.io/override", "rollback of a bad config");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK_STR(fake_audit(&w.d, "override-reason"), "rollback of a bad config");
    world_free(&w);
}

/* The audit value is bounded and stays valid UTF-8. */
static void target_override_reason_is_bounded_in_audit(void)
{
    struct world w;
    char reason[600];
    const char *got;
    size_t i;

    for (i = 0; i + 2 < sizeof(reason); i += 2)
        memcpy(reason + i, "\xc3\xa9", 2); /* U+00E9, two bytes each */
    reason[i] = '\0';
    world_init(&w, "validate/deployment.json");
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    fake_annotate(w.new_obj, "manual-gate.io/override", reason);
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    got = fake_audit(&w.d, "override-reason");
    CHECK(got && strlen(got) <= 256 && strlen(got) % 2 == 0 && strncmp(got, reason, strlen(got)) == 0);
    world_free(&w);
}

static void target_unknown_cache_denies_template_change(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    w.fake.unknown = 1;
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK_INT(w.d.code, 403);
    CHECK(w.d.message && strstr(w.d.message, "the gating state of Deployment test/podinfo is unknown"));
    CHECK(w.d.message && strstr(w.d.message, "manual-gate.io/override"));
    world_free(&w);
}

static void target_unknown_cache_allows_other_changes(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    w.fake.unknown = 1;
    fake_put(w.new_obj, "spec", "replicas", cJSON_CreateNumber(5));
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

static void target_unknown_cache_with_fail_open_allows_with_warning(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    w.fake.unknown = 1;
    w.cfg.fail_open = 1;
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK(fake_warned(&w.d, "--fail-open"));
    world_free(&w);
}

/* fail-open is about an unknown state only: a known release in flight is still protected. */
static void target_fail_open_still_denies_known_release(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    w.cfg.fail_open = 1;
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    world_free(&w);
}

static void target_unknown_cache_override_allows_with_audit(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    w.fake.unknown = 1;
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    fake_annotate(w.new_obj, "manual-gate.io/override", "cache down, release verified by hand");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK(fake_warned(&w.d, "gating state is unknown"));
    CHECK_STR(fake_audit(&w.d, "override-reason"), "cache down, release verified by hand");
    world_free(&w);
}

/* A lookup without functions is a cache that cannot answer. */
static void target_missing_lookup_counts_as_unknown(void)
{
    struct world w;
    struct admission_request r;

    world_init(&w, "validate/deployment.json");
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    r = fake_request("apps", "Deployment", "UPDATE", w.old_obj, w.new_obj, w.groups);
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, NULL, &w.d);
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "is unknown"));
    world_free(&w);
}

static void target_dry_run_gets_same_decision(void)
{
    struct world w;
    struct admission_request r;
    struct canary_lookup l;
    struct decision wet;

    world_init(&w, "validate/deployment.json");
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    l = fake_lookup_of(&w.fake);
    r = fake_request("apps", "Deployment", "UPDATE", w.old_obj, w.new_obj, w.groups);
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

/* Objects the API server would never send must not crash the policy; each lacks the stored template,
 * so each is a template change. */
static void target_survives_malformed_objects(void)
{
    static const char *const bodies[] = {
        "null", "\"x\"", "[]", "{}", "{\"spec\":null}", "{\"spec\":[1]}", "{\"spec\":{\"template\":7}}",
        "{\"metadata\":{\"annotations\":{\"manual-gate.io/override\":5}},\"spec\":{\"template\":{}}}",
    };
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct world w;
        cJSON *bad = cJSON_Parse(bodies[i]);
        struct admission_request r;
        struct canary_lookup l;

        world_init(&w, "validate/deployment.json");
        l = fake_lookup_of(&w.fake);
        r = fake_request("apps", "Deployment", "UPDATE", w.old_obj, bad, w.groups);
        r.namespace_ = "test";
        r.name = "podinfo";
        admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
        CHECK_INT(w.d.allowed, 0);
        decision_free(&w.d);
        r = fake_request("apps", "Deployment", "UPDATE", bad, w.new_obj, w.groups);
        admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
        CHECK_INT(w.d.allowed, 0);
        cJSON_Delete(bad);
        world_free(&w);
    }
}

/* A gated DaemonSet release in flight with Flagger's own writes to the target (targetRef DaemonSet). */
static void world_init_daemonset(struct world *w)
{
    world_init(w, "validate/daemonset.json");
    fake_put(w->canary, "spec", "targetRef",
             cJSON_Parse("{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"name\":\"node-agent\"}"));
}

static void set_node_selector(cJSON *obj, const char *json)
{
    if (json)
        fake_put(obj, "spec/template/spec", "nodeSelector", cJSON_Parse(json));
    else
        fake_del(obj, "spec/template/spec", "nodeSelector");
}

/* Flagger "scales a DaemonSet to zero" with a nodeSelector key on its template (in Finalising, and in
 * a rollback while in flight) and removes it again; its change detection ignores that key. */
static void target_allows_flagger_scaling_daemonset_to_and_from_zero(void)
{
    static const struct { const char *what, *old_sel, *new_sel; } cases[] = {
        {"scale to zero, no selector before", NULL, "{\"flagger.app/scale-to-zero\":\"true\"}"},
        {"scale from zero, selector removed", "{\"flagger.app/scale-to-zero\":\"true\"}", NULL},
        {"scale from zero, empty selector left", "{\"flagger.app/scale-to-zero\":\"true\"}", "{}"},
        {"scale to zero, null selector before", "null", "{\"flagger.app/scale-to-zero\":\"true\"}"},
        {"scale to zero beside the user's selector", "{\"kubernetes.io/os\":\"linux\"}",
         "{\"kubernetes.io/os\":\"linux\",\"flagger.app/scale-to-zero\":\"true\"}"},
        {"scale from zero beside the user's selector",
         "{\"flagger.app/scale-to-zero\":\"true\",\"kubernetes.io/os\":\"linux\"}", "{\"kubernetes.io/os\":\"linux\"}"},
        {"empty selector and none", "{}", NULL},
    };
    static const char *const phases[] = {"Finalising", "Progressing"};
    size_t i, p;

    for (p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
        for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct world w;
            cJSON *old_copy, *new_copy;

            world_init_daemonset(&w);
            set_phase(w.canary, phases[p], 0);
            set_node_selector(w.old_obj, cases[i].old_sel);
            set_node_selector(w.new_obj, cases[i].new_sel);
            old_copy = cJSON_Duplicate(w.old_obj, 1);
            new_copy = cJSON_Duplicate(w.new_obj, 1);
            run_op(&w, "DaemonSet", "UPDATE");
            if (!w.d.allowed)
                fprintf(stderr, "  %s in %s denied: %s\n", cases[i].what, phases[p], w.d.message);
            CHECK_INT(w.d.allowed, 1);
            CHECK(w.d.warnings == NULL);
            /* the policy judges copies: the request's objects are left as they came */
            CHECK(cJSON_Compare(old_copy, w.old_obj, 1) && cJSON_Compare(new_copy, w.new_obj, 1));
            cJSON_Delete(old_copy);
            cJSON_Delete(new_copy);
            world_free(&w);
        }
    }
}

/* Only Flagger's key is ignored: the rest of the selector, and the rest of the template, still count. */
static void target_denies_daemonset_change_beside_the_scale_to_zero_key(void)
{
    static const struct { const char *what, *old_sel, *new_sel, *image; } cases[] = {
        {"user selector added", NULL, "{\"kubernetes.io/os\":\"linux\"}", NULL},
        {"user selector changed with the key", "{\"kubernetes.io/os\":\"linux\"}",
         "{\"kubernetes.io/os\":\"windows\",\"flagger.app/scale-to-zero\":\"true\"}", NULL},
        {"user selector removed with the key", "{\"kubernetes.io/os\":\"linux\",\"flagger.app/scale-to-zero\":\"true\"}",
         "{}", NULL},
        {"new image with the key", NULL, "{\"flagger.app/scale-to-zero\":\"true\"}", "ghcr.io/example/node-agent:1.5.0"},
        {"a similar key", NULL, "{\"flagger.app/scale-to-zero-x\":\"true\"}", NULL},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct world w;

        world_init_daemonset(&w);
        set_node_selector(w.old_obj, cases[i].old_sel);
        set_node_selector(w.new_obj, cases[i].new_sel);
        if (cases[i].image)
            fake_put(w.new_obj, "spec/template/spec/containers/0", "image", cJSON_CreateString(cases[i].image));
        run_op(&w, "DaemonSet", "UPDATE");
        if (w.d.allowed)
            fprintf(stderr, "  case %s allowed\n", cases[i].what);
        CHECK_INT(w.d.allowed, 0);
        world_free(&w);
    }
}

/* Flagger never writes that key on a Deployment, whose change detection hashes the whole template. */
static void target_deployment_scale_to_zero_key_is_a_template_change(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    fake_put(w.new_obj, "spec/template/spec", "nodeSelector", cJSON_Parse("{\"flagger.app/scale-to-zero\":\"true\"}"));
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    world_free(&w);
}

/* Numbers compare exactly: 2^53 and 2^53+2 are different users although within a relative epsilon. */
static void target_compares_numbers_exactly(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    fake_put(w.old_obj, "spec/template/spec", "securityContext", cJSON_Parse("{\"runAsUser\":9007199254740992}"));
    fake_put(w.new_obj, "spec/template/spec", "securityContext", cJSON_Parse("{\"runAsUser\":9007199254740994}"));
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    world_free(&w);
}

/* A string with \u0000 is cut short by the parser: equal-looking templates may differ. */
static void target_lossy_request_treats_template_as_changed(void)
{
    struct world w;
    struct admission_request r;
    struct canary_lookup l;

    world_init(&w, "validate/deployment.json");
    fake_put(w.new_obj, "spec", "replicas", cJSON_CreateNumber(5));
    l = fake_lookup_of(&w.fake);
    r = fake_request("apps", "Deployment", "UPDATE", w.old_obj, w.new_obj, w.groups);
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
    CHECK_INT(w.d.allowed, 1);
    decision_free(&w.d);
    r.lossy = 1;
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
    CHECK_INT(w.d.allowed, 0);
    CHECK(w.d.message && strstr(w.d.message, "a new pod template"));
    decision_free(&w.d);

    /* with no template on either side there is nothing to compare */
    fake_del(w.old_obj, "spec", "template");
    fake_del(w.new_obj, "spec", "template");
    admission_decide(ADMISSION_VALIDATE, &r, &w.cfg, &l, &w.d);
    CHECK_INT(w.d.allowed, 1);
    world_free(&w);
}

/* An annotation left on the object (or kept in Git) must not let every later template change through:
 * only the request that sets or changes it overrides. */
static void target_override_annotation_counts_only_when_set_or_changed(void)
{
    static const struct { const char *what, *old_reason, *new_reason; int want_allowed; } cases[] = {
        {"set in this request", NULL, "hotfix for incident 1234", 1},
        {"changed in this request", "hotfix for incident 1234", "hotfix for incident 1240", 1},
        {"kept from the stored object", "hotfix for incident 1234", "hotfix for incident 1234", 0},
        {"only on the stored object", "hotfix for incident 1234", NULL, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct world w;

        world_init(&w, "validate/deployment.json");
        if (cases[i].old_reason) {
            fake_annotate(w.old_obj, "manual-gate.io/override", cases[i].old_reason);
            fake_annotate(w.new_obj, "manual-gate.io/override", cases[i].old_reason);
        }
        if (cases[i].new_reason)
            fake_annotate(w.new_obj, "manual-gate.io/override", cases[i].new_reason);
        else
            fake_del(w.new_obj, "metadata/annotations", "manual-gate.io/override");
        set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
        run(&w);
        if (w.d.allowed != cases[i].want_allowed)
            fprintf(stderr, "  case %s: allowed=%d\n", cases[i].what, w.d.allowed);
        CHECK_INT(w.d.allowed, cases[i].want_allowed);
        if (cases[i].want_allowed) {
            CHECK_STR(fake_audit(&w.d, "override-reason"), cases[i].new_reason);
        } else {
            CHECK(w.d.audit == NULL);
            CHECK(w.d.message && strstr(w.d.message, "in the same request"));
        }
        world_free(&w);
    }
}

/* A kept annotation is named as the reason for the denial, with the way out: a new reason. */
static void target_override_kept_annotation_denial_says_change_it(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    fake_annotate(w.old_obj, "manual-gate.io/override", "hotfix for incident 1234");
    fake_annotate(w.new_obj, "manual-gate.io/override", "hotfix for incident 1234");
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 0);
    CHECK_STR(w.d.message,
              "manual-gate: Deployment test/podinfo is the target of Canary test/podinfo, whose gated release is in "
              "flight (phase Progressing, canary weight 10%): a new pod template makes Flagger restart the analysis "
              "from 0%. Finish the release (manual-gate gate open podinfo -n test, one step each) or roll it back "
              "(manual-gate rollback open podinfo -n test), then apply; or give the annotation manual-gate.io/override a new reason in the same request to force it "
              "(the value already on the object does not count again).");
    world_free(&w);
}

/* The group rule is unchanged: a member passes whatever the annotation, and a kept annotation is no
 * reason of this request, so the group is what is audited. */
static void target_override_group_allows_with_kept_annotation(void)
{
    struct world w;

    world_init(&w, "validate/deployment.json");
    w.cfg.override_group = "sre-oncall";
    cJSON_AddItemToArray(w.groups, cJSON_CreateString("sre-oncall"));
    fake_annotate(w.old_obj, "manual-gate.io/override", "hotfix for incident 1234");
    fake_annotate(w.new_obj, "manual-gate.io/override", "hotfix for incident 1234");
    set_image(w.new_obj, "ghcr.io/stefanprodan/podinfo:6.5.1");
    run(&w);
    CHECK_INT(w.d.allowed, 1);
    CHECK_STR(fake_audit(&w.d, "override-reason"), "member of the override group sre-oncall");
    world_free(&w);
}

TEST_MAIN("validate_target",
          TEST(target_denies_new_image_during_gated_release),
          TEST(target_denies_every_template_change),
          TEST(target_allows_changes_outside_the_template),
          TEST(target_allows_create_and_delete_during_gated_release),
          TEST(target_allows_untargeted_deployment),
          TEST(target_allows_primary_deployment),
          TEST(target_ignores_canary_in_other_namespace),
          TEST(target_denies_daemonset_template_change),
          TEST(target_matches_target_kind),
          TEST(target_follows_each_gating_trigger),
          TEST(target_denies_when_gated_in_canary_analysis),
          TEST(target_follows_the_phase_table),
          TEST(target_denial_in_waiting_promotion_says_the_routes_are_weighted),
          TEST(target_denies_a_flagger_upgrade_while_releases_are_in_flight),
          TEST(target_flagger_deployment_matches_namespace_and_name),
          TEST(target_denial_during_promotion_says_wait),
          TEST(target_denies_when_any_matching_canary_is_in_flight),
          TEST(target_override_annotation_allows_with_warning_and_audit),
          TEST(target_override_annotation_only_on_old_object_denies),
          TEST(target_override_with_empty_reason_denies),
          TEST(target_override_group_allows_with_audit),
          TEST(target_override_group_needs_membership),
          TEST(target_override_group_prefers_annotation_reason),
          TEST(target_override_reason_is_bounded_in_audit),
          TEST(target_unknown_cache_denies_template_change),
          TEST(target_unknown_cache_allows_other_changes),
          TEST(target_unknown_cache_with_fail_open_allows_with_warning),
          TEST(target_fail_open_still_denies_known_release),
          TEST(target_unknown_cache_override_allows_with_audit),
          TEST(target_missing_lookup_counts_as_unknown),
          TEST(target_dry_run_gets_same_decision),
          TEST(target_survives_malformed_objects),
          TEST(target_allows_flagger_scaling_daemonset_to_and_from_zero),
          TEST(target_denies_daemonset_change_beside_the_scale_to_zero_key),
          TEST(target_deployment_scale_to_zero_key_is_a_template_change),
          TEST(target_compares_numbers_exactly),
          TEST(target_lossy_request_treats_template_as_changed),
          TEST(target_override_annotation_counts_only_when_set_or_changed),
          TEST(target_override_kept_annotation_denial_says_change_it),
          TEST(target_override_group_allows_with_kept_annotation))
