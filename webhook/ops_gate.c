/*
 * Opening and closing a Canary's gates without starting a pod in production: the request goes to the
 * loadtester that Flagger's hooks call, through the API server's service proxy, so RBAC decides who may
 * and the audit log records who did. Before acting the command says where the release stands and what
 * the action will do, and asks; --wait then follows the Canary until Flagger took the step (or rolled
 * back), printing each change.
 *
 * Which phases read which gate (Flagger's scheduler): the traffic gate (confirm-traffic-increase hooks)
 * only in Progressing, for the canary strategy, when a next step exists; the rollback gate in
 * Progressing, Waiting and WaitingPromotion. Closing either is allowed in every phase: closing the
 * rollback gate is what follows a rollback.
 */
#include "ops_gate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "canary.h"
#include "obj.h"
#include "loadtester.h"
#include "monotime.h"
#include "ops.h"

static const char usage_gate[] =
    "usage: manual-gate gate open|close NAME [-n NS] [-y] [--wait [--timeout 30m]]\n\n"
    "open   let Flagger take the next step of a gated release in flight (it reads the gate at its next\n"
    "       check, then closes it again through the Canary's /gate/close hook)\n"
    "close  close a traffic gate that was opened by mistake (any phase)\n\n"
    "The gate is opened at the loadtester the Canary's gate hooks call, through the API server's service\n"
    "proxy: RBAC `create services/proxy` on that Service decides who may.\n\n"
    "  -y, --yes              do not ask for confirmation (needed without a terminal)\n"
    "      --wait             follow the Canary until the step was taken and the gate closed again\n"
    "      --timeout D        how long --wait waits (default 30m)\n";

static const char usage_rollback[] =
    "usage: manual-gate rollback open|close NAME [-n NS] [-y] [--wait [--timeout 30m]]\n\n"
    "open   make Flagger roll a gated release in flight back at its next check: all traffic returns to\n"
    "       the primary and the canary is scaled to zero (phase Failed)\n"
    "close  close the rollback gate (any phase). Flagger never closes it itself: left open after a\n"
    "       rollback, it rolls the next release back at once\n\n"
    "  -y, --yes              do not ask for confirmation (needed without a terminal)\n"
    "      --wait             follow the Canary until the rollback finished\n"
    "      --timeout D        how long --wait waits (default 30m)\n";

/* Flagger acts at most once per analysis interval (10s or more): a poll every 2s sees each change soon
 * enough and costs one GET. */
#define WAIT_POLL_SECONDS 2

struct action {
    const char *words;     /* "gate open" */
    const char *path;      /* what is POSTed */
    const char *check;     /* how the gate is read */
    enum loadtester_gate gate;
    int opens;
    const char *question;
    const char *done;
};

static const struct action actions[] = {
    [OPS_GATE_OPEN] = {"gate open", LOADTESTER_PATH_GATE_OPEN, CANARY_PATH_GATE_CHECK, LOADTESTER_TRAFFIC, 1, "Open the gate?",
                       "Gate opened."},
    [OPS_GATE_CLOSE] = {"gate close", CANARY_PATH_GATE_CLOSE, CANARY_PATH_GATE_CHECK, LOADTESTER_TRAFFIC, 0, "Close the gate?",
                        "Gate closed."},
    [OPS_ROLLBACK_OPEN] = {"rollback open", LOADTESTER_PATH_ROLLBACK_OPEN, CANARY_PATH_ROLLBACK_CHECK, LOADTESTER_ROLLBACK, 1,
                           "Roll the release back?", "Rollback gate opened."},
    [OPS_ROLLBACK_CLOSE] = {"rollback close", CANARY_PATH_ROLLBACK_CLOSE, CANARY_PATH_ROLLBACK_CHECK, LOADTESTER_ROLLBACK, 0,
                            "Close the rollback gate?", "Rollback gate closed."},
};

static int phase_is(const char *phase, const char *a, const char *b)
{
    return strcmp(phase, a) == 0 || (b && strcmp(phase, b) == 0);
}

static int traffic_refusal(const cJSON *canary, const char *phase, char *why, size_t len)
{
    static const char *const strategies[] = {"canary", "A/B testing", "blue/green"};
    enum canary_strategy st = canary_strategy(canary, NULL);

    if (strcmp(phase, "WaitingPromotion") == 0)
        snprintf(why, len, "phase WaitingPromotion reads no traffic gate: Flagger waits for its confirm-promotion hook");
    else if (phase_is(phase, "Promoting", "Finalising"))
        snprintf(why, len, "phase %s reads no traffic gate: the promotion is under way and finishes by itself", phase);
    else if (st != CANARY_STRATEGY_CANARY)
        snprintf(why, len, "Flagger runs this Canary as %s, which never reads confirm-traffic-increase hooks",
                 strategies[st]);
    else if (canary_next_weight(canary, canary_weight(canary)) == 0)
        snprintf(why, len, "Flagger never steps this Canary: its analysis has no stepWeight or stepWeights");
    else
        return 0;
    return 1;
}

