/*
 * `manual-gate status`: one row per gated Canary, with what an operator of a slow release asks first:
 * where it stands (phase, weight of max weight, where the next step goes, failed checks of the
 * threshold), for how long, and whether its gates are open, read from the loadtester itself through the
 * API server's service proxy. The data is built once as JSON (what -o json/yaml print); the table is a
 * rendering of it, fitted to the terminal. --watch polls (every --interval, default 5s: Flagger itself
 * acts once per analysis interval, at least 10s) and redraws when something changed.
 */
#include "ops_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "canary.h"
#include "obj.h"
#include "loadtester.h"
#include "ops.h"
#include "ops_probe.h"
#include "table.h"
#include "yamlio.h"

static const char usage[] =
    "usage: manual-gate status [NAME] [-n NS | -A] [-o json|yaml] [-w [--interval 5s]]\n\n"
    "One row per gated Canary: phase, canary weight / max weight, where the next opened gate takes it,\n"
    "failed checks / threshold, how long the release has run and since its last change, and the state\n"
    "of its traffic gate and rollback gate, read from the loadtester through the API server's service\n"
    "proxy (open, closed, unreachable, forbidden). A loadtester with more than one ready pod gets a\n"
    "warning: each pod keeps its own gates.\n\n"
    "  NAME                   only this Canary (shown even when it is not gated)\n"
    "  -A, --all-namespaces   every namespace\n"
    "  -o, --output FORMAT    json or yaml\n"
    "  -w, --watch            poll every --interval (default 5s) and redraw when something changed\n";

/* Status output for one Canary list is a few kilobytes per Canary; this bounds a redraw. */
#define STATUS_SCREEN_MAX (16u * 1024 * 1024)

static void add_warning(cJSON *warnings, const char *text)
{
    const cJSON *w;

    cJSON_ArrayForEach(w, warnings)
        if (strcmp(w->valuestring, text) == 0)
            return;
    cJSON_AddItemToArray(warnings, cJSON_CreateString(text));
}

/* The loadtester object of an item, and the warnings about its pods. */
static void add_loadtester(const struct probe *p, cJSON *item, cJSON *warnings)
{
    const struct loadtester *lt = &p->gate[LOADTESTER_TRAFFIC].lt;
    cJSON *obj = cJSON_AddObjectToObject(item, "loadtester");
    char text[600];

    cJSON_AddStringToObject(obj, "url", lt->url);
    cJSON_AddStringToObject(obj, "namespace", lt->namespace_);
    cJSON_AddStringToObject(obj, "service", lt->service);
    cJSON_AddNumberToObject(obj, "port", lt->port);
    if (p->pods < 0) {
        cJSON_AddNullToObject(obj, "readyPods");
        snprintf(text, sizeof(text), "cannot count the loadtester's ready pods: %s", p->pods_err);
        add_warning(warnings, text);
        return;
    }
    cJSON_AddNumberToObject(obj, "readyPods", p->pods);
    if (p->pods == 0)
        snprintf(text, sizeof(text), "loadtester Service %s/%s has no ready pod: no gate can open", lt->namespace_,
                 lt->service);
    else if (p->pods > 1)
        snprintf(text, sizeof(text), "loadtester Service %s/%s has %d ready pods: each keeps its own gates, so an "
                                     "open and a check can land on different pods", lt->namespace_, lt->service,
                 p->pods);
    else
        return;
    add_warning(warnings, text);
}

/* Both gates as read, their warnings, and the traffic gate's loadtester. */
static void add_gates(const struct probe *p, cJSON *item, cJSON *warnings)
{
    const struct probe_gate *traffic = &p->gate[LOADTESTER_TRAFFIC], *rollback = &p->gate[LOADTESTER_ROLLBACK];

    cJSON_AddStringToObject(item, "gate", gate_state_name(traffic->st));
    cJSON_AddStringToObject(item, "rollbackGate", gate_state_name(rollback->st));
    if (traffic->err[0])
        add_warning(warnings, traffic->err);
    if (rollback->err[0])
        add_warning(warnings, rollback->err);
    if (traffic->found == 0)
        add_loadtester(p, item, warnings);
}

static void add_time(cJSON *item, const char *key, long t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;

    if (t < 0 || !gmtime_r(&tt, &tm)) {
        cJSON_AddNullToObject(item, key);
        return;
    }
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(item, key, buf);
}

static int status_int(const cJSON *canary, const char *key)
{
    const cJSON *v = obj_get(obj_get(canary, "status"), key);

    return cJSON_IsNumber(v) ? v->valueint : 0;
}

