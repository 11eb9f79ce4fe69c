/*
 * Flagger's reading of a Canary (pkg/apis/flagger/v1beta1 and pkg/controller in Flagger's source):
 * the functions here answer the questions the policies and the cache ask of a Canary object.
 */
#include "canary.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "obj.h"
#include "url.h"

const char *canary_analysis_key(const cJSON *canary)
{
    const cJSON *spec = obj_get(canary, "spec");

    /* Flagger: `if c.Spec.Analysis != nil` - a null or absent analysis falls back. */
    if (cJSON_IsObject(obj_get(spec, "analysis")))
        return "analysis";
    if (cJSON_IsObject(obj_get(spec, "canaryAnalysis")))
        return "canaryAnalysis";
    return NULL;
}

const cJSON *canary_analysis(const cJSON *canary)
{
    const char *key = canary_analysis_key(canary);

    return key ? obj_get(obj_get(canary, "spec"), key) : NULL;
}

/* Go's time.ParseDuration works in int64 nanoseconds: this is 2^63, one more than the largest
 * positive duration (about 2562047h47m16.854s) and the magnitude of the smallest negative one. */
#define GO_DURATION_LIMIT ((uint64_t)1 << 63)
#define NS_PER_SECOND 1000000000ULL
/* Flagger's GetAnalysisInterval(): 60s when empty or invalid, at least 10s. */
#define INTERVAL_DEFAULT_NS (60 * NS_PER_SECOND)
#define INTERVAL_MIN_NS (10 * NS_PER_SECOND)

/* Go's time.ParseDuration, step for step and in the same unsigned arithmetic, so every input is
 * valid or invalid exactly as it is for Flagger: 0 with the magnitude in *ns and the sign in *neg,
 * or -1 when s is not a duration or is out of int64 nanoseconds. A state-machine parser, kept whole so
 * it can be read against Go's: it is over the project's function size limits on purpose. */
static int parse_go_duration(const char *s, uint64_t *ns, int *neg)
{
    static const struct { const char *unit; uint64_t ns; } units[] = {
        {"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000}, {"ms", 1000000},
        {"s", NS_PER_SECOND}, {"m", 60 * NS_PER_SECOND}, {"h", 3600 * NS_PER_SECOND},
    };
    uint64_t d = 0;

    *neg = 0;
    if (!s || !*s)
        return -1;
    if (*s == '-' || *s == '+')
        *neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (!*s)
        return -1;
    while (*s) {
        uint64_t v = 0, f = 0, unit = 0;
        double scale = 1;
        int pre = 0, post = 0, overflow = 0;
        size_t i, n;

        if (*s != '.' && !isdigit((unsigned char)*s))
            return -1;
        for (; isdigit((unsigned char)*s); s++, pre = 1) {
            if (v > GO_DURATION_LIMIT / 10)
                return -1;
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > GO_DURATION_LIMIT)
                return -1;
        }
        /* Fraction digits beyond what 63 bits hold are read and ignored, as Go does. */
        if (*s == '.')
            for (s++; isdigit((unsigned char)*s); s++, post = 1) {
                uint64_t next = f * 10 + (uint64_t)(*s - '0');

                if (overflow || f > (GO_DURATION_LIMIT - 1) / 10 || next > GO_DURATION_LIMIT) {
                    overflow = 1;
                    continue;
                }
                f = next;
                scale *= 10;
            }
        if (!pre && !post)
            return -1;
        n = strcspn(s, ".0123456789");
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strlen(units[i].unit) == n && strncmp(s, units[i].unit, n) == 0)
                unit = units[i].ns;
        if (!unit)
            return -1;
        s += n;
        if (v > GO_DURATION_LIMIT / unit)
            return -1;
        v *= unit;
        if (f > 0) {
            /* f < scale, so this term is below one unit (at most 3.6e12 ns): the cast is safe. */
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > GO_DURATION_LIMIT)
                return -1;
        }
        d += v;
        if (d > GO_DURATION_LIMIT)
            return -1;
    }
    if (!*neg && d > GO_DURATION_LIMIT - 1)
        return -1;
    *ns = d;
    return 0;
}

double canary_parse_go_duration(const char *s)
{
    uint64_t ns;
    int neg;

    if (parse_go_duration(s, &ns, &neg) < 0)
        return -1;
    return neg ? -((double)ns / 1e9) : (double)ns / 1e9;
}

int64_t canary_interval_ns(const cJSON *analysis)
{
    uint64_t ns;
    int neg;

    if (parse_go_duration(obj_string(analysis, "interval"), &ns, &neg) < 0)
        return (int64_t)INTERVAL_DEFAULT_NS;
    /* Below 10s, negative durations included, counts as 10s. */
    if (neg || ns < INTERVAL_MIN_NS)
        return (int64_t)INTERVAL_MIN_NS;
    return (int64_t)ns;
}

