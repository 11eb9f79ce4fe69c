/* Flagger's model of a Canary: analysis block, interval and Go durations, strategy, URL paths, gating. */
#include <math.h>

#include "check.h"
#include "canary.h"

static void canary_parses_go_durations(void)
{
    static const struct { const char *s; double want; } cases[] = {
        {"30s", 30}, {"1m", 60}, {"1h30m", 5400}, {"1.5h", 5400}, {"90s", 90}, {"500ms", 0.5}, {"1.s", 1},
        {".5m", 30}, {"0", 0}, {"+0", 0}, {"-1m", -60}, {"2h45m30s", 9930}, {"1us", 1e-6}, {"1\xc2\xb5s", 1e-6},
        {"", -1}, {NULL, -1}, {"10", -1}, {"1d", -1}, {"m", -1}, {".", -1}, {".s", -1}, {"1.2.3s", -1},
        {"1m ", -1}, {" 1m", -1}, {"-", -1}, {"1e3s", -1}, {"1mm", -1}, {"1hm", -1}, {"1.5", -1},
        /* Go's limit is int64 nanoseconds: 9223372036.854775807s up, one nanosecond more down. */
        {"9223372036854775807ns", 9223372036.854775807}, {"2562047h47m16.854775807s", 9223372036.854775807},
        {"-9223372036854775808ns", -9223372036.854775808}, {"9223372036854775808ns", -1},
        {"2562047h47m16.854775808s", -1}, {"-9223372036854775809ns", -1}, {"153722868m", -1},
        {"2562048h", -1}, {"99999999999999999999s", -1}, {"0.000000001s", 1e-9},
        {"2562047h2562047h", -1}, {"9223372036s1s", -1},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double got = canary_parse_go_duration(cases[i].s);

        if (fabs(got - cases[i].want) > 1e-9 * (1 + fabs(cases[i].want))) {
            fprintf(stderr, "  \"%s\": %g, want %g\n", cases[i].s ? cases[i].s : "(null)", got, cases[i].want);
            CHECK(0);
        }
    }
}

static void canary_interval_follows_flagger(void)
{
    static const struct { const char *analysis; long want; } cases[] = {
        {"{\"interval\":\"30s\"}", 30},
        {"{\"interval\":\"1m\"}", 60},
        {"{\"interval\":\"1h30m\"}", 5400},
        {"{\"interval\":\"1m30s\"}", 90},
        {"{\"interval\":\"10.5s\"}", 11},    /* rounded up here; canary_interval_ns is exact */
        {"{\"interval\":\"153722868m\"}", 60},   /* beyond Go's int64 nanoseconds: invalid, 60s */
        {"{\"interval\":\"99999999999999999999s\"}", 60},
        {"{\"interval\":\"2562047h47m16.854775807s\"}", 9223372037},
        {"{\"interval\":\"5s\"}", 10},    /* below 10s: 10s */
        {"{\"interval\":\"0s\"}", 10},
        {"{\"interval\":\"-1m\"}", 10},   /* Go parses it; Flagger then clamps to 10s */
        {"{\"interval\":\"\"}", 60},      /* empty: 60s */
        {"{}", 60},                       /* absent: 60s */
        {"{\"interval\":\"1 min\"}", 60}, /* unparsable: 60s */
        {"{\"interval\":\"1.2.3s\"}", 60},
        {"{\"interval\":60}", 60},        /* not a string: 60s */
        {"null", 60},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *a = cJSON_Parse(cases[i].analysis);

        if (canary_interval_seconds(a) != cases[i].want)
            fprintf(stderr, "  %s\n", cases[i].analysis);
        CHECK_INT(canary_interval_seconds(a), cases[i].want);
        cJSON_Delete(a);
    }
}