/* Where, state and progress of the release (everything but the gates). */
static void add_release(const cJSON *canary, cJSON *item)
{
    const cJSON *th = obj_get(canary_analysis(canary), "threshold");
    const char *phase = canary_phase(canary);
    int weight = canary_weight(canary), next = canary_next_weight(canary, weight);
    /* Flagger consults the traffic gates only while Progressing (and Waiting leads there). */
    int consults = strcmp(phase, "Progressing") == 0 || strcmp(phase, "Waiting") == 0;
    char target[600];

    cJSON_AddStringToObject(item, "target", ops_target(canary, target, sizeof(target)));
    cJSON_AddStringToObject(item, "phase", phase);
    cJSON_AddBoolToObject(item, "gated", canary_is_gated(canary));
    cJSON_AddBoolToObject(item, "inFlight", canary_in_flight(canary));
    cJSON_AddNumberToObject(item, "canaryWeight", weight);
    cJSON_AddNumberToObject(item, "maxWeight", canary_max_weight(canary));
    if (consults && next > 0)
        cJSON_AddNumberToObject(item, "nextWeight", next);
    else
        cJSON_AddNullToObject(item, "nextWeight");
    cJSON_AddBoolToObject(item, "nextStepPromotes", consults && next == CANARY_NEXT_PROMOTION);
    cJSON_AddNumberToObject(item, "failedChecks", status_int(canary, "failedChecks"));
    /* Flagger: failedChecks >= threshold rolls back, and a threshold <= 0 means 1. */
    cJSON_AddNumberToObject(item, "threshold", cJSON_IsNumber(th) && th->valueint > 0 ? th->valueint : 1);
    add_time(item, "releaseStarted", ops_release_started(canary));
    add_time(item, "lastTransitionTime", ops_last_transition(canary));
}

static cJSON *status_item(const struct probe *p)
{
    cJSON *item = cJSON_CreateObject(), *warnings = cJSON_CreateArray();

    cJSON_AddStringToObject(item, "namespace", obj_namespace(p->canary));
    cJSON_AddStringToObject(item, "name", obj_name(p->canary));
    add_release(p->canary, item);
    add_gates(p, item, warnings);
    cJSON_AddItemToObject(item, "warnings", warnings);
    return item;
}

/* The Canaries to show: the one named, or the gated ones of the list. */
static size_t select_canaries(const cJSON *one, const cJSON *list, struct probe *probes)
{
    const cJSON *c;
    size_t n = 0;

    if (one)
        probes[n++].canary = one;
    cJSON_ArrayForEach(c, obj_get(list, "items"))
        if (canary_is_gated(c))
            probes[n++].canary = c;
    return n;
}

