/*
 * The mutating policy on Canaries. Most cases are fixtures (tests/fixtures/mutate/cases/NAME.json: a
 * Canary, the server's --loadtester-url, and what must come out), found by listing the directory and
 * each run through one checker that
 * applies the patch strictly, compares webhooks/threshold/skipAnalysis and warnings, checks that user
 * hooks keep their fields, that a second review is silent, and that CREATE, UPDATE and dryRun agree.
 * The integration tests post the same fixtures to the real server.
 */
#include <dirent.h>

#include "check.h"
#include "admission.h"
#include "canary.h"
#include "mutate_canary.h"
#include "patch.h"
#include "review.h"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static const char *get_str(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static struct admission_request request(const char *op, const cJSON *obj, const cJSON *old, int dry_run)
{
    struct admission_request r = {.uid = "uid-1", .group = "flagger.app", .version = "v1beta1", .kind = "Canary",
                                  .namespace_ = "test", .name = "podinfo", .operation = op,
                                  .op = admission_op_of(op), .username = "alice", .object = obj,
                                  .old_object = old, .dry_run = dry_run};
    return r;
}

/* Every warning: "manual-gate: ", printable ASCII, short enough that decision_warn did not cut it. */
static void check_warnings_fit(const struct decision *d)
{
    const cJSON *w;

    cJSON_ArrayForEach(w, d->warnings) {
        const char *s = w->valuestring, *p;

        CHECK(strncmp(s, "manual-gate: ", 13) == 0);
        CHECK(strlen(s) < DECISION_WARNING_MAX);
        for (p = s; *p; p++)
            CHECK(*p >= 0x20 && *p < 0x7f);
        if (strlen(s) >= DECISION_WARNING_MAX)
            fprintf(stderr, "  warning too long: %s\n", s);
    }
}

/* Each input hook that survives keeps all its fields; only muteAlert may be set on gate hooks. */
static void check_user_fields_kept(const cJSON *in_hooks, const cJSON *out_hooks)
{
    const cJSON *h, *o, *f;

    cJSON_ArrayForEach(h, in_hooks) {
        const char *name = get_str(h, "name");

        cJSON_ArrayForEach(o, out_hooks)
            if (name && get_str(o, "name") && strcmp(name, get_str(o, "name")) == 0)
                break;
        if (!o)
            continue;
        cJSON_ArrayForEach(f, h) {
            if (strcmp(f->string, "muteAlert") == 0)
                continue;
            if (!cJSON_Compare(f, get(o, f->string), 1)) {
                fprintf(stderr, "  hook %s: field %s changed\n", name, f->string);
                CHECK(0);
            }
        }
    }
}

