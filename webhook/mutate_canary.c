/*
 * The mutating policy on Canaries (DESIGN.md sections 1-3). When gating is enabled it makes
 * the Canary's analysis hold, among its confirm-traffic-increase webhooks, one /gate/check followed by
 * a /gate/close, plus a rollback webhook on /rollback/check; it raises the threshold so failed checks
 * cannot roll a long release back, and turns skipAnalysis off. Each change is one warning. The label
 * enabled="false" instead removes the webhooks manual-gate added, by name.
 *
 * Choices the issue leaves open, decided here:
 * - The webhooks array is rewritten whole with one add/replace op: the indexes of several insert and
 *   move ops depend on each other, one op cannot be wrong, and the API server applies it atomically.
 * - A check or close without muteAlert: true gets it, with a warning: a closed gate fails its check
 *   every interval and Flagger would alert each time. A user's rollback webhook is left as written.
 * - Exactly one /gate/check: a second check after a close never passes (the close just shut the same
 *   gate), and one before the close only repeats the first. Two user checks are denied; a
 *   manual-gate-owned hook is dropped when a user hook does the same job.
 * - The check and every close must call the same loadtester, whose memory holds the gate: a close on
 *   another host leaves the gate open. A mismatch with manual-gate.io/loadtester is denied, not fixed:
 *   which host is right is the user's call.
 * - Loadtester base: the annotation, else the existing check's origin, else an existing close's
 *   origin (keeps "only a close" on its host), else --loadtester-url.
 * - No analysis block at all: denied, since an analysis the CRD accepts needs an interval, a
 *   threshold and a step plan only the user can choose.
 * - An UPDATE that leaves spec, labels and annotations as stored gets no patch and no denial, only a
 *   warning when the Canary is incomplete: the validator skips such updates, so the two agree, and
 *   Flagger's own metadata updates (finalizers) of an old Canary are never blocked.
 * - The label "false" is denied when removing manual-gate's hooks would leave a user's /gate/check with
 *   no /gate/close after it: the gate would stay open once opened.
 * - Messages never quote a URL's userinfo or query (the server logs them): they may hold credentials.
 */
#include "mutate_canary.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "canary.h"
#include "json.h"
#include "patch.h"
#include "url.h"

#define ORIGIN_MAX URL_ORIGIN_MAX
/* Longest JSON pointer built here. */
#define POINTER_MAX 64
/* Longest URL quoted in a message. */
#define QUOTED_URL_MAX 160

enum role { ROLE_OTHER, ROLE_CHECK, ROLE_CLOSE, ROLE_ROLLBACK, ROLE_COUNT };

static const struct {
    const char *owned; /* name manual-gate gives the hook it adds */
    const char *type;
    const char *path;
    int mute;          /* added with muteAlert: true */
    const char *why;   /* reason in the "added" warning */
} roles[ROLE_COUNT] = {
    [ROLE_CHECK] = {MUTATE_HOOK_CHECK, HOOK_CONFIRM_TRAFFIC, PATH_GATE_CHECK, 1,
                    "traffic increases only when a human opens the gate"},
    [ROLE_CLOSE] = {MUTATE_HOOK_CLOSE, HOOK_CONFIRM_TRAFFIC, PATH_GATE_CLOSE, 1,
                    "closes the gate again after each step"},
    [ROLE_ROLLBACK] = {MUTATE_HOOK_ROLLBACK, HOOK_ROLLBACK, PATH_ROLLBACK_CHECK, 0,
                       "lets a human roll the release back by hand"},
};

struct hook {
    const cJSON *src;
    enum role role;
};

