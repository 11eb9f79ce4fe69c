/* The operator commands' shared pieces: Flagger's status times, ages, the command line, and tables fitted
 * to the terminal. */
#include "check.h"
#include "ops.h"
#include "table.h"

static void ops_parses_kubernetes_times(void)
{
    CHECK_INT(ops_parse_time("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(ops_parse_time("2024-05-06T14:03:10Z"), 1715004190);
    CHECK_INT(ops_parse_time("2024-05-06T16:03:10+02:00"), 1715004190);
    CHECK_INT(ops_parse_time("2024-05-06T13:33:10-00:30"), 1715004190);
    CHECK_INT(ops_parse_time("2024-05-06T14:03:10.123456Z"), 1715004190);
    CHECK_INT(ops_parse_time("2024-05-06 14:03:10Z"), -1);
    CHECK_INT(ops_parse_time("2024-05-06T14:03:10"), -1);
    CHECK_INT(ops_parse_time("2024-05-06T14:03:10Zjunk"), -1);
    CHECK_INT(ops_parse_time(""), -1);
    CHECK_INT(ops_parse_time(NULL), -1);
}

static void ops_prints_ages_as_kubectl_does(void)
{
    static const struct { long s; const char *want; } cases[] = {
        {-1, "-"}, {0, "0s"}, {59, "59s"}, {60, "1m"}, {3599, "59m"}, {3600, "1h0m"}, {11520, "3h12m"},
        {86400, "1d0h"}, {187200, "2d4h"}, {14 * 86400 + 3599, "14d0h"},
    };
    size_t i;
    char buf[32];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_STR(ops_age(cases[i].s, buf, sizeof(buf)), cases[i].want);
}

static cJSON *canary_in(const char *phase, const char *cond_time)
{
    char text[1024];

    snprintf(text, sizeof(text),
             "{\"status\":{\"phase\":\"%s\",\"lastTransitionTime\":\"2024-05-06T15:00:00Z\",\"conditions\":["
             "{\"type\":\"Other\",\"lastTransitionTime\":\"2020-01-01T00:00:00Z\"},"
             "{\"type\":\"Promoted\",\"status\":\"Unknown\",\"reason\":\"%s\",\"lastTransitionTime\":\"%s\"}]}}",
             phase, phase, cond_time);
    return cJSON_Parse(text);
}

static void ops_release_start_is_the_promoted_condition_while_in_flight(void)
{
    cJSON *progressing = canary_in("Progressing", "2024-05-06T14:03:10Z");
    cJSON *promoting = canary_in("Promoting", "2024-05-06T14:03:10Z");
    cJSON *succeeded = canary_in("Succeeded", "2024-05-06T14:03:10Z");
    cJSON *none = cJSON_Parse("{\"status\":{\"phase\":\"Progressing\"}}");

    CHECK_INT(ops_release_started(progressing), 1715004190);
    /* The condition keeps its time through every phase of a release (its status stays Unknown). */
    CHECK_INT(ops_release_started(promoting), 1715004190);
    CHECK_INT(ops_release_started(succeeded), -1);
    CHECK_INT(ops_release_started(none), -1);
    CHECK_INT(ops_last_transition(progressing), 1715007600);
    CHECK_INT(ops_last_transition(none), -1);
    cJSON_Delete(progressing);
    cJSON_Delete(promoting);
    cJSON_Delete(succeeded);
    cJSON_Delete(none);
}

static int parse(const char *line, unsigned flags, int max_args, struct ops_opts *o)
{
    char copy[256], *argv[16], *tok, *save = NULL;
    int argc = 0;
    FILE *saved = stderr;
    int rc;

    snprintf(copy, sizeof(copy), "%s", line);
    for (tok = strtok_r(copy, " ", &save); tok && argc < 16; tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    stderr = fopen("/dev/null", "w"); /* the error messages are not the point here */
    rc = ops_parse(argc, argv, "test", flags, max_args, "usage\n", o);
    fclose(stderr);
    stderr = saved;
    return rc;
}

static void ops_command_line_takes_kubectl_spellings(void)
{
    struct ops_opts o;

    CHECK_INT(parse("podinfo -n test --context=prod --kubeconfig /k -y --wait --timeout 90s", OPS_F_YES | OPS_F_WAIT,
                    1, &o), OPS_GO);
    CHECK_STR(o.args[0], "podinfo");
    CHECK_STR(o.namespace_, "test");
    CHECK_STR(o.kube.context, "prod");
    CHECK_STR(o.kube.kubeconfig, "/k");
    CHECK(o.yes && o.wait);
    CHECK_INT(o.timeout, 90);
    CHECK_INT(parse("-ntest --namespace=x -ojson -w --interval 2 -A", OPS_F_ALL | OPS_F_OUTPUT | OPS_F_WATCH, 0, &o),
              OPS_EXIT_ERROR); /* -n and -A together */
    CHECK_INT(parse("--namespace=x -ojson -w --interval 2m", OPS_F_OUTPUT | OPS_F_WATCH, 0, &o), OPS_GO);
    CHECK_STR(o.namespace_, "x");
    CHECK_STR(o.output, "json");
    CHECK_INT(o.interval, 120);
    /* Flags a command does not take, bad values, missing values, too many arguments. */
    CHECK_INT(parse("-w", OPS_F_YES, 0, &o), OPS_EXIT_ERROR);
    CHECK_INT(parse("-o table", OPS_F_OUTPUT, 0, &o), OPS_EXIT_ERROR);
    CHECK_INT(parse("--timeout soon", OPS_F_WAIT, 0, &o), OPS_EXIT_ERROR);
    CHECK_INT(parse("--interval 0s", OPS_F_WATCH, 0, &o), OPS_EXIT_ERROR);
    CHECK_INT(parse("-n", 0, 0, &o), OPS_EXIT_ERROR);
    CHECK_INT(parse("a b", 0, 1, &o), OPS_EXIT_ERROR);
}

static const struct table_col cols[] = {{"NAME", 0}, {"TARGET", 1}, {"PHASE", 0}, {"SINCE", 2}};

static void table_pads_columns_and_drops_the_least_useful_on_narrow_terminals(void)
{
    struct table *t = table_new(cols, 4);
    struct buf out = BUF_INIT(1 << 16);

    CHECK(table_add_row(t) == 0);
    table_set(t, 0, NULL, "podinfo");
    table_set(t, 1, NULL, "Deployment/podinfo");
    table_set(t, 2, TABLE_YELLOW, "Progressing");
    table_set(t, 3, NULL, "%dm", 12);
    CHECK(table_render(t, 0, 0, &out) == 0);
    CHECK_STR(out.data, "NAME     TARGET              PHASE        SINCE\n"
                        "podinfo  Deployment/podinfo  Progressing  12m\n");
    buf_free(&out);
    /* 40 columns: TARGET (keep 1) goes first; SINCE still fits. */
    CHECK(table_render(t, 0, 40, &out) == 0);
    CHECK_STR(out.data, "NAME     PHASE        SINCE\npodinfo  Progressing  12m\n");
    buf_free(&out);
    /* 20 columns: SINCE goes too; NAME and PHASE are never dropped, even when they do not fit. */
    CHECK(table_render(t, 0, 20, &out) == 0);
    CHECK_STR(out.data, "NAME     PHASE\npodinfo  Progressing\n");
    buf_free(&out);
    /* Colour codes wrap the cell and do not count toward the padding. */
    table_hide(t, 1);
    CHECK(table_render(t, 1, 0, &out) == 0);
    CHECK_STR(out.data, "NAME     PHASE        SINCE\npodinfo  \033[33mProgressing\033[0m  12m\n");
    buf_free(&out);
    table_free(t);
}

TEST_MAIN("ops", TEST(ops_parses_kubernetes_times), TEST(ops_prints_ages_as_kubectl_does),
          TEST(ops_release_start_is_the_promoted_condition_while_in_flight), TEST(ops_command_line_takes_kubectl_spellings),
          TEST(table_pads_columns_and_drops_the_least_useful_on_narrow_terminals))