int ops_gate_refusal(const cJSON *canary, enum ops_gate_action a, char *why, size_t len)
{
    const char *phase = canary_phase(canary);

    if (a == OPS_GATE_CLOSE || a == OPS_ROLLBACK_CLOSE)
        return 0;
    if (!canary_is_gated(canary)) {
        snprintf(why, len, "it is not gated: it has no %s hook on %s", CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK);
        return 1;
    }
    if (!canary_in_flight(canary)) {
        snprintf(why, len, "no release is in flight (phase %s): there is nothing to %s; a change to its target "
                           "starts a gated release", *phase ? phase : "none", a == OPS_GATE_OPEN ? "open" : "roll back");
        return 1;
    }
    if (a == OPS_GATE_OPEN)
        return traffic_refusal(canary, phase, why, len);
    if (phase_is(phase, "Promoting", "Finalising")) {
        snprintf(why, len, "phase %s reads no rollback gate: the promotion finishes by itself, and a rollback gate "
                           "left open would roll the next release back", phase);
        return 1;
    }
    return 0;
}

/* What the action will do, in a sentence. */
static void print_effect(const cJSON *canary, enum ops_gate_action a)
{
    int weight = canary_weight(canary), next = canary_next_weight(canary, weight);
    const char *phase = canary_phase(canary);
    char every[32];

    ops_age(canary_interval_seconds(canary_analysis(canary)), every, sizeof(every));
    if (a == OPS_GATE_OPEN && strcmp(phase, "Waiting") == 0)
        printf("Flagger waits for its confirm-rollout hook; once the release starts, the open gate lets its first "
               "step through: canary weight %d%% -> %d%%.\n", weight, next);
    else if (a == OPS_GATE_OPEN && next == CANARY_NEXT_PROMOTION)
        printf("Opening the gate lets Flagger take the last step at its next check (every %s): the canary is at its "
               "max weight %d%%, so the step promotes it (the primary gets the new version).\n", every, weight);
    else if (a == OPS_GATE_OPEN)
        printf("Opening the gate lets Flagger take the next step at its next check (every %s): canary weight "
               "%d%% -> %d%%.\n", every, weight, next);
    else if (a == OPS_ROLLBACK_OPEN)
        printf("Opening the rollback gate makes Flagger roll back at its next check (every %s): all traffic returns "
               "to the primary and the canary is scaled to zero (phase Failed).\n", every);
    else if (a == OPS_ROLLBACK_CLOSE)
        printf("Closing the rollback gate: Flagger will not roll back by hand. (It never closes this gate itself: "
               "left open after a rollback, it rolls the next release back at once.)\n");
    else
        printf("Closing the traffic gate: Flagger takes no step until it is opened again.\n");
}

static void print_situation(const cJSON *canary, const struct loadtester *lt, int pods, enum gate_state st,
                            enum ops_gate_action a)
{
    const char *phase = canary_phase(canary);
    char target[600];

    printf("Canary %s/%s (%s): phase %s, canary weight %d%% (max %d%%).\n", obj_namespace(canary), obj_name(canary),
           ops_target(canary, target, sizeof(target)), *phase ? phase : "none", canary_weight(canary),
           canary_max_weight(canary));
    printf("Loadtester %s (Service %s/%s, port %d", lt->url, lt->namespace_, lt->service, lt->port);
    if (pods >= 0)
        printf(", %d ready pod%s", pods, pods == 1 ? "" : "s");
    printf("): %s gate %s.\n", actions[a].gate == LOADTESTER_ROLLBACK ? "rollback" : "traffic", gate_state_name(st));
    if (pods > 1)
        printf("Warning: the loadtester has %d ready pods and each keeps its own gates: Flagger's check may land on "
               "another pod than this request.\n", pods);
    print_effect(canary, a);
}

struct target {
    struct ops_opts *o;
    const char *ns;
    const char *name;
    struct loadtester lt;
};

/* Read the gate now; on failure prints why and returns -1. */
static int read_gate(const struct target *t, const struct action *act, enum gate_state *st)
{
    char err[800];

    *st = loadtester_check(&t->o->kube, &t->lt, act->check, t->name, t->ns, err, sizeof(err));
    if (*st == GATE_OPEN || *st == GATE_CLOSED)
        return 0;
    ops_error(t->o, "cannot read the %s gate: %s", act->gate == LOADTESTER_ROLLBACK ? "rollback" : "traffic", err);
    return -1;
}