static void check_patched(const cJSON *c, const cJSON *canary, const struct decision *d, cJSON **result)
{
    const cJSON *expect = get(c, "expect"), *want_hooks = get(expect, "hooks"), *w, *h;
    const char *key = get_str(expect, "key") ? get_str(expect, "key") : "analysis";
    cJSON *copy = cJSON_Duplicate(canary, 1);
    const cJSON *analysis, *hooks;
    char err[256];
    int i = 0;

    *result = copy;
    CHECK(d->patch != NULL);
    if (!d->patch)
        return;
    if (patch_apply(copy, d->patch, err, sizeof(err)) < 0) {
        fprintf(stderr, "  patch does not apply: %s\n", err);
        CHECK(0);
        return;
    }
    analysis = get(get(copy, "spec"), key);
    hooks = get(analysis, "webhooks");
    CHECK_INT(cJSON_GetArraySize(hooks), cJSON_GetArraySize(want_hooks));
    cJSON_ArrayForEach(w, want_hooks) {
        h = cJSON_GetArrayItem(hooks, i++);
        CHECK_STR(get_str(h, "name"), cJSON_GetArrayItem(w, 0)->valuestring);
        CHECK_STR(get_str(h, "url"), cJSON_GetArrayItem(w, 1)->valuestring);
    }
    /* Gate check and close mute their alert; manual-gate's rollback does not. */
    cJSON_ArrayForEach(h, hooks) {
        if (canary_hook_is(h, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK) ||
            canary_hook_is(h, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CLOSE))
            CHECK(cJSON_IsTrue(get(h, "muteAlert")));
        if (strcmp(get_str(h, "name") ? get_str(h, "name") : "", MUTATE_HOOK_ROLLBACK) == 0)
            CHECK(get(h, "muteAlert") == NULL);
    }
    check_user_fields_kept(get(canary_analysis(canary), "webhooks"), hooks);
    if (get(expect, "threshold"))
        CHECK_INT(get(analysis, "threshold") ? get(analysis, "threshold")->valuedouble : -1,
                  get(expect, "threshold")->valuedouble);
    if (get(expect, "skipAnalysis"))
        CHECK(cJSON_Compare(get(get(copy, "spec"), "skipAnalysis"), get(expect, "skipAnalysis"), 1));
    /* expect.annotations: each key's value after the patch, null for "absent". */
    cJSON_ArrayForEach(w, get(expect, "annotations")) {
        const cJSON *got = get(get(get(copy, "metadata"), "annotations"), w->string);

        if (cJSON_IsNull(w))
            CHECK(got == NULL);
        else
            CHECK_STR(cJSON_IsString(got) ? got->valuestring : NULL, w->valuestring);
    }
}

static void run_case(const char *name)
{
    char rel[192];
    cJSON *c, *result = NULL;
    const cJSON *canary, *expect, *denied, *lt, *w, *want;
    struct policy_config cfg = {0};
    struct decision d, again;
    static const char *const ops[] = {"CREATE", "UPDATE", "UPDATE"};
    size_t i;
    int n;

    snprintf(rel, sizeof(rel), "mutate/cases/%s.json", name);
    c = fixture_json(rel);
    canary = get(c, "canary");
    expect = get(c, "expect");
    denied = get(expect, "denied");
    lt = get(c, "loadtester_url");
    cfg.loadtester_url = cJSON_IsString(lt) ? lt->valuestring : NULL;

    decision_init(&d);
    mutate_canary_object(canary, &cfg, &d);
    check_warnings_fit(&d);
    if (denied) {
        CHECK(!d.allowed);
        CHECK(d.patch == NULL);
        CHECK(d.warnings == NULL);
        CHECK(d.message && strncmp(d.message, "manual-gate: ", 13) == 0);
        cJSON_ArrayForEach(w, denied)
            if (!d.message || !strstr(d.message, w->valuestring)) {
                fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", d.message ? d.message : "", w->valuestring);
                CHECK(0);
            }
        /* What a denial must never say (the server logs denials): credentials, for one. */
        cJSON_ArrayForEach(w, get(expect, "denied_without"))
            if (d.message && strstr(d.message, w->valuestring)) {
                fprintf(stderr, "  message \"%s\" holds \"%s\"\n", d.message, w->valuestring);
                CHECK(0);
            }
    } else {
        CHECK(d.allowed);
        want = get(expect, "warnings");
        CHECK_INT(cJSON_GetArraySize(d.warnings), cJSON_GetArraySize(want));
        n = 0;
        cJSON_ArrayForEach(w, want) {
            const cJSON *got = cJSON_GetArrayItem(d.warnings, n++);

            if (!got || !strstr(got->valuestring, w->valuestring)) {
                fprintf(stderr, "  warning %d is \"%s\", want it to hold \"%s\"\n", n,
                        got ? got->valuestring : "(none)", w->valuestring);
                CHECK(0);
            }
        }
        if (cJSON_IsTrue(get(expect, "patched"))) {
            check_patched(c, canary, &d, &result);
            /* Idempotent: the completed Canary gets no patch and no warnings. */
            decision_init(&again);
            mutate_canary_object(result, &cfg, &again);
            CHECK(again.allowed);
            CHECK(again.patch == NULL);
            CHECK(again.warnings == NULL);
            decision_free(&again);
        } else {
            CHECK(d.patch == NULL);
        }
    }

    /* The admission entry point gives the same answer for CREATE, UPDATE (from an ungated object,
     * so the inputs change) and dryRun. */
    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        cJSON *old = cJSON_CreateObject();
        struct admission_request req = request(ops[i], canary, strcmp(ops[i], "UPDATE") == 0 ? old : NULL, i == 2);

        decision_init(&again);
        mutate_canary(&req, &cfg, NULL, &again);
        CHECK_INT(again.allowed, d.allowed);
        CHECK((!again.patch && !d.patch) || (again.patch && d.patch && cJSON_Compare(again.patch, d.patch, 1)));
        CHECK((!again.warnings && !d.warnings) ||
              (again.warnings && d.warnings && cJSON_Compare(again.warnings, d.warnings, 1)));
        CHECK((!again.message && !d.message) || (again.message && d.message && !strcmp(again.message, d.message)));
        decision_free(&again);
        cJSON_Delete(old);
    }
    if (check_failed_in_test)
        fprintf(stderr, "  in fixture %s\n", rel);
    decision_free(&d);
    cJSON_Delete(result);
    cJSON_Delete(c);
}

