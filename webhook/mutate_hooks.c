/*
 * The webhooks manual-gate completes on a gated Canary. Each hook has a role, known by its type and the
 * loadtester path it calls:
 *
 *   check            confirm-traffic-increase  /gate/check     a step is taken only when a human opened it
 *   close            confirm-traffic-increase  /gate/close     listed after the check: shuts it again
 *   rollback         rollback                  /rollback/check a human can roll the release back
 *   reset-rollback   post-rollout              /rollback/close when a release ends, promoted or rolled back:
 *   reset-gate       post-rollout              /gate/close     no open gate carries over to the next one
 *
 * Choices made here:
 * - The list is rewritten whole (one add/replace op): the indexes of several insert and move ops depend
 *   on each other, one op cannot be wrong, and the API server applies it atomically.
 * - Exactly one check: a second check after a close never passes (the close just shut the same gate),
 *   and one before the close only repeats the first. Two user checks are denied; a manual-gate hook is
 *   dropped when a user hook does the same job. A check added goes just before the first close; a
 *   close listed before the check is moved after it.
 * - A check or close without muteAlert: true gets it, with a warning: a closed gate fails its check every
 *   interval and Flagger would alert each time. Other hooks are left as written.
 * - The gate's loadtester holds the traffic gate in memory: the check, every close and reset-gate must
 *   call it, or the gate stays open. The rollback gate lives on the loadtester of the rollback hook,
 *   which reset-rollback must call. A mismatch is denied, not fixed: which host is right is the user's
 *   call.
 * - The gate's loadtester: the annotation manual-gate.io/loadtester, else the check's origin, else a
 *   close's, else the origin of a hook calling the loadtester's command API (path "/" with metadata.cmd,
 *   as Flagger's examples run load tests), else --loadtester-url. Added hooks use it as the user wrote
 *   it (an explicit :80 stays), so a GitOps diff shows only what was added; origins are compared
 *   canonically.
 * - Messages never quote a URL's userinfo or query (the server logs them): they may hold credentials.
 */
#include "mutate_hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "obj.h"
#include "url.h"

/* Longest URL quoted in a message. */
#define QUOTED_URL_MAX 160
/* The host label that marks the Flagger loadtester among several command-API origins. */
#define LOADTESTER_HINT "loadtester"

enum role { ROLE_OTHER, ROLE_CHECK, ROLE_CLOSE, ROLE_ROLLBACK, ROLE_RESET_ROLLBACK, ROLE_RESET_GATE, ROLE_COUNT };

/* Which loadtester a role's hook must call. */
enum gate { GATE_NONE, GATE_TRAFFIC, GATE_ROLLBACK };

static const struct {
    const char *owned; /* name manual-gate gives the hook it adds */
    const char *type;
    const char *path;
    int mute;          /* added with muteAlert: true */
    enum gate gate;
    const char *why;   /* reason in the "added" warning */
} roles[ROLE_COUNT] = {
    [ROLE_CHECK] = {MUTATE_HOOK_CHECK, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK, 1, GATE_TRAFFIC,
                    "traffic increases only when a human opens the gate"},
    [ROLE_CLOSE] = {MUTATE_HOOK_CLOSE, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CLOSE, 1, GATE_TRAFFIC,
                    "closes the gate again after each step"},
    [ROLE_ROLLBACK] = {MUTATE_HOOK_ROLLBACK, CANARY_HOOK_ROLLBACK, CANARY_PATH_ROLLBACK_CHECK, 0, GATE_ROLLBACK,
                       "lets a human roll the release back by hand"},
    [ROLE_RESET_ROLLBACK] = {MUTATE_HOOK_RESET_ROLLBACK, CANARY_HOOK_POST_ROLLOUT, CANARY_PATH_ROLLBACK_CLOSE, 0, GATE_ROLLBACK,
                             "at release end, closes the rollback gate"},
    [ROLE_RESET_GATE] = {MUTATE_HOOK_RESET_GATE, CANARY_HOOK_POST_ROLLOUT, CANARY_PATH_GATE_CLOSE, 0, GATE_TRAFFIC,
                         "at release end, closes a gate left open"},
};