static void stamp(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;

    localtime_r(&now, &tm);
    strftime(buf, len, "%H:%M:%S", &tm);
}

/* After a rollback: say so, and that the rollback gate must be closed before the next release. */
static int rolled_back(const struct target *t)
{
    enum gate_state st;

    printf("Rolled back: all traffic is on the primary.\n");
    if (read_gate(t, &actions[OPS_ROLLBACK_OPEN], &st) == 0 && st == GATE_OPEN)
        printf("The rollback gate is still open: close it before the next release, or that release is rolled "
               "back at once:\n  manual-gate rollback close %s -n %s\n", t->name, t->ns);
    return 1 + OPS_EXIT_OK;
}

/* Whether the wait is over after this reading of the Canary: 0 not yet, else the exit code + 1. */
static int wait_verdict(const struct target *t, enum ops_gate_action a, const cJSON *c, const char *phase0,
                        int weight0)
{
    const char *phase = canary_phase(c);
    int weight = canary_weight(c);
    enum gate_state st;

    if (a == OPS_ROLLBACK_OPEN && strcmp(phase, "Failed") == 0)
        return rolled_back(t);
    if (!canary_in_flight(c)) {
        printf("The release ended in phase %s.\n", *phase ? phase : "none");
        return 1 + (a == OPS_GATE_OPEN && strcmp(phase, "Succeeded") == 0 ? OPS_EXIT_OK : OPS_EXIT_REFUSED);
    }
    if (a != OPS_GATE_OPEN || (weight == weight0 && strcmp(phase, phase0) == 0))
        return 0;
    if (weight < weight0 && strcmp(phase, "Progressing") == 0) {
        printf("The release restarted from %d%% (a new revision of its target?).\n", weight);
        return 1 + OPS_EXIT_REFUSED;
    }
    /* Flagger closes the gate (the gate-close hook) in the same check that takes the step. */
    if (read_gate(t, &actions[a], &st) != 0 || st != GATE_CLOSED)
        return 0;
    if (weight == weight0)
        printf("Step taken: phase %s, the promotion started; the gate is closed again.\n", phase);
    else
        printf("Step taken: canary weight %d%% -> %d%%; the gate is closed again.\n", weight0, weight);
    return 1 + OPS_EXIT_OK;
}

/* One poll of --wait: print what changed; 0 go on, else the exit code + 1 (the wait is over). */
static int wait_poll(const struct target *t, enum ops_gate_action a, const char *phase0, int weight0,
                     char *last_phase, int *last_weight)
{
    char err[800], when[16];
    cJSON *c = ops_get_canary(t->o, t->ns, t->name, err, sizeof(err));
    const char *phase;
    int rc;

    stamp(when, sizeof(when));
    if (!c) {
        printf("%s cannot read the Canary (trying again): %s\n", when, err);
        return 0;
    }
    phase = canary_phase(c);
    if (strcmp(phase, last_phase) != 0 || canary_weight(c) != *last_weight)
        printf("%s phase %s, canary weight %d%%\n", when, *phase ? phase : "none", canary_weight(c));
    snprintf(last_phase, 32, "%s", phase);
    *last_weight = canary_weight(c);
    rc = wait_verdict(t, a, c, phase0, weight0);
    cJSON_Delete(c);
    return rc;
}

static int wait_for_flagger(const struct target *t, enum ops_gate_action a, const cJSON *canary)
{
    char phase0[32], last_phase[32], limit[32];
    int weight0 = canary_weight(canary), last_weight = weight0, rc;
    double deadline = monotime_now() + (double)t->o->timeout;

    snprintf(phase0, sizeof(phase0), "%s", canary_phase(canary));
    snprintf(last_phase, sizeof(last_phase), "%s", phase0);
    printf("Waiting up to %s for Flagger (Ctrl-C stops waiting, not the %s)...\n",
           ops_age(t->o->timeout, limit, sizeof(limit)), a == OPS_GATE_OPEN ? "step" : "rollback");
    fflush(stdout);
    for (;;) {
        if (ops_sleep(WAIT_POLL_SECONDS)) {
            printf("Stopped waiting; the %s gate stays open.\n", a == OPS_GATE_OPEN ? "traffic" : "rollback");
            return OPS_EXIT_REFUSED;
        }
        if ((rc = wait_poll(t, a, phase0, weight0, last_phase, &last_weight)) != 0)
            return rc - 1;
        fflush(stdout);
        if (monotime_now() >= deadline) {
            printf("Timed out after %s: %s. The %s gate stays open.\n", limit,
                   a == OPS_GATE_OPEN ? "Flagger has not taken the step" : "Flagger has not rolled back",
                   a == OPS_GATE_OPEN ? "traffic" : "rollback");
            return OPS_EXIT_REFUSED;
        }
    }
}