/* Every tests/fixtures/mutate/cases/NAME.json: a new case is a new file. */
static void mutate_every_fixture_case(void)
{
    DIR *dir = opendir("tests/fixtures/mutate/cases");
    struct dirent *e;
    int n = 0;

    CHECK(dir != NULL);
    while (dir && (e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        char name[128];

        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 || len - 5 >= sizeof(name))
            continue;
        snprintf(name, sizeof(name), "%.*s", (int)(len - 5), e->d_name);
        run_case(name);
        n++;
    }
    if (dir)
        closedir(dir);
    CHECK(n > 40);
}

/* A gated, otherwise complete Canary whose threshold and interval the table tests vary. */
static cJSON *gated_canary(const char *interval, double threshold)
{
    cJSON *c = fixture_json("mutate/cases/complete.json");
    cJSON *canary = cJSON_DetachItemFromObjectCaseSensitive(c, "canary");
    cJSON *analysis = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(canary, "spec"), "analysis");

    cJSON_Delete(c);
    cJSON_DeleteItemFromObjectCaseSensitive(analysis, "interval");
    if (interval)
        cJSON_AddStringToObject(analysis, "interval", interval);
    cJSON_ReplaceItemInObjectCaseSensitive(analysis, "threshold", cJSON_CreateNumber(threshold));
    return canary;
}

/* The threshold a decision's patch sets, or -1 when it leaves it alone. */
static long patched_threshold(const struct decision *d)
{
    const cJSON *op;

    cJSON_ArrayForEach(op, d->patch)
        if (strcmp(get_str(op, "path"), "/spec/analysis/threshold") == 0)
            return (long)get(op, "value")->valuedouble;
    return -1;
}