struct hook {
    const cJSON *src;
    enum role role;
};

/* One loadtester: canonical origin (to compare), as written (for new hooks), and where it came from. */
struct loadtester {
    char origin[URL_ORIGIN_MAX];
    char written[URL_ORIGIN_MAX];
    const char *from;
};

/* What completing one Canary works from. */
struct plan {
    struct hook *kept;   /* the hooks that stay, in order (redundant manual-gate hooks dropped) */
    size_t nk;
    int has[ROLE_COUNT]; /* kept hooks of each role */
    size_t check_at;     /* index in kept of the check, or where the added check goes */
    struct loadtester traffic, rollback;
};

static const char *hook_name(const cJSON *h)
{
    return obj_string_or(h, "name", "(unnamed)");
}

static enum role hook_role(const cJSON *h)
{
    int r;

    for (r = ROLE_CHECK; r < ROLE_COUNT; r++)
        if (canary_hook_is(h, roles[r].type, roles[r].path))
            return (enum role)r;
    return ROLE_OTHER;
}

static int hook_owned(const cJSON *h, enum role r)
{
    return r != ROLE_OTHER && strcmp(hook_name(h), roles[r].owned) == 0;
}

static int is_owned_name(const char *name)
{
    int r;

    for (r = ROLE_CHECK; r < ROLE_COUNT; r++)
        if (strcmp(name, roles[r].owned) == 0)
            return 1;
    return 0;
}

/* ---- the hooks that stay ---- */

/* Keep every hook but a manual-gate hook whose job a user hook (or an earlier manual-gate hook) does.
 * 0, or -1 after a denial (two user checks). */
static int plan_keep(struct plan *p, const cJSON *hooks, struct decision *d)
{
    const char *user_name[ROLE_COUNT] = {NULL};
    int seen_owned[ROLE_COUNT] = {0}, n_checks = 0;
    char checks[160] = "";
    const cJSON *h;

    cJSON_ArrayForEach(h, hooks) {
        enum role r = hook_role(h);

        if (!hook_owned(h, r) && !user_name[r])
            user_name[r] = hook_name(h);
    }
    cJSON_ArrayForEach(h, hooks) {
        enum role r = hook_role(h);

        if (hook_owned(h, r) && (user_name[r] || seen_owned[r]++)) {
            decision_warn(d, "manual-gate: removed webhook %s: webhook %.30s already calls %s", hook_name(h),
                          user_name[r] ? user_name[r] : roles[r].owned, roles[r].path);
            continue;
        }
        if (r == ROLE_CHECK) {
            size_t used = strlen(checks);

            snprintf(checks + used, sizeof(checks) - used, "%s%.40s", n_checks++ ? ", " : "", hook_name(h));
        }
        p->kept[p->nk].src = h;
        p->kept[p->nk++].role = r;
        p->has[r]++;
    }
    if (n_checks > 1) {
        decision_deny(d, "gate-check-duplicate",
                         "manual-gate: the Canary has %d /gate/check webhooks (%s): keep exactly one, since a "
                         "check after a /gate/close never passes and one before it only repeats the first",
                      n_checks, checks);
        return -1;
    }
    return 0;
}

/* Where the check is, or goes: the first check, else just before the first close, else the end. */
static void plan_place_check(struct plan *p)
{
    size_t i, first_close = p->nk;

    for (i = 0; i < p->nk; i++) {
        if (p->kept[i].role == ROLE_CHECK) {
            p->check_at = i;
            return;
        }
        if (p->kept[i].role == ROLE_CLOSE && first_close == p->nk)
            first_close = i;
    }
    p->check_at = first_close;
}

/* ---- which loadtester ---- */

static int loadtester_set(struct loadtester *lt, const char *url, int base_only, const char *from)
{
    lt->from = from;
    if (url_origin(url, URL_CANONICAL, base_only, lt->origin, sizeof(lt->origin)) < 0 ||
        url_origin(url, URL_AS_WRITTEN, base_only, lt->written, sizeof(lt->written)) < 0)
        return -1;
    return 0;
}

