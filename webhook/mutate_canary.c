/*
 * The mutating policy on Canaries. When gating is enabled it completes the Canary: the gate webhooks
 * (mutate_hooks.c), a threshold that failed checks cannot reach during the longest planned release
 * (the user's own value kept in the annotation manual-gate.io/original-threshold), and skipAnalysis
 * off. Each change is one warning. The label enabled="false" removes the webhooks manual-gate added and
 * gives the threshold back.
 *
 * Choices made here:
 * - No analysis block at all: denied, since an analysis the CRD accepts needs an interval, a threshold
 *   and a step plan only the user can choose.
 * - The threshold is raised only: a larger one the user chose is kept, and then nothing is remembered.
 *   When it is raised, the annotation records the value the user asked for this time, so a value changed
 *   in Git is the one given back. No threshold is remembered as 0, which is what Flagger reads for it
 *   (and the CRD requires spec.analysis.threshold, so removing it would make the Canary invalid). Once
 *   gating is off (the label "false", or no trigger left) the value is restored and the annotation
 *   removed.
 * - An UPDATE that leaves spec, labels and annotations as stored gets no patch and no denial, only a
 *   warning when the Canary is incomplete: the validator skips such updates, so the two agree, and
 *   Flagger's own metadata updates (finalizers) of an old Canary are never blocked.
 * - The label "false" is denied when removing manual-gate's hooks would leave a user's /gate/check with
 *   no /gate/close after it: the gate would stay open once opened.
 */
#include "mutate_canary.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canary.h"
#include "json.h"
#include "mutate_hooks.h"
#include "obj.h"
#include "patch.h"

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

/* Patch /spec/<key>/webhooks to out when it differs: one op. Takes ownership of out. */
static int patch_hooks(cJSON *ops, const cJSON *canary, const char *key, cJSON *out)
{
    const char *const tokens[] = {"spec", key, "webhooks"};
    const cJSON *hooks = obj_get(canary_analysis(canary), "webhooks");

    if (cJSON_IsArray(hooks) && json_equal(hooks, out)) {
        cJSON_Delete(out);
        return 0;
    }
    return patch_set(ops, canary, tokens, 3, out);
}

/* ---- the threshold ---- */

/* The threshold as the annotation keeps it: the number, 0 when absent (as Flagger reads it). A number
 * written as a string ("5", which the CRD's schema refuses) is kept as written, so that disabling
 * gating gives back what the user meant rather than 0. */
static void threshold_text(const cJSON *th, char *buf, size_t len)
{
    const char *s = cJSON_IsString(th) ? th->valuestring : "";

    if (*s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 10)
        snprintf(buf, len, "%s", s);
    else if (!cJSON_IsNumber(th))
        snprintf(buf, len, "0");
    else if (th->valuedouble == floor(th->valuedouble) && fabs(th->valuedouble) < 1e15)
        snprintf(buf, len, "%.0f", th->valuedouble);
    else
        snprintf(buf, len, "%g", th->valuedouble);
}

/* Record the user's threshold in the annotation (when it says something else). */
static int remember_threshold(const cJSON *canary, const cJSON *th, cJSON *ops)
{
    const char *const tokens[] = {"metadata", "annotations", CANARY_ANN_ORIGINAL_THRESHOLD};
    const char *kept = obj_annotation(canary, CANARY_ANN_ORIGINAL_THRESHOLD);
    char text[64];

    threshold_text(th, text, sizeof(text));
    if (kept && strcmp(kept, text) == 0)
        return 0;
    return patch_set(ops, canary, tokens, 3, cJSON_CreateString(text));
}

/* Raise the threshold to the number of intervals in max-duration. 0, or -1 when out of memory. */
static int raise_threshold(const cJSON *canary, const char *key, long max_sec, const char *max_text, cJSON *ops,
                           struct decision *d)
{
    const cJSON *analysis = canary_analysis(canary), *th = obj_get(analysis, "threshold");
    const char *const tokens[] = {"spec", key, "threshold"};
    /* The exact interval (10.5s stays 10.5s): rounding it up first would give too few intervals. Both
     * terms are small enough for 64 bits: max_sec is at most a year, the interval at least 10s. */
    uint64_t interval_ns = (uint64_t)canary_interval_ns(analysis), max_ns = (uint64_t)max_sec * 1000000000ULL;
    long safe = (long)((max_ns + interval_ns - 1) / interval_ns);
    double current = canary_threshold(analysis);
    char was[64];

    if (current >= safe)
        return 0;
    threshold_text(th, was, sizeof(was));
    if (patch_set(ops, canary, tokens, 3, cJSON_CreateNumber((double)safe)) < 0 ||
        remember_threshold(canary, th, ops) < 0)
        return -1;
    if (cJSON_IsNumber(th))
        decision_warn(d, "manual-gate: raised %s.threshold %.12s -> %ld (%.8s / %.10gs interval): metrics cannot roll "
                         "back for %.8s", key, was, safe, max_text, (double)interval_ns / 1e9, max_text);
    else
        decision_warn(d, "manual-gate: set %s.threshold to %ld (%.8s / %.10gs interval): metrics cannot roll back for "
                         "%.8s", key, safe, max_text, (double)interval_ns / 1e9, max_text);
    decision_warn(d, "manual-gate: set annotation %s to shorten that; threshold %.12s comes back without gating",
                  CANARY_ANN_MAX_DURATION, was);
    return 0;
}