static void mutate_threshold_follows_each_interval_form(void)
{
    /* 14 days = 1209600s, divided by Flagger's reading of the interval, rounded up. */
    static const struct { const char *interval; long want; } cases[] = {
        {"30s", 40320}, {"1m", 20160}, {"90s", 13440}, {"1m30s", 13440}, {"1h30m", 224}, {"2h", 168},
        {"1.5m", 13440}, {"7s", 120960} /* under 10s counts as 10s */, {"0s", 120960}, {"-1m", 120960},
        {"", 20160} /* empty: 60s */, {NULL, 20160} /* absent: 60s */, {"1 minute", 20160} /* invalid: 60s */,
        {"10", 20160} /* no unit */, {"500ms", 120960}, {"7d", 20160} /* Go has no d: invalid, 60s */,
        /* The exact interval, not one rounded up to whole seconds: ceil(1209600 / 10.5). */
        {"10500ms", 115200}, {"10.5s", 115200}, {"10.000000001s", 120960}, {"1m0.5s", 19994},
        /* Beyond Go's int64 nanoseconds the interval is invalid, and Flagger's 60s applies. */
        {"153722868m", 20160}, {"2562048h", 20160}, {"99999999999999999999s", 20160},
        {"2562047h47m16.854775808s", 20160}, {"-2562047h47m16.854775809s", 20160},
        /* Just inside the range: one interval covers the release, and 5 is kept. */
        {"2562047h47m16.854775807s", -1}, {"-2562047h47m16.854775808s", 120960} /* negative: 10s */,
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *canary = gated_canary(cases[i].interval, 5);
        struct policy_config cfg = {0};
        struct decision d;

        decision_init(&d);
        mutate_canary_object(canary, &cfg, &d);
        CHECK(d.allowed);
        if (patched_threshold(&d) != cases[i].want)
            fprintf(stderr, "  interval \"%s\": threshold %ld, want %ld\n", cases[i].interval ? cases[i].interval : "(absent)",
                    patched_threshold(&d), cases[i].want);
        CHECK_INT(patched_threshold(&d), cases[i].want);
        decision_free(&d);
        cJSON_Delete(canary);
    }
}

static void mutate_threshold_is_raised_never_lowered(void)
{
    static const struct { double threshold; long want; } cases[] = {
        {-3, 20160}, {0, 20160}, {1, 20160}, {20159, 20160}, {20159.5, 20160}, {20160, -1}, {20160.5, -1},
        {1e9, -1},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *canary = gated_canary("1m", cases[i].threshold);
        struct policy_config cfg = {0};
        struct decision d;

        decision_init(&d);
        mutate_canary_object(canary, &cfg, &d);
        CHECK_INT(patched_threshold(&d), cases[i].want);
        decision_free(&d);
        cJSON_Delete(canary);
    }
}

static void mutate_parses_max_duration_forms(void)
{
    static const struct { const char *s; long want; } cases[] = {
        {"10d", 864000}, {"36h", 129600}, {"90m", 5400}, {"1h30m", 5400}, {"1d12h", 129600}, {"3600s", 3600},
        {"14d", 1209600}, {"365d", 31536000}, {"366d", -1}, {"8761h", -1}, {"99999999999999999999d", -1},
        {"0d", -1}, {"", -1}, {NULL, -1}, {"10", -1}, {"d", -1}, {"1.5d", -1}, {"-1d", -1}, {"10 d", -1},
        {"10D", -1}, {"2w", -1}, {"1h30", -1}, {"10ms", -1},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (mutate_parse_max_duration(cases[i].s) != cases[i].want)
            fprintf(stderr, "  \"%s\"\n", cases[i].s ? cases[i].s : "(null)");
        CHECK_INT(mutate_parse_max_duration(cases[i].s), cases[i].want);
    }
}

/* The webhooks array is written whole: add when the key is absent, replace when it is there. */
static void mutate_writes_webhooks_with_one_op(void)
{
    static const struct { const char *name, *op; } cases[] = {
        {"mutate/cases/no_webhooks_key.json", "add"},
        {"mutate/cases/null_webhooks.json", "add"},
        {"mutate/cases/empty_list.json", "replace"},
        {"mutate/cases/close_before_check.json", "replace"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *c = fixture_json(cases[i].name);
        struct policy_config cfg = {.loadtester_url = "http://flagger-loadtester.test"};
        struct decision d;
        const cJSON *op;
        int n = 0;

        decision_init(&d);
        mutate_canary_object(get(c, "canary"), &cfg, &d);
        cJSON_ArrayForEach(op, d.patch)
            if (strcmp(get_str(op, "path"), "/spec/analysis/webhooks") == 0) {
                CHECK_STR(get_str(op, "op"), cases[i].op);
                n++;
            }
        CHECK_INT(n, 1);
        decision_free(&d);
        cJSON_Delete(c);
    }
}

static void mutate_update_with_unchanged_inputs_warns_instead_of_denying(void)
{
    cJSON *c = fixture_json("mutate/cases/invalid_max_duration.json");
    const cJSON *canary = get(c, "canary");
    cJSON *old = cJSON_Duplicate(canary, 1);
    struct policy_config cfg = {0};
    struct admission_request req = request("UPDATE", canary, old, 0);
    struct decision d;

    /* Only metadata other than labels/annotations differs (a finalizer Flagger adds). */
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(old, "metadata"), "finalizers", cJSON_CreateArray());
    decision_init(&d);
    mutate_canary(&req, &cfg, NULL, &d);
    CHECK(d.allowed);
    CHECK(d.patch == NULL);
    CHECK_INT(cJSON_GetArraySize(d.warnings), 1);
    CHECK(d.warnings && strstr(cJSON_GetArrayItem(d.warnings, 0)->valuestring, "max-duration"));
    decision_free(&d);

    /* An UPDATE that changes an annotation is judged like a CREATE. */
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(old, "metadata"), "annotations");
    decision_init(&d);
    mutate_canary(&req, &cfg, NULL, &d);
    CHECK(!d.allowed);
    decision_free(&d);
    cJSON_Delete(old);
    cJSON_Delete(c);
}