/* A hook calling the loadtester's command API: URL path "/" and a metadata.cmd to run. */
static int calls_command_api(const cJSON *h)
{
    char path[8];

    return obj_string(obj_get(h, "metadata"), "cmd") && strcmp(url_path(obj_string(h, "url"), path, sizeof(path)), "/") == 0;
}

/* 1 when the host of origin (canonical) names the loadtester in its first label. */
static int names_loadtester(const char *origin)
{
    const char *host = strstr(origin, "://") + 3;
    size_t label = strcspn(host, ".:]");
    const char *hit = strstr(host, LOADTESTER_HINT);

    return hit && (size_t)(hit - host) + strlen(LOADTESTER_HINT) <= label;
}

/* Distinct command-API origins looked at; real Canaries have one or two. */
#define COMMAND_API_MAX 8

/* The command-API hooks' loadtester: their one origin, or the one whose host names the loadtester.
 * 1 when found, 0 when there is none, -1 after a denial (several, and not exactly one named). */
static int from_command_api(const struct plan *p, struct loadtester *lt, struct decision *d)
{
    struct loadtester seen[COMMAND_API_MAX];
    int n = 0, named = -1, n_named = 0, j;
    size_t i;

    for (i = 0; i < p->nk && n < COMMAND_API_MAX; i++) {
        if (!calls_command_api(p->kept[i].src) ||
            loadtester_set(&seen[n], obj_string(p->kept[i].src, "url"), 0, "its load-test webhook") < 0)
            continue;
        for (j = 0; j < n && strcmp(seen[j].origin, seen[n].origin) != 0; j++)
            ;
        if (j < n)
            continue;
        if (names_loadtester(seen[n].origin) && n_named++ == 0)
            named = n;
        n++;
    }
    if (n == 0)
        return 0;
    if (n > 1 && n_named != 1) {
        decision_deny(d, "loadtester-ambiguous",
                         "manual-gate: the Canary's load-test webhooks call several loadtesters (%s and %s): set "
                         "the annotation %s to the one that should hold the gates",
                      seen[0].origin, seen[1].origin, CANARY_ANN_LOADTESTER);
        return -1;
    }
    *lt = seen[n == 1 ? 0 : named];
    return 1;
}

static void deny_bad_base(const char *what, const char *url, struct decision *d)
{
    char quoted[QUOTED_URL_MAX];

    decision_deny(d, "loadtester-url-invalid",
                     "manual-gate: %s is \"%s\", which is not a loadtester base URL: use http(s)://host[:port] "
                     "without a path, e.g. http://flagger-loadtester.test",
                  what, url_redacted(url, quoted, sizeof(quoted)));
}

/* The traffic gate's loadtester, in the order the top of this file gives. 0, or -1 after a denial. */
static int find_traffic(struct plan *p, const cJSON *canary, const struct policy_config *cfg, struct decision *d)
{
    const char *ann = obj_annotation(canary, CANARY_ANN_LOADTESTER);
    size_t i;
    int r;

    if (ann) {
        if (loadtester_set(&p->traffic, ann, 1, "annotation " CANARY_ANN_LOADTESTER) == 0)
            return 0;
        deny_bad_base("annotation " CANARY_ANN_LOADTESTER, ann, d);
        return -1;
    }
    /* A bad URL here is reported by the origin check that follows. */
    for (r = ROLE_CHECK; r <= ROLE_CLOSE; r++)
        for (i = 0; i < p->nk; i++)
            if (p->kept[i].role == (enum role)r) {
                loadtester_set(&p->traffic, obj_string(p->kept[i].src, "url"), 0,
                               r == ROLE_CHECK ? "its /gate/check webhook" : "its /gate/close webhook");
                return 0;
            }
    if ((r = from_command_api(p, &p->traffic, d)) != 0)
        return r > 0 ? 0 : -1;
    if (cfg && cfg->loadtester_url && cfg->loadtester_url[0]) {
        if (loadtester_set(&p->traffic, cfg->loadtester_url, 1, "--loadtester-url") == 0)
            return 0;
        deny_bad_base("the server flag --loadtester-url", cfg->loadtester_url, d);
        return -1;
    }
    decision_deny(d, "loadtester-unknown",
                     "manual-gate: gating is enabled but no loadtester is known for the gate webhooks: set the "
                     "annotation %s (e.g. http://flagger-loadtester.test) on the Canary, or start manual-gate with "
                     "--loadtester-url",
                  CANARY_ANN_LOADTESTER);
    return -1;
}