/* Gating is off: give the user's threshold back from the annotation and drop it. 0, or -1 when out of
 * memory. */
static int restore_threshold(const cJSON *canary, cJSON *ops, struct decision *d)
{
    const char *const ann[] = {"metadata", "annotations", CANARY_ANN_ORIGINAL_THRESHOLD};
    const char *orig = obj_annotation(canary, CANARY_ANN_ORIGINAL_THRESHOLD), *key = canary_analysis_key(canary);
    const char *const tokens[] = {"spec", key ? key : "", "threshold"};
    char path[128], now[64], *end;
    long v;

    if (!orig)
        return 0;
    threshold_text(obj_get(canary_analysis(canary), "threshold"), now, sizeof(now));
    errno = 0;
    v = strtol(orig, &end, 10);
    if (!*orig || *end || errno || v < INT32_MIN || v > INT32_MAX) {
        decision_warn(d, "manual-gate: annotation %s is \"%.20s\", not a threshold: %s.threshold left at %.12s",
                      CANARY_ANN_ORIGINAL_THRESHOLD, orig, key ? key : "analysis", now);
    } else if (key && strcmp(orig, now) != 0) {
        if (patch_set(ops, canary, tokens, 3, cJSON_CreateNumber((double)v)) < 0)
            return -1;
        decision_warn(d, "manual-gate: restored %s.threshold %.12s -> %ld from annotation %s", key, now, v,
                      CANARY_ANN_ORIGINAL_THRESHOLD);
    }
    if (patch_path(path, sizeof(path), ann, 3) < 0)
        return -1;
    return patch_remove(ops, path);
}

/* ---- enabling and disabling ---- */

/* The settings part of completing: threshold and skipAnalysis. 0, or -1 when out of memory. */
static int complete_settings(const cJSON *canary, const char *key, long max_sec, const char *max_text, cJSON *ops,
                             struct decision *d)
{
    if (raise_threshold(canary, key, max_sec, max_text, ops, d) < 0)
        return -1;
    if (!cJSON_IsTrue(obj_get(obj_get(canary, "spec"), "skipAnalysis")))
        return 0;
    if (patch_replace(ops, "/spec/skipAnalysis", cJSON_CreateFalse()) < 0)
        return -1;
    decision_warn(d, "manual-gate: set spec.skipAnalysis=false: skipAnalysis promotes straight to 100%%");
    return 0;
}

/* What every gated Canary must have before it can be completed; 0, or -1 after a denial. */
static int check_completable(const cJSON *canary, const char *key, const char *max_text, long *max_sec,
                             struct decision *d)
{
    const cJSON *hooks = obj_get(canary_analysis(canary), "webhooks");

    if (!key) {
        decision_deny(d, "canary-no-analysis",
                         "manual-gate: gating is enabled but the Canary has neither spec.analysis nor "
                         "spec.canaryAnalysis: add spec.analysis with interval, threshold and stepWeight (or "
                         "stepWeights) so Flagger runs a gated analysis");
        return -1;
    }
    if (hooks && !cJSON_IsArray(hooks) && !cJSON_IsNull(hooks)) {
        decision_error(d, 400, "manual-gate: spec.%s.webhooks is not a list", key);
        return -1;
    }
    if ((*max_sec = mutate_parse_max_duration(max_text)) < 0) {
        decision_deny(d, "max-duration-invalid",
                         "manual-gate: annotation %s is \"%.40s\", which is not a duration: use whole numbers of d, "
                         "h, m or s, e.g. 10d, 36h, 90m or 1h30m, at most 365d",
                      CANARY_ANN_MAX_DURATION, max_text);
        return -1;
    }
    return 0;
}

/* Gating is enabled: complete the Canary, or deny what cannot be completed. */
static void complete(const cJSON *canary, const struct policy_config *cfg, struct decision *d)
{
    const char *key = canary_analysis_key(canary);
    const char *max_text = obj_annotation(canary, CANARY_ANN_MAX_DURATION);
    int warnings_before = cJSON_GetArraySize(d->warnings);
    cJSON *ops = NULL, *hooks;
    long max_sec;

    if (!max_text)
        max_text = MUTATE_MAX_DURATION_DEFAULT;
    if (check_completable(canary, key, max_text, &max_sec, d) < 0 ||
        !(hooks = mutate_hooks_complete(canary, cfg, d)))
        goto done;
    if (!(ops = cJSON_CreateArray()) || patch_hooks(ops, canary, key, hooks) < 0 ||
        complete_settings(canary, key, max_sec, max_text, ops, d) < 0) {
        if (!ops)
            cJSON_Delete(hooks);
        decision_error(d, 500, "manual-gate: out of memory while completing the Canary");
        goto done;
    }
    decision_patch(d, ops);
    ops = NULL;
done:
    /* Warnings of a half-built answer would describe changes that are not made. */
    if (!d->allowed)
        drop_warnings_from(d, warnings_before);
    cJSON_Delete(ops);
}

