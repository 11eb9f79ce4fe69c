/* Which gate actions the phase of a Canary allows: opening needs a gated release in flight in a phase in
 * which Flagger reads that gate; closing is always allowed. */
#include "check.h"
#include "ops_gate.h"

static cJSON *gated(const char *phase, int weight, const char *analysis_extra)
{
    char text[2048];

    snprintf(text, sizeof(text),
             "{\"metadata\":{\"name\":\"podinfo\",\"namespace\":\"test\"},\"spec\":{\"analysis\":{\"interval\":\"1m\","
             "\"maxWeight\":50%s,\"webhooks\":[{\"name\":\"gate-check\",\"type\":"
             "\"confirm-traffic-increase\",\"url\":\"http://lt.test/gate/check\"},{\"name\":\"rollback\",\"type\":"
             "\"rollback\",\"url\":\"http://lt.test/rollback/check\"}]}},\"status\":{\"phase\":\"%s\","
             "\"canaryWeight\":%d}}",
             analysis_extra, phase, weight);
    return cJSON_Parse(text);
}

#define STEP ",\"stepWeight\":10"

static void ops_gate_actions_follow_the_phases_flagger_reads_gates_in(void)
{
    static const struct { const char *phase; int weight; const char *extra; int gate_open, rollback_open;
                          const char *says; } cases[] = {
        {"Progressing", 20, STEP, 0, 0, NULL},
        {"Progressing", 50, STEP, 0, 0, NULL},  /* the step promotes */
        {"Waiting", 0, STEP, 0, 0, NULL},
        {"WaitingPromotion", 0, STEP, 1, 0, "confirm-promotion"},
        {"Promoting", 50, STEP, 1, 1, "promotion"},
        {"Finalising", 0, STEP, 1, 1, "promotion"},
        {"Succeeded", 0, STEP, 1, 1, "no release is in flight"},
        {"Failed", 0, STEP, 1, 1, "no release is in flight"},
        {"", 0, STEP, 1, 1, "no release is in flight"},
        {"Progressing", 0, STEP ",\"iterations\":10", 1, 0, "blue/green"},
        {"Progressing", 0, STEP ",\"iterations\":10,\"match\":[{\"headers\":{}}]", 1, 0, "A/B testing"},
        {"Progressing", 10, "", 1, 0, "never steps"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *c = gated(cases[i].phase, cases[i].weight, cases[i].extra);
        char why[400] = "";

        CHECK(c != NULL);
        CHECK_INT(ops_gate_refusal(c, OPS_GATE_OPEN, why, sizeof(why)), cases[i].gate_open);
        if (cases[i].gate_open && !strstr(why, cases[i].says))
            fprintf(stderr, "  %s: %s\n", cases[i].phase, why);
        CHECK(!cases[i].gate_open || strstr(why, cases[i].says));
        CHECK_INT(ops_gate_refusal(c, OPS_ROLLBACK_OPEN, why, sizeof(why)), cases[i].rollback_open);
        /* Closing is what follows a rollback, or undoes a mistake: never refused. */
        CHECK_INT(ops_gate_refusal(c, OPS_ROLLBACK_CLOSE, why, sizeof(why)), 0);
        CHECK_INT(ops_gate_refusal(c, OPS_GATE_CLOSE, why, sizeof(why)), 0);
        cJSON_Delete(c);
    }
}

static void ops_gate_open_needs_a_gated_canary(void)
{
    cJSON *c = cJSON_Parse("{\"spec\":{\"analysis\":{\"stepWeight\":10}},\"status\":{\"phase\":\"Progressing\"}}");
    char why[400];

    CHECK_INT(ops_gate_refusal(c, OPS_GATE_OPEN, why, sizeof(why)), 1);
    CHECK(strstr(why, "not gated") != NULL);
    CHECK_INT(ops_gate_refusal(c, OPS_ROLLBACK_OPEN, why, sizeof(why)), 1);
    cJSON_Delete(c);
}

TEST_MAIN("ops_gate", TEST(ops_gate_actions_follow_the_phases_flagger_reads_gates_in),
          TEST(ops_gate_open_needs_a_gated_canary))