/* The rollback gate's loadtester: the user's rollback hook's, else the traffic gate's. */
static void find_rollback(struct plan *p)
{
    size_t i;

    for (i = 0; i < p->nk; i++)
        if (p->kept[i].role == ROLE_ROLLBACK &&
            loadtester_set(&p->rollback, obj_string(p->kept[i].src, "url"), 0, "its rollback webhook") == 0)
            return;
    p->rollback = p->traffic;
}

/* Deny unless every hook of a gate calls that gate's loadtester. */
static int deny_other_loadtester(const struct plan *p, struct decision *d)
{
    char origin[URL_ORIGIN_MAX], quoted[QUOTED_URL_MAX];
    const struct loadtester *lt;
    size_t i;

    for (i = 0; i < p->nk; i++) {
        enum role r = p->kept[i].role;
        const char *url = obj_string_or(p->kept[i].src, "url", "");

        if (r == ROLE_OTHER || r == ROLE_ROLLBACK)
            continue;
        lt = roles[r].gate == GATE_TRAFFIC ? &p->traffic : &p->rollback;
        if (url_origin(url, URL_CANONICAL, 0, origin, sizeof(origin)) < 0) {
            decision_deny(d, "hook-url-invalid",
                             "manual-gate: webhook %s has url \"%s\", which is not http(s)://host[:port]%s: "
                             "manual-gate cannot tell which loadtester holds its gate (a host is needed, and no "
                             "user:password@)",
                          hook_name(p->kept[i].src), url_redacted(url, quoted, sizeof(quoted)), roles[r].path);
            return 1;
        }
        if (strcmp(origin, lt->origin) != 0) {
            decision_deny(d, "hook-loadtester-mismatch",
                             "manual-gate: webhook %s calls the loadtester %s but %s names %s: the gate's hooks "
                             "must call the one loadtester that holds the gate, or it stays open. Make them agree.",
                          hook_name(p->kept[i].src), origin, lt->from, lt->origin);
            return 1;
        }
    }
    return 0;
}

/* ---- the list ---- */