/* The first /gate/check of hooks when no /gate/close follows it, NULL otherwise: once a human opens
 * the gate, nothing closes it again and the release runs on to 100%. */
static const cJSON *open_check(const cJSON *hooks)
{
    const cJSON *h, *check = NULL;

    cJSON_ArrayForEach(h, hooks) {
        if (!check && canary_hook_is(h, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK))
            check = h;
        else if (check && canary_hook_is(h, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CLOSE))
            return NULL;
    }
    return check;
}

/* Label enabled="false": drop the hooks manual-gate added (by name) and nothing else, unless that would
 * leave a user's gate check without a close; give the threshold back. */
static void disable(const cJSON *canary, struct decision *d)
{
    const char *key = canary_analysis_key(canary);
    const cJSON *hooks = obj_get(canary_analysis(canary), "webhooks"), *check;
    int warnings_before = cJSON_GetArraySize(d->warnings), removed = 0;
    cJSON *ops = cJSON_CreateArray(), *out = NULL;

    if (!ops)
        goto oom;
    if (key && cJSON_IsArray(hooks)) {
        if (!(out = mutate_hooks_without_owned(hooks, &removed, d)))
            goto oom;
        if (removed && (check = open_check(out)) != NULL) {
            drop_warnings_from(d, warnings_before);
            decision_deny(d, "gate-check-left-open",
                             "manual-gate: label %s is \"false\", but removing manual-gate's webhooks would leave "
                             "webhook %.40s on /gate/check with no /gate/close after it: once opened, the gate "
                             "would stay open and the release run on to 100%%. Remove %.40s too, or keep gating "
                             "(label \"true\").", CANARY_LABEL_ENABLED, obj_string_or(check, "name", "(unnamed)"),
                          obj_string_or(check, "name", "(unnamed)"));
            goto done;
        }
        if (patch_hooks(ops, canary, key, out) < 0) {
            out = NULL;
            goto oom;
        }
        out = NULL;
    }
    if (restore_threshold(canary, ops, d) < 0)
        goto oom;
    decision_patch(d, ops);
    ops = NULL;
    goto done;
oom:
    decision_error(d, 500, "manual-gate: out of memory while removing the gate webhooks");
done:
    cJSON_Delete(out);
    cJSON_Delete(ops);
}

void mutate_canary_object(const cJSON *canary, const struct policy_config *cfg, struct decision *d)
{
    const char *label = obj_label(canary, CANARY_LABEL_ENABLED);
    enum canary_enabled enabled = canary_enabled_label(canary);
    cJSON *ops;

    if (!cJSON_IsObject(canary))
        return;
    if (label && enabled == CANARY_ENABLED_UNSET) {
        decision_deny(d, "enabled-label-invalid",
                         "manual-gate: label %s is \"%.40s\": use \"true\" to enable manual gating or \"false\" to "
                         "disable it", CANARY_LABEL_ENABLED, label);
        return;
    }
    if (enabled == CANARY_ENABLED_FALSE) {
        disable(canary, d);
    } else if (canary_gating_enabled(canary)) {
        complete(canary, cfg, d);
    } else if (obj_annotation(canary, CANARY_ANN_ORIGINAL_THRESHOLD)) {
        /* Gating was switched off by removing its trigger: the threshold still comes back. */
        if (!(ops = cJSON_CreateArray()) || restore_threshold(canary, ops, d) < 0) {
            cJSON_Delete(ops);
            decision_error(d, 500, "manual-gate: out of memory while restoring the threshold");
            return;
        }
        decision_patch(d, ops);
    }
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

void mutate_canary(const struct admission_request *req, const struct policy_config *cfg,
                   const struct canary_lookup *lookup, struct decision *d)
{
    const cJSON *obj = req->object;

    (void)lookup; /* completing a Canary needs no other Canary */
    if (!cJSON_IsObject(obj) || req->op == ADMISSION_OP_DELETE)
        return;
    /* A Canary being deleted only loses its finalizers now: any denial would wedge the deletion. */
    if (obj_get(obj_get(obj, "metadata"), "deletionTimestamp"))
        return;
    /* With a \u0000 in the body equal-looking strings may differ: judged in full, as the validator does. */
    if (req->op == ADMISSION_OP_UPDATE && req->old_object && !req->lossy &&
        canary_gating_inputs_unchanged(req->old_object, obj)) {
        leave_as_stored(obj, cfg, d);
        return;
    }
    mutate_canary_object(obj, cfg, d);
}