long canary_interval_seconds(const cJSON *analysis)
{
    uint64_t sec = ((uint64_t)canary_interval_ns(analysis) + NS_PER_SECOND - 1) / NS_PER_SECOND;

    return sec > LONG_MAX ? LONG_MAX : (long)sec;
}

const char *canary_provider(const cJSON *canary, const char *default_provider)
{
    /* Flagger: "override the global provider if one is specified in the canary spec". */
    const char *provider = obj_string(obj_get(canary, "spec"), "provider");

    return provider && *provider ? provider : default_provider;
}

int canary_mesh_provider_known(const char *provider)
{
    const char *list = CANARY_MESH_PROVIDERS, *p;
    size_t n = strlen(provider);

    for (p = list; n && (p = strstr(p, provider)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

enum canary_strategy canary_strategy(const cJSON *canary, const char *default_provider)
{
    const cJSON *analysis = canary_analysis(canary);
    const cJSON *iterations = obj_get(analysis, "iterations");
    const char *provider = canary_provider(canary, default_provider);
    const cJSON *match = obj_get(analysis, "match");

    if (provider && strcmp(provider, "kubernetes") == 0)
        return CANARY_STRATEGY_BLUE_GREEN;
    if (cJSON_IsNumber(iterations) && iterations->valuedouble > 0)
        return cJSON_IsArray(match) && cJSON_GetArraySize(match) > 0 ? CANARY_STRATEGY_AB : CANARY_STRATEGY_BLUE_GREEN;
    return CANARY_STRATEGY_CANARY;
}

enum canary_release canary_release_of(const char *phase, int weight)
{
    if (!phase)
        return CANARY_RELEASE_NONE;
    if (strcmp(phase, "Progressing") == 0)
        return weight > 0 ? CANARY_RELEASE_RESTARTS : CANARY_RELEASE_NOT_STARTED;
    /* Flagger writes canaryWeight 0 in WaitingPromotion but leaves the routes weighted (issue #1819). */
    if (strcmp(phase, "WaitingPromotion") == 0)
        return CANARY_RELEASE_RESTARTS;
    if (strcmp(phase, "Promoting") == 0)
        return CANARY_RELEASE_LIVE;
    /* A failed promotion can leave the canary serving all traffic (scheduler.go's rollback path). */
    if (strcmp(phase, "Failed") == 0)
        return weight > 0 ? CANARY_RELEASE_LIVE : CANARY_RELEASE_NONE;
    if (strcmp(phase, "Finalising") == 0)
        return CANARY_RELEASE_FINALISING;
    if (strcmp(phase, "Waiting") == 0)
        return CANARY_RELEASE_WAITING;
    return CANARY_RELEASE_NONE;
}

int canary_release_denies(enum canary_release r)
{
    return r == CANARY_RELEASE_RESTARTS || r == CANARY_RELEASE_LIVE;
}

int canary_in_flight(const cJSON *canary)
{
    static const char *const phases[] = {"Progressing", "Waiting", "WaitingPromotion", "Promoting", "Finalising"};
    const char *phase = canary_phase(canary);
    size_t i;

    for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
        if (strcmp(phase, phases[i]) == 0)
            return 1;
    return 0;
}

int canary_release_rank(int gated, enum canary_release r)
{
    return gated ? 1 + (int)r : 0;
}

const char *canary_phase(const cJSON *canary)
{
    const char *p = obj_string(obj_get(canary, "status"), "phase");

    return p ? p : "";
}

int canary_weight(const cJSON *canary)
{
    const cJSON *w = obj_get(obj_get(canary, "status"), "canaryWeight");

    return cJSON_IsNumber(w) ? w->valueint : 0;
}

int canary_failed_checks(const cJSON *canary)
{
    const cJSON *f = obj_get(obj_get(canary, "status"), "failedChecks");

    return cJSON_IsNumber(f) ? f->valueint : 0;
}

double canary_threshold(const cJSON *analysis)
{
    const cJSON *th = obj_get(analysis, "threshold");

    return cJSON_IsNumber(th) && th->valuedouble > 0 ? th->valuedouble : 1;
}

/* "2024-05-01T10:00:00Z", with an optional fraction and a numeric offset instead of Z (RFC 3339). */
int64_t canary_last_transition(const cJSON *canary)
{
    const char *s = obj_string(obj_get(canary, "status"), "lastTransitionTime");
    struct tm tm;
    int off_h = 0, off_m = 0, n = 0, sign;
    time_t t;

    if (!s)
        return 0;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &n) != 6 || n != 19)
        return 0;
    s += n;
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++)
            ;
    sign = *s == '+' ? -1 : *s == '-' ? 1 : 0;
    if (sign && (sscanf(s + 1, "%2d:%2d%n", &off_h, &off_m, &n) != 2 || n != 5 || s[6] != '\0'))
        return 0;
    if (!sign && strcmp(s, "Z") != 0 && strcmp(s, "z") != 0)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    if ((t = timegm(&tm)) == (time_t)-1)
        return 0;
    return (int64_t)t + sign * (off_h * 3600 + off_m * 60);
}