/* Ask, unless --yes. OPS_GO to act, else the exit code. */
static int ask(const struct ops_opts *o, const struct action *act)
{
    int r;

    if (o->yes)
        return OPS_GO;
    fflush(stdout);
    r = ops_confirm(act->question);
    if (r < 0)
        return ops_error(o, "no terminal to ask for confirmation on: run it in a terminal, or pass --yes");
    if (r == 0) {
        printf("Nothing done.\n");
        return OPS_EXIT_REFUSED;
    }
    return OPS_GO;
}

/* Act; with several loadtester pods (or an unknown number), check that the gate now reads as intended.
 * With one pod a different reading can only be Flagger's own check in between, which --wait reports. */
static int act_now(const struct target *t, const struct action *act, int pods)
{
    enum gate_state st;
    char err[800];

    if (loadtester_act(&t->o->kube, &t->lt, act->path, t->name, t->ns, err, sizeof(err)) != 0)
        return ops_error(t->o, "%s", err);
    printf("%s\n", act->done);
    if (pods != 1 && read_gate(t, act, &st) == 0 && (st == GATE_OPEN) != act->opens)
        printf("Warning: the gate reads %s right after this request: another loadtester pod answered the check "
               "(or Flagger read the gate in between).\n", gate_state_name(st));
    return OPS_EXIT_OK;
}

static int run_action(struct ops_opts *o, enum ops_gate_action a, const char *name)
{
    const struct action *act = &actions[a];
    struct target t = {o, NULL, name, {{0}, {0}, 0, 0, {0}}};
    char err[800];
    enum gate_state st;
    cJSON *canary;
    int rc, pods;

    if (!(t.ns = ops_namespace(o)))
        return OPS_EXIT_ERROR;
    if (!(canary = ops_get_canary(o, t.ns, name, err, sizeof(err))))
        return ops_error(o, "%s", err);
    rc = ops_gate_refusal(canary, a, err, sizeof(err)) ? 1 : loadtester_of_canary(canary, act->gate, &t.lt, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "manual-gate %s: %sCanary %s/%s: %s\n", act->words, rc > 0 ? "refused: " : "", t.ns, name,
                err);
        cJSON_Delete(canary);
        return rc > 0 ? OPS_EXIT_REFUSED : OPS_EXIT_ERROR;
    }
    pods = loadtester_ready_pods(&o->kube, &t.lt, err, sizeof(err));
    if (pods < 0)
        printf("Warning: %s\n", err);
    if (read_gate(&t, act, &st) != 0) {
        rc = OPS_EXIT_ERROR;
    } else {
        print_situation(canary, &t.lt, pods, st, a);
        if ((st == GATE_OPEN) == act->opens)
            printf("The gate is already %s: nothing to do.\n", act->opens ? "open" : "closed");
        else if ((rc = ask(o, act)) == OPS_GO)
            rc = act_now(&t, act, pods);
        if (rc == OPS_EXIT_OK && o->wait && act->opens)
            rc = wait_for_flagger(&t, a, canary);
    }
    cJSON_Delete(canary);
    return rc;
}

/* `gate` and `rollback`: the verb, then NAME. */
static int verb_main(int argc, char **argv, const char *cmd, const char *usage, enum ops_gate_action open_a,
                     enum ops_gate_action close_a)
{
    struct ops_opts o;
    enum ops_gate_action a;
    int rc = ops_parse(argc, argv, cmd, OPS_F_YES | OPS_F_WAIT, 2, usage, &o);

    if (rc != OPS_GO)
        return rc;
    if (o.nargs != 2 || (strcmp(o.args[0], "open") != 0 && strcmp(o.args[0], "close") != 0)) {
        fputs(usage, stderr);
        return OPS_EXIT_ERROR;
    }
    a = strcmp(o.args[0], "open") == 0 ? open_a : close_a;
    o.cmd = actions[a].words;
    ops_catch_signals();
    return run_action(&o, a, o.args[1]);
}

int ops_gate_main(int argc, char **argv)
{
    return verb_main(argc, argv, "gate", usage_gate, OPS_GATE_OPEN, OPS_GATE_CLOSE);
}

int ops_rollback_main(int argc, char **argv)
{
    return verb_main(argc, argv, "rollback", usage_rollback, OPS_ROLLBACK_OPEN, OPS_ROLLBACK_CLOSE);
}
