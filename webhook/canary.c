/*
 * Flagger's reading of a Canary (pkg/apis/flagger/v1beta1 and pkg/controller in Flagger's source):
 * the functions here answer the questions the policies and the cache ask of a Canary object.
 */
#include "canary.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *get(const cJSON *obj, const char *key)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

static const char *get_string(const cJSON *obj, const char *key)
{
    const cJSON *v = get(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *canary_analysis_key(const cJSON *canary)
{
    const cJSON *spec = get(canary, "spec");

    /* Flagger: `if c.Spec.Analysis != nil` - a null or absent analysis falls back. */
    if (cJSON_IsObject(get(spec, "analysis")))
        return "analysis";
    if (cJSON_IsObject(get(spec, "canaryAnalysis")))
        return "canaryAnalysis";
    return NULL;
}

const cJSON *canary_analysis(const cJSON *canary)
{
    const char *key = canary_analysis_key(canary);

    return key ? get(get(canary, "spec"), key) : NULL;
}

/* Go's time.ParseDuration: an optional sign, then one or more decimal numbers each with a unit.
 * 0 with the seconds in *out, or -1 when s is not a duration. */
static int parse_go_duration(const char *s, double *out)
{
    static const struct { const char *unit; double sec; } units[] = {
        {"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xce\xbcs", 1e-6}, {"ms", 1e-3},
        {"s", 1}, {"m", 60}, {"h", 3600},
    };
    double total = 0;
    int neg = 0;

    if (!s || !*s)
        return -1;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (!*s)
        return -1;
    while (*s) {
        const char *start = s;
        double v;
        size_t i, best = 0, best_len = 0, digits = 0;

        /* Digits, at most one '.', and at least one digit on either side of it ("1.", ".5"; not "."). */
        for (; isdigit((unsigned char)*s); s++)
            digits++;
        if (*s == '.')
            for (s++; isdigit((unsigned char)*s); s++)
                digits++;
        if (!digits)
            return -1;
        v = strtod(start, NULL);
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t n = strlen(units[i].unit);
            if (strncmp(s, units[i].unit, n) == 0 && n > best_len) {
                best = i;
                best_len = n;
            }
        }
        if (best_len == 0)
            return -1;
        total += v * units[best].sec;
        s += best_len;
    }
    *out = neg ? -total : total;
    return 0;
}

double canary_parse_go_duration(const char *s)
{
    double sec;

    return parse_go_duration(s, &sec) < 0 ? -1 : sec;
}

long canary_interval_seconds(const cJSON *analysis)
{
    /* Flagger's GetAnalysisInterval(): empty or unparsable = 60s, below 10s (negative included) = 10s. */
    double sec;

    if (parse_go_duration(get_string(analysis, "interval"), &sec) < 0)
        return 60;
    if (sec < 10)
        return 10;
    return (long)ceil(sec);
}

enum canary_strategy canary_strategy(const cJSON *canary)
{
    const cJSON *analysis = canary_analysis(canary);
    const cJSON *iterations = get(analysis, "iterations");
    const char *provider = get_string(get(canary, "spec"), "provider");
    const cJSON *match = get(analysis, "match");

    if (provider && strcmp(provider, "kubernetes") == 0)
        return STRATEGY_BLUE_GREEN;
    if (cJSON_IsNumber(iterations) && iterations->valuedouble > 0)
        return cJSON_IsArray(match) && cJSON_GetArraySize(match) > 0 ? STRATEGY_AB : STRATEGY_BLUE_GREEN;
    return STRATEGY_CANARY;
}

int canary_phase_in_flight(const char *phase)
{
    static const char *const in_flight[] = {"Progressing", "Waiting", "WaitingPromotion", "Promoting", "Finalising"};
    size_t i;

    for (i = 0; phase && i < sizeof(in_flight) / sizeof(in_flight[0]); i++)
        if (strcmp(phase, in_flight[i]) == 0)
            return 1;
    return 0;
}

const char *canary_phase(const cJSON *canary)
{
    const char *p = get_string(get(canary, "status"), "phase");

    return p ? p : "";
}

int canary_weight(const cJSON *canary)
{
    const cJSON *w = get(get(canary, "status"), "canaryWeight");

    return cJSON_IsNumber(w) ? w->valueint : 0;
}

const char *canary_label(const cJSON *obj, const char *key)
{
    return get_string(get(get(obj, "metadata"), "labels"), key);
}

const char *canary_annotation(const cJSON *obj, const char *key)
{
    return get_string(get(get(obj, "metadata"), "annotations"), key);
}

enum canary_enabled canary_enabled_label(const cJSON *canary)
{
    const char *v = canary_label(canary, CANARY_LABEL_ENABLED);

    if (!v)
        return ENABLED_UNSET;
    if (strcmp(v, "true") == 0)
        return ENABLED_TRUE;
    if (strcmp(v, "false") == 0)
        return ENABLED_FALSE;
    return ENABLED_UNSET;
}

const char *canary_url_path(const char *url, char *buf, size_t len)
{
    const char *p = url, *end;
    size_t n;

    if (!len)
        return buf;
    buf[0] = '\0';
    if (!url)
        return buf;
    /* A "://" counts only before the path, query or fragment: "/gate/check?next=http://x" is a path. */
    if ((p = strstr(url, "://")) != NULL && (size_t)(p - url) < strcspn(url, "/?#")) {
        p += 3;
        p = p + strcspn(p, "/?#");
    } else {
        p = url;
    }
    if (*p != '/')
        return buf;
    end = p + strcspn(p, "?#");
    n = (size_t)(end - p);
    /* "/gate/check/" is the same endpoint for the loadtester's router. */
    while (n > 1 && p[n - 1] == '/')
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

int canary_hook_is(const cJSON *hook, const char *type, const char *path)
{
    const char *t = get_string(hook, "type"), *url = get_string(hook, "url");
    char buf[256];

    if (!t || strcmp(t, type) != 0 || !url)
        return 0;
    return strcmp(canary_url_path(url, buf, sizeof(buf)), path) == 0;
}

const cJSON *canary_gate_check_hook(const cJSON *canary)
{
    const cJSON *hooks = get(canary_analysis(canary), "webhooks");
    const cJSON *h;

    if (!cJSON_IsArray(hooks))
        return NULL;
    cJSON_ArrayForEach(h, hooks)
        if (canary_hook_is(h, HOOK_CONFIRM_TRAFFIC, PATH_GATE_CHECK))
            return h;
    return NULL;
}

int canary_is_gated(const cJSON *canary)
{
    return canary_gate_check_hook(canary) != NULL || canary_enabled_label(canary) == ENABLED_TRUE;
}