static const cJSON *child(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

static const char *child_string(const cJSON *obj, const char *key, const char *fallback)
{
    const cJSON *v = child(obj, key);

    return cJSON_IsString(v) ? v->valuestring : fallback;
}

static const char *hook_name(const cJSON *h)
{
    return child_string(h, "name", "(unnamed)");
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

long mutate_parse_max_duration(const char *s)
{
    long total = 0;

    if (!s || !*s)
        return -1;
    while (*s) {
        long v = 0, unit;
        int digits = 0;

        for (; isdigit((unsigned char)*s); s++, digits++) {
            v = v * 10 + (*s - '0');
            if (v > MUTATE_MAX_DURATION_LIMIT)
                return -1;
        }
        switch (*s) {
        case 'd': unit = 86400; break;
        case 'h': unit = 3600; break;
        case 'm': unit = 60; break;
        case 's': unit = 1; break;
        default: return -1;
        }
        if (!digits)
            return -1;
        s++;
        total += v * unit;
        if (total > MUTATE_MAX_DURATION_LIMIT)
            return -1;
    }
    return total > 0 ? total : -1;
}

static cJSON *owned_hook(enum role r, const char *base)
{
    cJSON *h = cJSON_CreateObject();
    char url[ORIGIN_MAX + 32];

    snprintf(url, sizeof(url), "%s%s", base, roles[r].path);
    if (!h || !cJSON_AddStringToObject(h, "name", roles[r].owned) ||
        !cJSON_AddStringToObject(h, "type", roles[r].type) || !cJSON_AddStringToObject(h, "url", url) ||
        (roles[r].mute && !cJSON_AddTrueToObject(h, "muteAlert"))) {
        cJSON_Delete(h);
        return NULL;
    }
    return h;
}

/* Append a copy of a hook the user wrote, muting the alert of a gate check or close. */
static int emit_user(cJSON *out, const struct hook *h, struct decision *d)
{
    cJSON *copy = cJSON_Duplicate(h->src, 1);

    if (!copy)
        return -1;
    if (roles[h->role].mute && !cJSON_IsTrue(child(copy, "muteAlert"))) {
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

static int emit_owned(cJSON *out, enum role r, const char *base, struct decision *d)
{
    cJSON *h = owned_hook(r, base);

    if (!h || !cJSON_AddItemToArray(out, h)) {
        cJSON_Delete(h);
        return -1;
    }
    decision_warn(d, "manual-gate: added webhook %s on %s: %s", roles[r].owned, roles[r].path, roles[r].why);
    return 0;
}

/* Patch /spec/<key>/webhooks to out when it differs: one op, add when the key is absent or null. */
static int patch_hooks(cJSON *ops, const char *key, const cJSON *hooks, cJSON *out)
{
    const char *const tokens[] = {"spec", key, "webhooks"};
    char path[POINTER_MAX];

    if (cJSON_IsArray(hooks) && json_equal(hooks, out)) {
        cJSON_Delete(out);
        return 0;
    }
    if (patch_path(path, sizeof(path), tokens, 3) < 0) {
        cJSON_Delete(out);
        return -1;
    }
    return cJSON_IsArray(hooks) ? patch_replace(ops, path, out) : patch_add(ops, path, out);
}

/* The first /gate/check of hooks when no /gate/close follows it, NULL otherwise: once a human opens
 * the gate, nothing closes it again and the release runs on to 100%. */
static const cJSON *open_check(const cJSON *hooks)
{
    const cJSON *h, *check = NULL;

    cJSON_ArrayForEach(h, hooks) {
        if (!check && canary_hook_is(h, HOOK_CONFIRM_TRAFFIC, PATH_GATE_CHECK))
            check = h;
        else if (check && canary_hook_is(h, HOOK_CONFIRM_TRAFFIC, PATH_GATE_CLOSE))
            return NULL;
    }
    return check;
}

/* Label enabled="false": drop the hooks manual-gate added (by name) and nothing else, unless that
 * would leave a user's gate check without a close. */
static void remove_owned(const cJSON *canary, struct decision *d)
{
    const char *key = canary_analysis_key(canary);
    const cJSON *hooks = child(canary_analysis(canary), "webhooks"), *h, *check;
    cJSON *out = NULL, *ops = NULL;
    int removed = 0;

    if (!key || !cJSON_IsArray(hooks))
        return;
    if (!(out = cJSON_CreateArray()) || !(ops = cJSON_CreateArray()))
        goto fail;
    cJSON_ArrayForEach(h, hooks) {
        cJSON *copy;

        if (is_owned_name(hook_name(h))) {
            removed++;
            continue;
        }
        if (!(copy = cJSON_Duplicate(h, 1)) || !cJSON_AddItemToArray(out, copy)) {
            cJSON_Delete(copy);
            goto fail;
        }
    }
    if (removed && (check = open_check(out)) != NULL) {
        decision_deny(d, "manual-gate: label %s is \"false\", but removing manual-gate's webhooks would leave "
                         "webhook %s on /gate/check with no /gate/close after it: once opened, the gate would "
                         "stay open and the release run on to 100%%. Remove %s too, or keep gating (label "
                         "\"true\").", CANARY_LABEL_ENABLED, hook_name(check), hook_name(check));
        cJSON_Delete(out);
        cJSON_Delete(ops);
        return;
    }
    cJSON_ArrayForEach(h, hooks)
        if (is_owned_name(hook_name(h)))
            decision_warn(d, "manual-gate: removed webhook %s: label %s is \"false\"", hook_name(h),
                          CANARY_LABEL_ENABLED);
    if (patch_hooks(ops, key, hooks, out) < 0) {
        out = NULL;
        goto fail;
    }
    decision_patch(d, ops);
    return;
fail:
    cJSON_Delete(out);
    cJSON_Delete(ops);
    decision_error(d, 500, "manual-gate: out of memory while removing the gate webhooks");
}

/* Deny unless every gate check and close calls the loadtester at base (from `from`). */
static int deny_other_loadtester(const struct hook *kept, size_t nk, const char *base, const char *from,
                                 struct decision *d)
{
    char origin[ORIGIN_MAX], quoted[QUOTED_URL_MAX];
    size_t i;

    for (i = 0; i < nk; i++) {
        const char *url = child_string(kept[i].src, "url", "");

        if (kept[i].role != ROLE_CHECK && kept[i].role != ROLE_CLOSE)
            continue;
        if (url_origin(url, URL_CANONICAL, 0, origin, sizeof(origin)) < 0) {
            decision_deny(d, "manual-gate: webhook %s has url \"%s\", which is not http(s)://host[:port]%s: "
                             "manual-gate cannot tell which loadtester holds its gate (a host is needed, and no "
                             "user:password@)",
                          hook_name(kept[i].src), url_redacted(url, quoted, sizeof(quoted)),
                          roles[kept[i].role].path);
            return 1;
        }
        if (strcmp(origin, base) != 0) {
            decision_deny(d, "manual-gate: webhook %s calls the loadtester %s but %s names %s: the gate's check "
                             "and close must call the one loadtester that holds the gate, or it stays open. "
                             "Make them agree.",
                          hook_name(kept[i].src), origin, from, base);
            return 1;
        }
    }
    return 0;
}

/* The loadtester base the added hooks call, and where it came from. 0, or -1 after a denial. */
static int find_base(const cJSON *canary, const struct hook *kept, size_t nk, const struct policy_config *cfg,
                     char *base, const char **from, struct decision *d)
{
    const char *ann = obj_annotation(canary, CANARY_ANN_LOADTESTER);
    char quoted[QUOTED_URL_MAX];
    size_t i;
    int r;

    base[0] = '\0';
    if (ann) {
        *from = "annotation " CANARY_ANN_LOADTESTER;
        if (url_origin(ann, URL_CANONICAL, 1, base, ORIGIN_MAX) == 0)
            return 0;
        decision_deny(d, "manual-gate: annotation %s is \"%s\", which is not a loadtester base URL: use "
                         "http(s)://host[:port] without a path, e.g. http://flagger-loadtester.test",
                      CANARY_ANN_LOADTESTER, url_redacted(ann, quoted, sizeof(quoted)));
        return -1;
    }
    /* The check's origin first, then a close's: url problems are reported by deny_other_loadtester. */
    for (r = ROLE_CHECK; r <= ROLE_CLOSE; r++)
        for (i = 0; i < nk; i++)
            if (kept[i].role == (enum role)r) {
                *from = r == ROLE_CHECK ? "its /gate/check webhook" : "its /gate/close webhook";
                if (url_origin(child_string(kept[i].src, "url", ""), URL_CANONICAL, 0, base, ORIGIN_MAX) < 0)
                    snprintf(base, ORIGIN_MAX, "(none)");
                return 0;
            }
    if (cfg && cfg->loadtester_url && cfg->loadtester_url[0]) {
        *from = "--loadtester-url";
        if (url_origin(cfg->loadtester_url, URL_CANONICAL, 1, base, ORIGIN_MAX) == 0)
            return 0;
        decision_deny(d, "manual-gate: the server flag --loadtester-url is \"%s\", which is not a loadtester base "
                         "URL: set http(s)://host[:port], or the annotation %s on the Canary",
                      url_redacted(cfg->loadtester_url, quoted, sizeof(quoted)), CANARY_ANN_LOADTESTER);
        return -1;
    }
    decision_deny(d, "manual-gate: gating is enabled but no loadtester is known for the gate webhooks: set the "
                     "annotation %s (e.g. http://flagger-loadtester.test) on the Canary, or start manual-gate with "
                     "--loadtester-url",
                  CANARY_ANN_LOADTESTER);
    return -1;
}

/* Threshold and skipAnalysis. 0, or -1 when out of memory. */
static int complete_settings(const cJSON *canary, const char *key, long max_sec, const char *max_text,
                             cJSON *ops, struct decision *d)
{
    const cJSON *analysis = canary_analysis(canary), *th = child(analysis, "threshold");
    const char *const th_tokens[] = {"spec", key, "threshold"};
    /* The exact interval (10.5s stays 10.5s): rounding it up first would give too few intervals. Both
     * terms are small enough for 64 bits: max_sec is at most a year, the interval at least 10s. */
    uint64_t interval_ns = (uint64_t)canary_interval_ns(analysis), max_ns = (uint64_t)max_sec * 1000000000ULL;
    long safe = (long)((max_ns + interval_ns - 1) / interval_ns);
    double interval = (double)interval_ns / 1e9;
    /* Flagger: failedChecks >= threshold rolls back, and a threshold <= 0 means 1. */
    double current = cJSON_IsNumber(th) ? (th->valuedouble <= 0 ? 1 : th->valuedouble) : 1;
    char path[POINTER_MAX];

    if (current < safe) {
        if (patch_path(path, sizeof(path), th_tokens, 3) < 0)
            return -1;
        if ((th ? patch_replace(ops, path, cJSON_CreateNumber((double)safe))
                : patch_add(ops, path, cJSON_CreateNumber((double)safe))) < 0)
            return -1;
        if (cJSON_IsNumber(th))
            decision_warn(d, "manual-gate: raised %s.threshold %g -> %ld (%.8s / %.10gs interval): no rollback on "
                             "flaky checks", key, th->valuedouble, safe, max_text, interval);
        else
            decision_warn(d, "manual-gate: set %s.threshold to %ld (%.8s / %.10gs interval): no rollback on flaky "
                             "checks", key, safe, max_text, interval);
    }
    if (cJSON_IsTrue(child(child(canary, "spec"), "skipAnalysis"))) {
        if (patch_replace(ops, "/spec/skipAnalysis", cJSON_CreateFalse()) < 0)
            return -1;
        decision_warn(d, "manual-gate: set spec.skipAnalysis=false: skipAnalysis promotes straight to 100%%");
    }
    return 0;
}

/* Build the final webhooks list: one check, every close after it, a rollback. */
static cJSON *build_hooks(const struct hook *kept, size_t nk, const char *base, struct decision *d)
{
    cJSON *out = cJSON_CreateArray();
    size_t i, j, ci = nk, n_close = 0, first_close = nk;
    int have_check = 0, have_rollback = 0;

    if (!out)
        return NULL;
    for (i = 0; i < nk; i++) {
        if (kept[i].role == ROLE_CHECK && !have_check) {
            have_check = 1;
            ci = i;
        } else if (kept[i].role == ROLE_CLOSE) {
            n_close++;
            if (first_close == nk)
                first_close = i;
        } else if (kept[i].role == ROLE_ROLLBACK) {
            have_rollback = 1;
        }
    }
    /* An added check goes just before the first close, so every close already follows it. */
    if (!have_check)
        ci = first_close;
    for (i = 0; i <= nk; i++) {
        if (i == ci) {
            if ((have_check ? emit_user(out, &kept[ci], d) : emit_owned(out, ROLE_CHECK, base, d)) < 0)
                goto fail;
            for (j = 0; j < ci; j++) {
                if (kept[j].role != ROLE_CLOSE)
                    continue;
                if (emit_user(out, &kept[j], d) < 0)
                    goto fail;
                decision_warn(d, "manual-gate: moved webhook %.30s after the gate check: before it, no step is "
                                 "ever taken", hook_name(kept[j].src));
            }
            if (!n_close && emit_owned(out, ROLE_CLOSE, base, d) < 0)
                goto fail;
            if (have_check)
                continue;
        }
        if (i == nk)
            break;
        if (kept[i].role == ROLE_CLOSE && i < ci)
            continue;
        if (emit_user(out, &kept[i], d) < 0)
            goto fail;
    }
    if (!have_rollback && emit_owned(out, ROLE_ROLLBACK, base, d) < 0)
        goto fail;
    return out;
fail:
    cJSON_Delete(out);
    return NULL;
}

/* Remove the warnings from index first on, giving their characters back to the budget. */
static void drop_warnings_from(struct decision *d, int first)
{
    cJSON *w;

    while (cJSON_GetArraySize(d->warnings) > first) {
        w = cJSON_DetachItemFromArray(d->warnings, first);
        if (w && w->valuestring)
            d->warn_used -= d->warn_used < strlen(w->valuestring) ? d->warn_used : strlen(w->valuestring);
        cJSON_Delete(w);
    }
    if (d->warnings && cJSON_GetArraySize(d->warnings) == 0) {
        cJSON_Delete(d->warnings);
        d->warnings = NULL;
    }
}

/* Gating is enabled: complete the Canary, or deny what cannot be completed. */
static void complete(const cJSON *canary, const struct policy_config *cfg, struct decision *d)
{
    const char *key = canary_analysis_key(canary);
    const cJSON *hooks = child(canary_analysis(canary), "webhooks"), *h;
    const char *max_text = obj_annotation(canary, CANARY_ANN_MAX_DURATION), *from = "";
    struct hook *kept = NULL;
    int seen_owned[ROLE_COUNT] = {0}, has_user[ROLE_COUNT] = {0}, n_checks = 0;
    const char *user_name[ROLE_COUNT] = {NULL};
    char base[ORIGIN_MAX], checks[160] = "";
    cJSON *ops = NULL, *out = NULL;
    size_t n = 0, nk = 0;
    int warnings_before = cJSON_GetArraySize(d->warnings);
    long max_sec;

    if (!key) {
        decision_deny(d, "manual-gate: gating is enabled but the Canary has neither spec.analysis nor "
                         "spec.canaryAnalysis: add spec.analysis with interval, threshold and stepWeight (or "
                         "stepWeights) so Flagger runs a gated analysis");
        return;
    }
    if (hooks && !cJSON_IsArray(hooks) && !cJSON_IsNull(hooks)) {
        decision_error(d, 400, "manual-gate: spec.%s.webhooks is not a list", key);
        return;
    }
    if (!max_text)
        max_text = MUTATE_MAX_DURATION_DEFAULT;
    if ((max_sec = mutate_parse_max_duration(max_text)) < 0) {
        decision_deny(d, "manual-gate: annotation %s is \"%s\", which is not a duration: use whole numbers of d, h, "
                         "m or s, e.g. 10d, 36h, 90m or 1h30m, at most 365d",
                      CANARY_ANN_MAX_DURATION, max_text);
        return;
    }

    n = (size_t)cJSON_GetArraySize(hooks);
    if (!(kept = calloc(n ? n : 1, sizeof(*kept))))
        goto oom;
    cJSON_ArrayForEach(h, hooks) {
        enum role r = hook_role(h);

        if (!hook_owned(h, r) && !has_user[r]) {
            has_user[r] = 1;
            user_name[r] = hook_name(h);
        }
    }
    /* An owned hook is redundant when a user hook does its job, or another owned hook already does. */
    cJSON_ArrayForEach(h, hooks) {
        enum role r = hook_role(h);

        if (hook_owned(h, r) && (has_user[r] || seen_owned[r]++)) {
            decision_warn(d, "manual-gate: removed webhook %s: webhook %.30s already calls %s", hook_name(h),
                          has_user[r] ? user_name[r] : roles[r].owned, roles[r].path);
            continue;
        }
        if (r == ROLE_CHECK) {
            size_t used = strlen(checks);

            snprintf(checks + used, sizeof(checks) - used, "%s%.40s", n_checks ? ", " : "", hook_name(h));
            n_checks++;
        }
        kept[nk].src = h;
        kept[nk++].role = r;
    }
    if (n_checks > 1) {
        decision_deny(d, "manual-gate: the Canary has %d /gate/check webhooks (%s): keep exactly one, since a "
                         "check after a /gate/close never passes and one before it only repeats the first",
                      n_checks, checks);
        goto done;
    }
    if (find_base(canary, kept, nk, cfg, base, &from, d) < 0 || deny_other_loadtester(kept, nk, base, from, d))
        goto done;

    if (!(ops = cJSON_CreateArray()) || !(out = build_hooks(kept, nk, base, d)))
        goto oom;
    if (patch_hooks(ops, key, hooks, out) < 0) {
        out = NULL;
        goto oom;
    }
    out = NULL;
    if (complete_settings(canary, key, max_sec, max_text, ops, d) < 0)
        goto oom;
    decision_patch(d, ops);
    ops = NULL;
    goto done;
oom:
    decision_error(d, 500, "manual-gate: out of memory while completing the Canary");
done:
    /* Warnings of a half-built answer would describe changes that are not made. */
    if (!d->allowed)
        drop_warnings_from(d, warnings_before);
    cJSON_Delete(ops);
    cJSON_Delete(out);
    free(kept);
}

void mutate_canary_object(const cJSON *canary, const struct policy_config *cfg, struct decision *d)
{
    const char *label = obj_label(canary, CANARY_LABEL_ENABLED);
    enum canary_enabled enabled = canary_enabled_label(canary);

    if (!cJSON_IsObject(canary))
        return;
    if (label && enabled == ENABLED_UNSET) {
        decision_deny(d, "manual-gate: label %s is \"%s\": use \"true\" to enable manual gating or \"false\" to "
                         "disable it", CANARY_LABEL_ENABLED, label);
        return;
    }
    if (enabled == ENABLED_FALSE)
        remove_owned(canary, d);
    else if (enabled == ENABLED_TRUE || canary_gate_check_hook(canary))
        complete(canary, cfg, d);
}

/* An UPDATE that leaves spec, labels and annotations as stored (Flagger adding its finalizer, another
 * controller's metadata write): the validator skips it, so patching it here would hand the validator
 * a changed spec to deny. Nothing is changed or denied; a warning says what is pending. */
static void leave_as_stored(const cJSON *canary, const struct policy_config *cfg, struct decision *d)
{
    struct decision m;

    decision_init(&m);
    mutate_canary_object(canary, cfg, &m);
    if (!m.allowed)
        decision_warn(d, "%s", m.message ? m.message : "manual-gate: the Canary cannot be completed");
    else if (m.patch)
        decision_warn(d, "manual-gate: the Canary still needs manual-gate's changes; they are made at its next "
                         "spec, label or annotation change");
    decision_free(&m);
}

void mutate_canary(const struct admission_request *req, const struct policy_config *cfg, struct decision *d)
{
    const cJSON *obj = req->object;

    if (!cJSON_IsObject(obj) || strcmp(req->operation, "DELETE") == 0)
        return;
    /* A Canary being deleted only loses its finalizers now: any denial would wedge the deletion. */
    if (child(child(obj, "metadata"), "deletionTimestamp"))
        return;
    /* With a \u0000 in the body equal-looking strings may differ: judged in full, as the validator does. */
    if (strcmp(req->operation, "UPDATE") == 0 && req->old_object && !req->lossy &&
        canary_gating_inputs_unchanged(req->old_object, obj)) {
        leave_as_stored(obj, cfg, d);
        return;
    }
    mutate_canary_object(obj, cfg, d);
}