/* Flagger's own UPDATE of a stored Canary that is gated but incomplete (here also blue/green, which the
 * validator would deny if it judged it): spec, labels and annotations are as stored, so the mutator
 * changes nothing, and the validator, which skips such updates, allows what the mutator produced. */
static void mutate_metadata_only_update_gets_no_patch_and_the_validator_agrees(void)
{
    cJSON *c = fixture_json("mutate/cases/empty_list.json");
    cJSON *stored = cJSON_DetachItemFromObjectCaseSensitive(c, "canary"), *updated;
    cJSON *analysis = (cJSON *)canary_analysis(stored);
    struct policy_config cfg = {.loadtester_url = "http://flagger-loadtester.test"};
    struct admission_request req;
    struct decision d;
    const cJSON *w;
    char err[200];

    cJSON_AddNumberToObject(analysis, "iterations", 10);
    updated = cJSON_Duplicate(stored, 1);
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(updated, "metadata"), "finalizers",
                          cJSON_Parse("[\"finalizer.flagger.app\"]"));
    req = request("UPDATE", updated, stored, 0);
    decision_init(&d);
    mutate_canary(&req, &cfg, NULL, &d);
    CHECK(d.allowed);
    CHECK(d.patch == NULL);
    CHECK_INT(cJSON_GetArraySize(d.warnings), 1);
    w = cJSON_GetArrayItem(d.warnings, 0);
    CHECK(w && strstr(w->valuestring, "made at its next spec, label or annotation change"));
    check_warnings_fit(&d);
    decision_free(&d);

    /* The validator sees the object the mutator let through: unchanged, so allowed. */
    req.kind = "Canary";
    decision_init(&d);
    admission_decide(ADMISSION_VALIDATE, &req, &cfg, NULL, &d);
    CHECK(d.allowed);
    decision_free(&d);

    /* A complete stored Canary gets neither patch nor warning. */
    cJSON_DeleteItemFromObjectCaseSensitive(analysis, "iterations");
    decision_init(&d);
    mutate_canary_object(stored, &cfg, &d);
    CHECK(d.patch != NULL);
    CHECK_INT(patch_apply(stored, d.patch, err, sizeof(err)), 0);
    decision_free(&d);
    cJSON_Delete(updated);
    updated = cJSON_Duplicate(stored, 1);
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(updated, "metadata"), "finalizers",
                          cJSON_Parse("[\"finalizer.flagger.app\"]"));
    req = request("UPDATE", updated, stored, 0);
    decision_init(&d);
    mutate_canary(&req, &cfg, NULL, &d);
    CHECK(d.allowed && !d.patch && !d.warnings);
    decision_free(&d);
    cJSON_Delete(updated);
    cJSON_Delete(stored);
    cJSON_Delete(c);
}