/* {"items": [...]} for the Canaries asked for, or NULL with a reason in err. */
static cJSON *collect(struct ops_opts *o, const char *ns, char *err, size_t errlen)
{
    cJSON *out = NULL, *items, *list = NULL, *one = NULL;
    struct probe *probes = NULL;
    size_t n, i;

    if (o->nargs == 1 && !(one = ops_get_canary(o, ns, o->args[0], err, errlen)))
        goto done;
    if (o->nargs == 0 && !(list = ops_list_canaries(o, o->all_namespaces ? NULL : ns, err, errlen)))
        goto done;
    n = one ? 1 : (size_t)cJSON_GetArraySize(obj_get(list, "items"));
    if (!(probes = calloc(n ? n : 1, sizeof(*probes)))) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    n = select_canaries(one, list, probes);
    if (ops_probe(&o->kube, probes, n) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    out = cJSON_CreateObject();
    items = cJSON_AddArrayToObject(out, "items");
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(items, status_item(&probes[i]));
done:
    free(probes);
    cJSON_Delete(list);
    cJSON_Delete(one);
    return out;
}

enum { COL_NAMESPACE, COL_NAME, COL_TARGET, COL_PHASE, COL_WEIGHT, COL_NEXT, COL_FAILED, COL_RUNNING, COL_SINCE,
       COL_GATE, COL_ROLLBACK, NCOLS };

/* On a narrow terminal TARGET goes first, then SINCE, FAILED, NEXT, RUNNING, ROLLBACK. */
static const struct table_col columns[NCOLS] = {
    {"NAMESPACE", 0}, {"NAME", 0}, {"TARGET", 1}, {"PHASE", 0}, {"WEIGHT", 0}, {"NEXT", 4},
    {"FAILED", 3},    {"RUNNING", 5}, {"SINCE", 2}, {"GATE", 0}, {"ROLLBACK", 6},
};

static const char *str_at(const cJSON *item, const char *key)
{
    return obj_string_or(item, key, "");
}

static int int_at(const cJSON *item, const char *key)
{
    const cJSON *v = obj_get(item, key);

    return cJSON_IsNumber(v) ? v->valueint : 0;
}

static const char *phase_colour(const cJSON *item)
{
    const char *phase = str_at(item, "phase");

    if (strcmp(phase, "Succeeded") == 0)
        return TABLE_GREEN;
    if (strcmp(phase, "Failed") == 0)
        return TABLE_RED;
    return cJSON_IsTrue(obj_get(item, "inFlight")) ? TABLE_YELLOW : NULL;
}

/* An open traffic gate is good news (a step is coming); an open rollback gate is a rollback coming. */
static const char *gate_colour(const char *state, int rollback)
{
    if (strcmp(state, "open") == 0)
        return rollback ? TABLE_RED : TABLE_GREEN;
    return strcmp(state, "closed") == 0 || strcmp(state, "no hook") == 0 ? NULL : TABLE_RED;
}

static void table_row(struct table *t, const cJSON *item, long now)
{
    const cJSON *next = obj_get(item, "nextWeight");
    long started = ops_parse_time(str_at(item, "releaseStarted")), moved = ops_parse_time(str_at(item, "lastTransitionTime"));
    char age[32];

    table_set(t, COL_NAMESPACE, NULL, "%s", str_at(item, "namespace"));
    table_set(t, COL_NAME, NULL, "%s", str_at(item, "name"));
    table_set(t, COL_TARGET, NULL, "%s", str_at(item, "target"));
    table_set(t, COL_PHASE, phase_colour(item), "%s", *str_at(item, "phase") ? str_at(item, "phase") : "-");
    table_set(t, COL_WEIGHT, NULL, "%d/%d%%", int_at(item, "canaryWeight"), int_at(item, "maxWeight"));
    if (cJSON_IsNumber(next))
        table_set(t, COL_NEXT, NULL, "%d%%", next->valueint);
    else
        table_set(t, COL_NEXT, NULL, "%s", cJSON_IsTrue(obj_get(item, "nextStepPromotes")) ? "promote" : "-");
    table_set(t, COL_FAILED, NULL, "%d/%d", int_at(item, "failedChecks"), int_at(item, "threshold"));
    table_set(t, COL_RUNNING, NULL, "%s", ops_age(started < 0 ? -1 : now - started, age, sizeof(age)));
    table_set(t, COL_SINCE, NULL, "%s", ops_age(moved < 0 ? -1 : now - moved, age, sizeof(age)));
    table_set(t, COL_GATE, gate_colour(str_at(item, "gate"), 0), "%s", str_at(item, "gate"));
    table_set(t, COL_ROLLBACK, gate_colour(str_at(item, "rollbackGate"), 1), "%s", str_at(item, "rollbackGate"));
}

/* Each distinct warning once, after the Canaries it concerns. */
static int render_warnings(const cJSON *items, struct buf *out)
{
    const cJSON *item, *w, *other, *ow;
    int rc = 0;

    cJSON_ArrayForEach(item, items) {
        cJSON_ArrayForEach(w, obj_get(item, "warnings")) {
            int first = 1, sep = 0;

            /* Printed with the first Canary that has it. */
            for (other = items->child; other != item && first; other = other->next)
                cJSON_ArrayForEach(ow, obj_get(other, "warnings"))
                    first &= strcmp(ow->valuestring, w->valuestring) != 0;
            if (!first)
                continue;
            rc |= buf_printf(out, "warning: ");
            for (other = item; other; other = other->next)
                cJSON_ArrayForEach(ow, obj_get(other, "warnings"))
                    if (strcmp(ow->valuestring, w->valuestring) == 0)
                        rc |= buf_printf(out, "%s%s/%s", sep++ ? ", " : "", str_at(other, "namespace"), str_at(other, "name"));
            rc |= buf_printf(out, ": %s\n", w->valuestring);
        }
    }
    return rc;
}

static int render_table(const cJSON *data, int all_namespaces, const char *ns, struct buf *out)
{
    const cJSON *items = obj_get(data, "items"), *item;
    long now = (long)time(NULL);
    struct table *t;
    int rc;

    if (!cJSON_GetArraySize(items))
        return all_namespaces ? buf_printf(out, "No gated Canaries in any namespace.\n")
                              : buf_printf(out, "No gated Canaries in namespace %s.\n", ns);
    /* Without -A the namespace is the one asked for, as kubectl leaves it out. */
    if (!(t = table_new(columns, NCOLS)))
        return -1;
    if (!all_namespaces)
        table_hide(t, COL_NAMESPACE);
    cJSON_ArrayForEach(item, items) {
        if (table_add_row(t) != 0)
            break;
        table_row(t, item, now);
    }
    rc = table_render(t, ops_use_colour(), ops_term_width(), out);
    table_free(t);
    return rc ? rc : render_warnings(items, out);
}

/* The whole output for one refresh into screen: JSON, YAML or the table. */
static int render(const struct ops_opts *o, const char *ns, const cJSON *data, struct buf *screen)
{
    cJSON *docs;
    char *text;
    int rc;

    if (!o->output)
        return render_table(data, o->all_namespaces, ns, screen);
    if (strcmp(o->output, "json") == 0) {
        text = o->watch ? cJSON_PrintUnformatted(data) : cJSON_Print(data);
    } else {
        docs = cJSON_CreateArray();
        cJSON_AddItemReferenceToArray(docs, (cJSON *)data);
        text = yamlio_emit(docs);
        cJSON_Delete(docs);
    }
    rc = text ? buf_printf(screen, "%s\n", text) : -1;
    free(text);
    return rc;
}

static int status_once(struct ops_opts *o, const char *ns)
{
    struct buf screen = BUF_INIT(STATUS_SCREEN_MAX);
    char err[1024];
    cJSON *data = collect(o, ns, err, sizeof(err));
    int rc = OPS_EXIT_ERROR;

    if (ops_interrupted()) {
        /* Interrupted reads are not a status: print nothing. */
    } else if (!data) {
        ops_error(o, "%s", err);
    } else if (render(o, ns, data, &screen) != 0) {
        ops_error(o, "cannot print the status");
    } else {
        fputs(screen.data, stdout);
        rc = OPS_EXIT_OK;
    }
    cJSON_Delete(data);
    buf_free(&screen);
    return rc;
}

/* One poll of --watch. On a terminal the screen is redrawn whenever its text changes (ages included);
 * elsewhere a new table or JSON line is printed only when the state changed. */
static void watch_step(struct ops_opts *o, const char *ns, struct buf *prev_state, struct buf *prev_screen)
{
    struct buf screen = BUF_INIT(STATUS_SCREEN_MAX), state = BUF_INIT(STATUS_SCREEN_MAX);
    char err[1024], stamp[16];
    cJSON *data = collect(o, ns, err, sizeof(err));
    char *json = data ? cJSON_PrintUnformatted(data) : NULL;
    time_t now = time(NULL);
    struct tm tm;
    int tty = ops_is_tty();

    /* Ctrl-C also ends the kubectl calls of this poll: their errors are not news. */
    if (ops_interrupted())
        goto done;
    if (!data || render(o, ns, data, &screen) != 0 || !json) {
        buf_free(&screen);
        if (buf_printf(&screen, "error: %s\n", data ? "cannot print the status" : err) != 0)
            goto done;
    }
    /* Out of memory: skip this poll (the next one tries again). */
    if (!screen.data || buf_printf(&state, "%s", json ? json : screen.data) != 0 ||
        !(tty ? strcmp(screen.data, prev_screen->data ? prev_screen->data : "")
              : strcmp(state.data, prev_state->data ? prev_state->data : "")))
        goto done;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
    if (tty)
        fputs("\033[H\033[2J", stdout); /* cursor home, clear the screen */
    else if (prev_state->data && !o->output)
        fputs("\n", stdout);
    if (tty || !o->output)
        printf("manual-gate status, every %lds (Ctrl-C to stop), %s\n\n", o->interval, stamp);
    fputs(screen.data, stdout);
    fflush(stdout);
    buf_free(prev_screen);
    buf_free(prev_state);
    *prev_screen = screen;
    *prev_state = state;
    screen.data = state.data = NULL;
done:
    free(json);
    cJSON_Delete(data);
    buf_free(&screen);
    buf_free(&state);
}

int ops_status_main(int argc, char **argv)
{
    struct ops_opts o;
    struct buf prev_state = BUF_INIT(STATUS_SCREEN_MAX), prev_screen = BUF_INIT(STATUS_SCREEN_MAX);
    const char *ns = NULL;
    int rc = ops_parse(argc, argv, "status", OPS_F_ALL | OPS_F_OUTPUT | OPS_F_WATCH, 1, usage, &o);

    if (rc != OPS_GO)
        return rc;
    if (o.all_namespaces && o.nargs == 1)
        return ops_error(&o, "a NAME needs its namespace (-n), not -A");
    ops_catch_signals();
    if (!o.all_namespaces && !(ns = ops_namespace(&o)))
        return OPS_EXIT_ERROR;
    if (!o.watch)
        return status_once(&o, ns);
    do
        watch_step(&o, ns, &prev_state, &prev_screen);
    while (!ops_sleep(o.interval));
    buf_free(&prev_state);
    buf_free(&prev_screen);
    return OPS_EXIT_OK;
}