static cJSON *owned_hook(enum role r, const struct plan *p)
{
    const struct loadtester *lt = roles[r].gate == GATE_TRAFFIC ? &p->traffic : &p->rollback;
    cJSON *h = cJSON_CreateObject();
    char url[URL_ORIGIN_MAX + 32];

    snprintf(url, sizeof(url), "%s%s", lt->written, roles[r].path);
    if (!h || !cJSON_AddStringToObject(h, "name", roles[r].owned) ||
        !cJSON_AddStringToObject(h, "type", roles[r].type) || !cJSON_AddStringToObject(h, "url", url) ||
        (roles[r].mute && !cJSON_AddTrueToObject(h, "muteAlert"))) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

static int emit_owned(cJSON *out, enum role r, const struct plan *p, struct decision *d)
{
    cJSON *h = owned_hook(r, p);

    if (!h || !cJSON_AddItemToArray(out, h)) {
        cJSON_Delete(h);
        return -1;
    }
    decision_warn(d, "manual-gate: added webhook %s on %s: %s", roles[r].owned, roles[r].path, roles[r].why);
    return 0;
}

/* Append a copy of a hook the user wrote, muting the alert of a gate check or close. */
static int emit_user(cJSON *out, const struct hook *h, struct decision *d)
{
    cJSON *copy = cJSON_Duplicate(h->src, 1);

    if (!copy)
        return -1;
    if (roles[h->role].mute && !cJSON_IsTrue(obj_get(copy, "muteAlert"))) {
        cJSON_DeleteItemFromObjectCaseSensitive(copy, "muteAlert");
        if (!cJSON_AddTrueToObject(copy, "muteAlert")) {
            cJSON_Delete(copy);
            return -1;
        }
        decision_warn(d, "manual-gate: set muteAlert=true on webhook %.30s: a closed gate would alert every "
                         "interval", hook_name(h->src));
    }
    if (!cJSON_AddItemToArray(out, copy)) {
        cJSON_Delete(copy);
        return -1;
    }
    return 0;
}

/* The check, then the closes that stood before it (moved), or an added close when there is none. */
static int emit_gate(cJSON *out, const struct plan *p, struct decision *d)
{
    size_t j;

    if ((p->has[ROLE_CHECK] ? emit_user(out, &p->kept[p->check_at], d) : emit_owned(out, ROLE_CHECK, p, d)) < 0)
        return -1;
    for (j = 0; j < p->check_at; j++) {
        if (p->kept[j].role != ROLE_CLOSE)
            continue;
        if (emit_user(out, &p->kept[j], d) < 0)
            return -1;
        decision_warn(d, "manual-gate: moved webhook %.30s after the gate check: before it, no step is ever taken",
                      hook_name(p->kept[j].src));
    }
    return p->has[ROLE_CLOSE] ? 0 : emit_owned(out, ROLE_CLOSE, p, d);
}

static cJSON *plan_build(const struct plan *p, struct decision *d)
{
    static const enum role appended[] = {ROLE_ROLLBACK, ROLE_RESET_ROLLBACK, ROLE_RESET_GATE};
    cJSON *out = cJSON_CreateArray();
    size_t i;

    if (!out)
        return NULL;
    for (i = 0; i < p->nk; i++) {
        if (i == p->check_at) {
            if (emit_gate(out, p, d) < 0)
                goto fail;
            if (p->has[ROLE_CHECK])
                continue; /* the check itself was just emitted */
        }
        if (p->kept[i].role == ROLE_CLOSE && i < p->check_at)
            continue; /* moved after the check */
        if (emit_user(out, &p->kept[i], d) < 0)
            goto fail;
    }
    if (p->check_at == p->nk && emit_gate(out, p, d) < 0)
        goto fail;
    for (i = 0; i < sizeof(appended) / sizeof(appended[0]); i++)
        if (!p->has[appended[i]] && emit_owned(out, appended[i], p, d) < 0)
            goto fail;
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

cJSON *mutate_hooks_complete(const cJSON *canary, const struct policy_config *cfg, struct decision *d)
{
    const cJSON *hooks = obj_get(canary_analysis(canary), "webhooks");
    struct plan p;
    cJSON *out = NULL;
    int n = cJSON_GetArraySize(hooks);

    memset(&p, 0, sizeof(p));
    if (!(p.kept = calloc(n > 0 ? (size_t)n : 1, sizeof(*p.kept)))) {
        decision_error(d, 500, "manual-gate: out of memory while completing the Canary");
        return NULL;
    }
    if (plan_keep(&p, hooks, d) < 0 || find_traffic(&p, canary, cfg, d) < 0)
        goto done;
    find_rollback(&p);
    if (deny_other_loadtester(&p, d))
        goto done;
    plan_place_check(&p);
    if (!(out = plan_build(&p, d)))
        decision_error(d, 500, "manual-gate: out of memory while completing the Canary");
done:
    free(p.kept);
    return out;
}

cJSON *mutate_hooks_without_owned(const cJSON *hooks, int *removed, struct decision *d)
{
    cJSON *out = cJSON_CreateArray(), *copy;
    const cJSON *h;

    *removed = 0;
    cJSON_ArrayForEach(h, hooks) {
        if (out && is_owned_name(hook_name(h))) {
            (*removed)++;
            decision_warn(d, "manual-gate: removed webhook %s: label %s is \"false\"", hook_name(h),
                          CANARY_LABEL_ENABLED);
            continue;
        }
        if (out && (!(copy = cJSON_Duplicate(h, 1)) || !cJSON_AddItemToArray(out, copy))) {
            cJSON_Delete(copy);
            cJSON_Delete(out);
            out = NULL;
        }
    }
    return out;
}