/* With \u0000 in the body, equal-looking inputs may differ: the UPDATE is completed like a CREATE. */
static void mutate_lossy_update_is_judged_in_full(void)
{
    cJSON *c = fixture_json("mutate/cases/empty_list.json");
    const cJSON *canary = get(c, "canary");
    cJSON *old = cJSON_Duplicate(canary, 1);
    struct policy_config cfg = {.loadtester_url = "http://flagger-loadtester.test"};
    struct admission_request req = request("UPDATE", canary, old, 0);
    struct decision d, create;

    req.lossy = 1;
    decision_init(&d);
    decision_init(&create);
    mutate_canary(&req, &cfg, NULL, &d);
    mutate_canary_object(canary, &cfg, &create);
    CHECK(d.allowed);
    CHECK(d.patch != NULL);
    CHECK(d.patch && create.patch && cJSON_Compare(d.patch, create.patch, 1));
    decision_free(&d);
    decision_free(&create);
    cJSON_Delete(old);
    cJSON_Delete(c);
}

/* Label "false" removes manual-gate's hooks unless a user's /gate/check would be left with no
 * /gate/close after it. Hooks: C = user check, X = user close, c/x/r = manual-gate's check/close/rollback,
 * P = a user confirm-promotion hook on /gate/check (no gate Flagger consults per step). */
static void mutate_label_false_never_leaves_a_gate_open(void)
{
    static const struct { const char *hooks; int denied, patched; } cases[] = {
        {"Cxr", 1, 0}, {"cxrC", 1, 0}, {"XCx", 1, 0}, {"CxCX", 0, 1}, {"CXx", 0, 1}, {"CxX", 0, 1},
        {"cxr", 0, 1}, {"Px", 0, 1}, {"C", 0, 0}, {"CX", 0, 0}, {"", 0, 0},
    };
    size_t i, j;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *canary = cJSON_Parse("{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"false\"}},"
                                    "\"spec\":{\"analysis\":{\"interval\":\"1m\",\"webhooks\":[]}}}");
        cJSON *hooks = (cJSON *)get(canary_analysis(canary), "webhooks");
        struct policy_config cfg = {.loadtester_url = "http://lt.test"};
        struct decision d;

        for (j = 0; cases[i].hooks[j]; j++) {
            static const struct { char code; const char *name, *type, *path; } kinds[] = {
                {'C', "gate-check", CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK},
                {'X', "gate-close", CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CLOSE},
                {'c', MUTATE_HOOK_CHECK, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK},
                {'x', MUTATE_HOOK_CLOSE, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CLOSE},
                {'r', MUTATE_HOOK_ROLLBACK, CANARY_HOOK_ROLLBACK, CANARY_PATH_ROLLBACK_CHECK},
                {'P', "promote", "confirm-promotion", CANARY_PATH_GATE_CHECK},
            };
            size_t k = 0;
            cJSON *h = cJSON_CreateObject();
            char url[64];

            while (kinds[k].code != cases[i].hooks[j])
                k++;
            snprintf(url, sizeof(url), "http://lt.test%s", kinds[k].path);
            cJSON_AddStringToObject(h, "name", kinds[k].name);
            cJSON_AddStringToObject(h, "type", kinds[k].type);
            cJSON_AddStringToObject(h, "url", url);
            cJSON_AddItemToArray(hooks, h);
        }
        decision_init(&d);
        mutate_canary_object(canary, &cfg, &d);
        if (d.allowed == cases[i].denied || (d.patch != NULL) != cases[i].patched)
            fprintf(stderr, "  hooks \"%s\": allowed %d, patch %d\n", cases[i].hooks, d.allowed, d.patch != NULL);
        CHECK_INT(d.allowed, !cases[i].denied);
        CHECK_INT(d.patch != NULL, cases[i].patched);
        if (cases[i].denied) {
            CHECK(d.message && strstr(d.message, "webhook gate-check on /gate/check with no /gate/close after it"));
            CHECK(d.warnings == NULL);
        }
        decision_free(&d);
        cJSON_Delete(canary);
    }
}