/* Flagger's weights are Go ints; a JSON number is read as one, anything else as 0. */
static int int_of(const cJSON *v)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble)
        return 0;
    if (v->valuedouble > 1e6 || v->valuedouble < -1e6)
        return v->valuedouble > 0 ? 1000000 : -1000000;
    return (int)v->valuedouble;
}

#define TOTAL_WEIGHT 100

int canary_max_weight(const cJSON *canary)
{
    const cJSON *analysis = canary_analysis(canary), *steps = obj_get(analysis, "stepWeights");
    int n = cJSON_IsArray(steps) ? cJSON_GetArraySize(steps) : 0, max = int_of(obj_get(analysis, "maxWeight"));

    if (n > 0) {
        int last = int_of(cJSON_GetArrayItem(steps, n - 1));

        return last < TOTAL_WEIGHT ? last : TOTAL_WEIGHT;
    }
    return max > 0 ? max : TOTAL_WEIGHT;
}

int canary_step_weight(const cJSON *canary, int weight)
{
    const cJSON *analysis = canary_analysis(canary), *steps = obj_get(analysis, "stepWeights");
    int n = cJSON_IsArray(steps) ? cJSON_GetArraySize(steps) : 0, step = int_of(obj_get(analysis, "stepWeight"));
    int max_step = TOTAL_WEIGHT - weight, i;
    const cJSON *s;

    if (step > 0 || n == 0)
        return step;
    if (max_step == 0)
        return 1;
    if (weight == 0)
        return int_of(cJSON_GetArrayItem(steps, 0)) < max_step ? int_of(cJSON_GetArrayItem(steps, 0)) : max_step;
    i = 0;
    cJSON_ArrayForEach(s, steps) {
        if (i++ == n - 1)
            break;
        if (int_of(s) == weight) {
            int diff = int_of(s->next) - weight;

            return diff < max_step ? diff : max_step;
        }
    }
    return max_step;
}

int canary_next_weight(const cJSON *canary, int weight)
{
    int step = canary_step_weight(canary, weight), next;

    if (step <= 0)
        return 0;
    if (weight >= canary_max_weight(canary))
        return CANARY_NEXT_PROMOTION;
    next = weight + step;
    return next > TOTAL_WEIGHT ? TOTAL_WEIGHT : next;
}

enum canary_enabled canary_enabled_label(const cJSON *canary)
{
    const char *v = obj_label(canary, CANARY_LABEL_ENABLED);

    if (!v)
        return CANARY_ENABLED_UNSET;
    if (strcmp(v, "true") == 0)
        return CANARY_ENABLED_TRUE;
    if (strcmp(v, "false") == 0)
        return CANARY_ENABLED_FALSE;
    return CANARY_ENABLED_UNSET;
}

int canary_hook_is(const cJSON *hook, const char *type, const char *path)
{
    const char *t = obj_string(hook, "type"), *url = obj_string(hook, "url");
    char buf[256];

    if (!t || strcmp(t, type) != 0 || !url)
        return 0;
    return strcmp(url_path(url, buf, sizeof(buf)), path) == 0;
}

const cJSON *canary_gate_check_hook(const cJSON *canary)
{
    const cJSON *hooks = obj_get(canary_analysis(canary), "webhooks");
    const cJSON *h;

    if (!cJSON_IsArray(hooks))
        return NULL;
    cJSON_ArrayForEach(h, hooks)
        if (canary_hook_is(h, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK))
            return h;
    return NULL;
}

int canary_gating_enabled(const cJSON *canary)
{
    enum canary_enabled e = canary_enabled_label(canary);

    return e == CANARY_ENABLED_TRUE || (e == CANARY_ENABLED_UNSET && canary_gate_check_hook(canary) != NULL);
}

int canary_is_gated(const cJSON *canary)
{
    return canary_gate_check_hook(canary) != NULL || canary_enabled_label(canary) == CANARY_ENABLED_TRUE;
}

int canary_gating_inputs_unchanged(const cJSON *old_obj, const cJSON *new_obj)
{
    const cJSON *om = obj_get(old_obj, "metadata"), *nm = obj_get(new_obj, "metadata");

    return json_equal(obj_get(old_obj, "spec"), obj_get(new_obj, "spec")) &&
           json_equal(obj_get(om, "labels"), obj_get(nm, "labels")) &&
           json_equal(obj_get(om, "annotations"), obj_get(nm, "annotations"));
}