static void canary_interval_ns_is_exact(void)
{
    static const struct { const char *interval; long long want; } cases[] = {
        {"10500ms", 10500000000LL}, {"10.5s", 10500000000LL}, {"1m", 60000000000LL}, {"1h0.5s", 3600500000000LL},
        {"9s", 10000000000LL}, {"-5m", 10000000000LL}, {"", 60000000000LL}, {"1x", 60000000000LL},
        {"2562047h47m16.854775807s", 9223372036854775807LL}, {"2562047h47m16.854775808s", 60000000000LL},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *a = cJSON_CreateObject();

        cJSON_AddStringToObject(a, "interval", cases[i].interval);
        if (canary_interval_ns(a) != cases[i].want)
            fprintf(stderr, "  \"%s\": %lld, want %lld\n", cases[i].interval, (long long)canary_interval_ns(a),
                    cases[i].want);
        CHECK(canary_interval_ns(a) == cases[i].want);
        cJSON_Delete(a);
    }
}

static void canary_analysis_falls_back_to_canary_analysis(void)
{
    static const struct { const char *obj, *key; } cases[] = {
        {"{\"spec\":{\"analysis\":{\"interval\":\"1m\"},\"canaryAnalysis\":{}}}", "analysis"},
        {"{\"spec\":{\"canaryAnalysis\":{\"interval\":\"1m\"}}}", "canaryAnalysis"},
        {"{\"spec\":{\"analysis\":null,\"canaryAnalysis\":{}}}", "canaryAnalysis"},
        {"{\"spec\":{}}", NULL},
        {"{\"spec\":{\"analysis\":[]}}", NULL},
        {"[]", NULL},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *o = cJSON_Parse(cases[i].obj);
        const char *key = canary_analysis_key(o);

        if (cases[i].key) {
            CHECK_STR(key, cases[i].key);
            CHECK(canary_analysis(o) == cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "spec"),
                                                                          cases[i].key));
        } else {
            CHECK(key == NULL);
            CHECK(canary_analysis(o) == NULL);
        }
        cJSON_Delete(o);
    }
}

static void canary_strategy_follows_flagger(void)
{
    static const struct { const char *obj; enum canary_strategy want; } cases[] = {
        {"{\"spec\":{\"analysis\":{\"stepWeight\":10}}}", CANARY_STRATEGY_CANARY},
        {"{\"spec\":{\"analysis\":{\"iterations\":0,\"stepWeight\":10}}}", CANARY_STRATEGY_CANARY},
        {"{\"spec\":{\"analysis\":{\"iterations\":10}}}", CANARY_STRATEGY_BLUE_GREEN},
        {"{\"spec\":{\"analysis\":{\"iterations\":10,\"match\":[{\"headers\":{}}]}}}", CANARY_STRATEGY_AB},
        {"{\"spec\":{\"analysis\":{\"iterations\":10,\"match\":[]}}}", CANARY_STRATEGY_BLUE_GREEN},
        {"{\"spec\":{\"provider\":\"kubernetes\",\"analysis\":{\"stepWeight\":10}}}", CANARY_STRATEGY_BLUE_GREEN},
        {"{\"spec\":{\"canaryAnalysis\":{\"iterations\":5}}}", CANARY_STRATEGY_BLUE_GREEN},
        {"{}", CANARY_STRATEGY_CANARY},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *o = cJSON_Parse(cases[i].obj);

        CHECK_INT(canary_strategy(o, NULL), cases[i].want);
        CHECK_INT(canary_strategy(o, "istio"), cases[i].want);
        cJSON_Delete(o);
    }
}

/* Flagger's -mesh-provider applies to Canaries without spec.provider; spec.provider wins over it. */
static void canary_strategy_uses_the_mesh_provider_when_spec_names_none(void)
{
    static const struct { const char *obj, *mesh; enum canary_strategy want; } cases[] = {
        {"{\"spec\":{\"analysis\":{\"stepWeight\":10}}}", "kubernetes", CANARY_STRATEGY_BLUE_GREEN},
        {"{\"spec\":{\"provider\":\"\",\"analysis\":{\"stepWeight\":10}}}", "kubernetes", CANARY_STRATEGY_BLUE_GREEN},
        {"{\"spec\":{\"provider\":\"istio\",\"analysis\":{\"stepWeight\":10}}}", "kubernetes", CANARY_STRATEGY_CANARY},
        {"{\"spec\":{\"provider\":\"kubernetes\",\"analysis\":{\"stepWeight\":10}}}", "istio", CANARY_STRATEGY_BLUE_GREEN},
        {"{\"spec\":{\"analysis\":{\"stepWeight\":10}}}", "linkerd", CANARY_STRATEGY_CANARY},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *o = cJSON_Parse(cases[i].obj);

        CHECK_INT(canary_strategy(o, cases[i].mesh), cases[i].want);
        cJSON_Delete(o);
    }
}