/* A URL's userinfo and query may hold credentials, and the server logs denials: never quoted. */
static void mutate_denials_never_quote_credentials(void)
{
    static const struct { const char *annotation, *flag, *check, *close, *says; } cases[] = {
        {"http://admin:hunter2@lt.test?token=abc", NULL, NULL, NULL, "is \"http://***@lt.test?***\""},
        {"http://lt.test/x?token=abc", NULL, NULL, NULL, "is \"http://lt.test/x?***\""},
        {NULL, "https://admin:hunter2@lt.test/#token=abc", NULL, NULL, "is \"https://***@lt.test/?***\""},
        {NULL, NULL, "http://admin:hunter2@lt.test/gate/check?token=abc", NULL,
         "url \"http://***@lt.test/gate/check?***\""},
        {NULL, NULL, "http://lt.test/gate/check", "http://admin:hunter2@lt.test:8080/gate/close#token=abc",
         "url \"http://***@lt.test:8080/gate/close?***\""},
        {"http://lt-a.test", NULL, "http://lt-b.test/gate/check?token=abc", NULL,
         "calls the loadtester http://lt-b.test but"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *canary = cJSON_Parse("{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"true\"},"
                                    "\"annotations\":{}},\"spec\":{\"analysis\":{\"interval\":\"1m\","
                                    "\"webhooks\":[]}}}");
        cJSON *hooks = (cJSON *)get(canary_analysis(canary), "webhooks"), *h;
        struct policy_config cfg = {.loadtester_url = cases[i].flag};
        struct decision d;

        if (cases[i].annotation)
            cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(get(canary, "metadata"), "annotations"),
                                    "manual-gate.io/loadtester", cases[i].annotation);
        if (cases[i].check) {
            cJSON_AddItemToArray(hooks, h = cJSON_CreateObject());
            cJSON_AddStringToObject(h, "name", "gate-check");
            cJSON_AddStringToObject(h, "type", CANARY_HOOK_CONFIRM_TRAFFIC);
            cJSON_AddStringToObject(h, "url", cases[i].check);
        }
        if (cases[i].close) {
            cJSON_AddItemToArray(hooks, h = cJSON_CreateObject());
            cJSON_AddStringToObject(h, "name", "gate-close");
            cJSON_AddStringToObject(h, "type", CANARY_HOOK_CONFIRM_TRAFFIC);
            cJSON_AddStringToObject(h, "url", cases[i].close);
        }
        decision_init(&d);
        mutate_canary_object(canary, &cfg, &d);
        if (d.message && (strstr(d.message, "hunter2") || strstr(d.message, "token") || strstr(d.message, "admin")))
            fprintf(stderr, "  case %zu leaks: %s\n", i, d.message);
        CHECK_INT(d.allowed, 0);
        CHECK(d.message && !strstr(d.message, "hunter2") && !strstr(d.message, "token") && !strstr(d.message, "admin"));
        if (cases[i].says && (!d.message || !strstr(d.message, cases[i].says))) {
            fprintf(stderr, "  case %zu: \"%s\" lacks %s\n", i, d.message ? d.message : "", cases[i].says);
            CHECK(0);
        }
        decision_free(&d);
        cJSON_Delete(canary);
    }
}

static void mutate_leaves_deleting_and_absent_objects_alone(void)
{
    cJSON *c = fixture_json("mutate/cases/empty_list.json");
    cJSON *canary = cJSON_Duplicate(get(c, "canary"), 1);
    struct policy_config cfg = {.loadtester_url = "http://flagger-loadtester.test"};
    struct admission_request req = request("UPDATE", canary, NULL, 0);
    struct admission_request del = request("DELETE", NULL, canary, 0);
    struct admission_request none = request("CREATE", NULL, NULL, 0);
    struct decision d;

    cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(canary, "metadata"), "deletionTimestamp",
                            "2024-01-01T00:00:00Z");
    decision_init(&d);
    mutate_canary(&req, &cfg, NULL, &d);
    CHECK(d.allowed && !d.patch && !d.warnings);
    mutate_canary(&del, &cfg, NULL, &d);
    CHECK(d.allowed && !d.patch && !d.warnings);
    mutate_canary(&none, &cfg, NULL, &d);
    CHECK(d.allowed && !d.patch && !d.warnings);
    mutate_canary_object(NULL, &cfg, &d);
    CHECK(d.allowed && !d.patch && !d.warnings);
    decision_free(&d);
    cJSON_Delete(canary);
    cJSON_Delete(c);
}

static void mutate_survives_malformed_canaries(void)
{
    static const char *const objs[] = {
        "[]", "\"x\"", "{}", "{\"spec\":null}", "{\"spec\":[]}",
        "{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"true\"}},\"spec\":{\"analysis\":[]}}",
        "{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"true\"}},\"spec\":{\"analysis\":{\"webhooks\":7}}}",
        "{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"true\"}},\"spec\":{\"analysis\":{\"webhooks\":"
        "[1,null,\"x\",{},{\"name\":7,\"type\":\"confirm-traffic-increase\",\"url\":7}],\"threshold\":\"9\","
        "\"interval\":12}}}",
        "{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":7}},\"spec\":{\"analysis\":{}}}",
        "{\"metadata\":{\"labels\":[]},\"spec\":{\"analysis\":{\"webhooks\":[{\"type\":\"confirm-traffic-increase\","
        "\"url\":\"http://[::1]:8080/gate/check\"}]}}}",
    };
    size_t i;

    for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
        cJSON *o = cJSON_Parse(objs[i]);
        struct policy_config cfg = {.loadtester_url = "http://lt.test"};
        struct decision d;
        char err[200];

        decision_init(&d);
        mutate_canary_object(o, &cfg, &d);
        check_warnings_fit(&d);
        if (d.patch)
            CHECK_INT(patch_apply(o, d.patch, err, sizeof(err)), 0);
        decision_free(&d);
        cJSON_Delete(o);
    }
}

static void mutate_warnings_stay_short_with_long_names(void)
{
    cJSON *c = fixture_json("mutate/cases/check_without_mute.json");
    cJSON *canary = cJSON_GetObjectItemCaseSensitive(c, "canary");
    cJSON *hooks = (cJSON *)get(canary_analysis(canary), "webhooks");
    char name[201];
    struct policy_config cfg = {0};
    struct decision d;
    const cJSON *w;

    memset(name, 'n', 200);
    name[200] = '\0';
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(hooks, 0), "name", cJSON_CreateString(name));
    decision_init(&d);
    mutate_canary_object(canary, &cfg, &d);
    check_warnings_fit(&d);
    /* The name is shortened, the reason is kept. */
    cJSON_ArrayForEach(w, d.warnings)
        if (strstr(w->valuestring, "nnnnn"))
            CHECK(strstr(w->valuestring, "interval") != NULL);
    decision_free(&d);
    cJSON_Delete(c);
}

TEST_MAIN("mutate_canary",
          TEST(mutate_every_fixture_case),
          TEST(mutate_threshold_follows_each_interval_form),
          TEST(mutate_threshold_is_raised_never_lowered),
          TEST(mutate_parses_max_duration_forms),
          TEST(mutate_writes_webhooks_with_one_op),
          TEST(mutate_update_with_unchanged_inputs_warns_instead_of_denying),
          TEST(mutate_metadata_only_update_gets_no_patch_and_the_validator_agrees),
          TEST(mutate_lossy_update_is_judged_in_full),
          TEST(mutate_label_false_never_leaves_a_gate_open),
          TEST(mutate_denials_never_quote_credentials),
          TEST(mutate_leaves_deleting_and_absent_objects_alone),
          TEST(mutate_survives_malformed_canaries),
          TEST(mutate_warnings_stay_short_with_long_names))