static void canary_hook_is_matches_the_exact_decoded_path(void)
{
    static const struct { const char *url; int want; } cases[] = {
        {"http://lt/gate/check", 1}, {"http://lt/gate/%63heck", 1}, {"http://lt/gate/check?token=x", 1},
        {"http://lt/gate/check/", 0}, {"http://lt/gate/checks", 0}, {"http://lt/Gate/check", 0},
        {"http://lt/gate/check%", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *h = cJSON_CreateObject();

        cJSON_AddStringToObject(h, "type", CANARY_HOOK_CONFIRM_TRAFFIC);
        cJSON_AddStringToObject(h, "url", cases[i].url);
        if (canary_hook_is(h, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK) != cases[i].want)
            fprintf(stderr, "  %s\n", cases[i].url);
        CHECK_INT(canary_hook_is(h, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK), cases[i].want);
        cJSON_Delete(h);
    }
}

static void canary_gating_needs_a_check_hook_or_the_label(void)
{
    static const struct { const char *obj; int gated, check; } cases[] = {
        {"{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"true\"}}}", 1, 0},
        {"{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"false\"}}}", 0, 0},
        {"{\"spec\":{\"analysis\":{\"webhooks\":[{\"type\":\"confirm-traffic-increase\","
         "\"url\":\"http://lt/gate/check\"}]}}}", 1, 1},
        {"{\"spec\":{\"canaryAnalysis\":{\"webhooks\":[{\"type\":\"confirm-traffic-increase\","
         "\"url\":\"http://lt/gate/check\"}]}}}", 1, 1},
        /* analysis wins over canaryAnalysis, as in Flagger */
        {"{\"spec\":{\"analysis\":{},\"canaryAnalysis\":{\"webhooks\":[{\"type\":\"confirm-traffic-increase\","
         "\"url\":\"http://lt/gate/check\"}]}}}", 0, 0},
        {"{\"spec\":{\"analysis\":{\"webhooks\":[{\"type\":\"confirm-rollout\",\"url\":\"http://lt/gate/check\"}]}}}",
         0, 0},
        {"{\"spec\":{\"analysis\":{\"webhooks\":[{\"type\":\"confirm-traffic-increase\","
         "\"url\":\"http://lt/gate/close\"}]}}}", 0, 0},
        {"{\"spec\":{\"analysis\":{\"webhooks\":{\"type\":\"confirm-traffic-increase\"}}}}", 0, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *o = cJSON_Parse(cases[i].obj);

        CHECK_INT(canary_is_gated(o), cases[i].gated);
        CHECK_INT(canary_gate_check_hook(o) != NULL, cases[i].check);
        cJSON_Delete(o);
    }
}

/* The phase table: what a new revision costs in each phase, and whether it is denied. */
static void canary_release_of_follows_the_phase_table(void)
{
    static const struct { const char *phase; int weight; enum canary_release want; int denies; } cases[] = {
        {"Progressing", 10, CANARY_RELEASE_RESTARTS, 1},
        {"Progressing", 0, CANARY_RELEASE_NOT_STARTED, 0},
        /* Flagger writes weight 0 in WaitingPromotion; the routes stay weighted. */
        {"WaitingPromotion", 0, CANARY_RELEASE_RESTARTS, 1},
        {"WaitingPromotion", 50, CANARY_RELEASE_RESTARTS, 1},
        {"Promoting", 50, CANARY_RELEASE_LIVE, 1},
        {"Promoting", 0, CANARY_RELEASE_LIVE, 1},
        {"Failed", 100, CANARY_RELEASE_LIVE, 1},
        {"Failed", 0, CANARY_RELEASE_NONE, 0},
        {"Finalising", 0, CANARY_RELEASE_FINALISING, 0},
        {"Waiting", 0, CANARY_RELEASE_WAITING, 0},
        {"Succeeded", 0, CANARY_RELEASE_NONE, 0},
        {"Initializing", 0, CANARY_RELEASE_NONE, 0},
        {"Initialized", 0, CANARY_RELEASE_NONE, 0},
        {"Terminating", 0, CANARY_RELEASE_NONE, 0},
        {"Terminated", 0, CANARY_RELEASE_NONE, 0},
        {"", 0, CANARY_RELEASE_NONE, 0},
        {"progressing", 10, CANARY_RELEASE_NONE, 0},
        {NULL, 10, CANARY_RELEASE_NONE, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_INT(canary_release_of(cases[i].phase, cases[i].weight), cases[i].want);
        CHECK_INT(canary_release_denies(canary_release_of(cases[i].phase, cases[i].weight)), cases[i].denies);
    }
}

static void canary_reads_label_values(void)
{
    static const struct { const char *obj; enum canary_enabled want; } cases[] = {
        {"{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"true\"}}}", CANARY_ENABLED_TRUE},
        {"{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"false\"}}}", CANARY_ENABLED_FALSE},
        {"{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":\"True\"}}}", CANARY_ENABLED_UNSET},
        {"{\"metadata\":{\"labels\":{\"manual-gate.io/enabled\":true}}}", CANARY_ENABLED_UNSET},
        {"{\"metadata\":{\"labels\":{}}}", CANARY_ENABLED_UNSET},
        {"{\"metadata\":null}", CANARY_ENABLED_UNSET},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *o = cJSON_Parse(cases[i].obj);

        CHECK_INT(canary_enabled_label(o), cases[i].want);
        cJSON_Delete(o);
    }
}

/* The weight the next opened gate takes a release to, as Flagger's nextStepWeight/maxWeight compute it. */
static void canary_next_weight_follows_flaggers_step_plan(void)
{
    static const struct { const char *analysis; int weight, want; } cases[] = {
        {"{\"stepWeight\":10,\"maxWeight\":50}", 0, 10},
        {"{\"stepWeight\":10,\"maxWeight\":50}", 10, 20},
        {"{\"stepWeight\":10,\"maxWeight\":50}", 40, 50},
        {"{\"stepWeight\":10,\"maxWeight\":50}", 50, CANARY_NEXT_PROMOTION},
        /* Flagger adds the step and caps at 100, not at maxWeight. */
        {"{\"stepWeight\":20,\"maxWeight\":50}", 40, 60},
        {"{\"stepWeight\":30}", 90, 100},
        {"{\"stepWeight\":30}", 100, CANARY_NEXT_PROMOTION},
        {"{\"stepWeights\":[1,5,10,30]}", 0, 1},
        {"{\"stepWeights\":[1,5,10,30]}", 5, 10},
        {"{\"stepWeights\":[1,5,10,30]}", 10, 30},
        {"{\"stepWeights\":[1,5,10,30]}", 30, CANARY_NEXT_PROMOTION},
        /* A weight that is not one of the steps (the plan changed in flight): straight to 100%. */
        {"{\"stepWeights\":[1,5,10,30]}", 7, 100},
        {"{\"stepWeights\":[20,150]}", 20, 100},
        /* stepWeight wins over stepWeights for the step; stepWeights still set the max. */
        {"{\"stepWeight\":5,\"stepWeights\":[10,20]}", 10, 15},
        {"{\"stepWeight\":5,\"stepWeights\":[10,20]}", 20, CANARY_NEXT_PROMOTION},
        /* No step plan: Flagger never steps. */
        {"{\"maxWeight\":50}", 0, 0},
        {"{}", 0, 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[256];
        cJSON *c;

        snprintf(text, sizeof(text), "{\"spec\":{\"analysis\":%s}}", cases[i].analysis);
        c = cJSON_Parse(text);
        if (canary_next_weight(c, cases[i].weight) != cases[i].want)
            fprintf(stderr, "  case %zu: %s at %d\n", i, cases[i].analysis, cases[i].weight);
        CHECK_INT(canary_next_weight(c, cases[i].weight), cases[i].want);
        cJSON_Delete(c);
    }
}

/* status.lastTransitionTime as Flagger's metav1.Time writes it (RFC 3339, UTC), and what else RFC 3339
 * allows; anything else reads as unknown (0), never as a wrong time. */
static void canary_last_transition_reads_rfc3339(void)
{
    static const struct { const char *status; long long want; } cases[] = {
        {"{\"lastTransitionTime\":\"2024-05-02T09:14:00Z\"}", 1714641240LL},
        {"{\"lastTransitionTime\":\"2024-05-02T09:14:00.123456Z\"}", 1714641240LL},
        {"{\"lastTransitionTime\":\"2024-05-02T11:14:00+02:00\"}", 1714641240LL},
        {"{\"lastTransitionTime\":\"2024-05-02T04:44:00-04:30\"}", 1714641240LL},
        {"{\"lastTransitionTime\":\"1970-01-01T00:00:00Z\"}", 0},
        {"{\"lastTransitionTime\":\"2024-05-02 09:14:00\"}", 0},
        {"{\"lastTransitionTime\":\"2024-05-02T09:14:00\"}", 0},
        {"{\"lastTransitionTime\":\"2024-05-02T09:14:00Zjunk\"}", 0},
        {"{\"lastTransitionTime\":\"2024-05-02T09:14:00+0200\"}", 0},
        {"{\"lastTransitionTime\":12}", 0},
        {"{}", 0},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *c = cJSON_CreateObject();

        cJSON_AddItemToObject(c, "status", cJSON_Parse(cases[i].status));
        if ((long long)canary_last_transition(c) != cases[i].want)
            fprintf(stderr, "  case %zu: %s\n", i, cases[i].status);
        CHECK_INT(canary_last_transition(c), cases[i].want);
        cJSON_Delete(c);
    }
}

/* Flagger rolls back at failedChecks >= threshold, a threshold <= 0 (or none) meaning 1. */
static void canary_threshold_and_failed_checks_as_flagger_reads_them(void)
{
    cJSON *c = cJSON_Parse("{\"spec\":{\"analysis\":{\"threshold\":14400}},\"status\":{\"failedChecks\":3}}");
    cJSON *zero = cJSON_Parse("{\"threshold\":0}"), *none = cJSON_Parse("{}");

    CHECK(canary_threshold(canary_analysis(c)) == 14400);
    CHECK_INT(canary_failed_checks(c), 3);
    CHECK(canary_threshold(zero) == 1);
    CHECK(canary_threshold(none) == 1);
    CHECK(canary_threshold(NULL) == 1);
    CHECK_INT(canary_failed_checks(none), 0);
    cJSON_Delete(c);
    cJSON_Delete(zero);
    cJSON_Delete(none);
}

/* --mesh-provider takes what Flagger's -mesh-provider takes, whole words only. */
static void canary_mesh_providers_are_flaggers(void)
{
    CHECK(canary_mesh_provider_known("istio"));
    CHECK(canary_mesh_provider_known("kubernetes"));
    CHECK(canary_mesh_provider_known("apisix"));
    CHECK(canary_mesh_provider_known("traefik"));
    CHECK(canary_mesh_provider_known("gatewayapi:v1beta1"));
    CHECK(canary_mesh_provider_known("appmesh:v1beta2"));
    CHECK(!canary_mesh_provider_known("foo"));
    CHECK(!canary_mesh_provider_known(""));
    CHECK(!canary_mesh_provider_known("isti"));
    CHECK(!canary_mesh_provider_known("appmesh:v1beta"));
    CHECK(!canary_mesh_provider_known("mesh"));
    CHECK(!canary_mesh_provider_known(", "));
    CHECK(!canary_mesh_provider_known("Istio"));
}

TEST_MAIN("canary", TEST(canary_next_weight_follows_flaggers_step_plan), TEST(canary_mesh_providers_are_flaggers),
          TEST(canary_last_transition_reads_rfc3339),
          TEST(canary_threshold_and_failed_checks_as_flagger_reads_them),
          TEST(canary_parses_go_durations),
          TEST(canary_interval_follows_flagger),
          TEST(canary_interval_ns_is_exact),
          TEST(canary_analysis_falls_back_to_canary_analysis),
          TEST(canary_strategy_follows_flagger),
          TEST(canary_strategy_uses_the_mesh_provider_when_spec_names_none),
          TEST(canary_hook_is_matches_the_exact_decoded_path),
          TEST(canary_gating_needs_a_check_hook_or_the_label),
          TEST(canary_release_of_follows_the_phase_table),
          TEST(canary_reads_label_values))
