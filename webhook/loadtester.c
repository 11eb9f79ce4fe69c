/*
 * Finding a Canary's loadtester Service and talking to it through the API server's service proxy, with
 * kubectl. The one subtle point is a 403: the loadtester answers a closed gate with 403 and the text body
 * "Forbidden", which the proxy passes through and kubectl reports as the message "Forbidden"; the API
 * server's own refusal (RBAC) is a Status whose message always says who may not do what
 * (`services "x" is forbidden: User "u" cannot create resource "services/proxy" ...`). Only the bare word
 * is the loadtester's answer.
 */
#include "loadtester.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "canary.h"
#include "obj.h"

#define LOADTESTER_ANSWER_FORBIDDEN "Forbidden"

static int is_dns_label(const char *s, int must_start_alpha)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > 63 || s[n - 1] == '-' || (must_start_alpha ? !islower((unsigned char)s[0]) : s[0] == '-'))
        return 0;
    for (i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return 1;
}

/* Split host (lower-cased copy in buf) at dots into at most max labels; their number, or -1. */
static int split_labels(char *buf, char **labels, int max)
{
    int n = 0;
    char *p = buf, *dot;

    while (p) {
        if (n == max)
            return -1;
        labels[n++] = p;
        if ((dot = strchr(p, '.')) != NULL)
            *dot++ = '\0';
        p = dot;
    }
    return n;
}

static int is_ipv4(const char *host)
{
    return host[strspn(host, "0123456789.")] == '\0';
}

int loadtester_from_url(const char *url, const char *canary_ns, struct loadtester *out, char *err, size_t errlen)
{
    struct url_parts u;
    char host[256], *labels[8];
    const char *svc, *ns;
    size_t i;
    int n;

    memset(out, 0, sizeof(*out));
    if (url_parse(url, &u) != 0 || u.host_len >= sizeof(host)) {
        snprintf(err, errlen, "the hook URL '%.120s' is not an http(s) URL with a host", url);
        return -1;
    }
    for (i = 0; i < u.host_len; i++)
        host[i] = (char)tolower((unsigned char)u.host[i]);
    host[i] = '\0';
    if (i > 0 && host[i - 1] == '.')
        host[i - 1] = '\0';
    if (host[0] == '[' || is_ipv4(host)) {
        snprintf(err, errlen, "the loadtester URL %.120s names an IP address, not a Service: the API server's "
                              "service proxy can only reach a Service", url);
        return -1;
    }
    n = split_labels(host, labels, 8);
    if (n >= 3 && strcmp(labels[2], "svc") != 0)
        n = -1;
    svc = labels[0];
    ns = n == 1 ? canary_ns : labels[1];
    if (n < 0 || !is_dns_label(svc, 1) || !ns || !is_dns_label(ns, 0)) {
        snprintf(err, errlen, "the loadtester URL %.120s does not name a Service (svc, svc.ns, svc.ns.svc or "
                              "svc.ns.svc.<cluster domain>): the API server's service proxy can only reach a "
                              "Service", url);
        return -1;
    }
    snprintf(out->service, sizeof(out->service), "%s", svc);
    snprintf(out->namespace_, sizeof(out->namespace_), "%s", ns);
    out->port = url_port(&u);
    out->https = strcmp(u.scheme, "https") == 0;
    if (url_origin(url, URL_AS_WRITTEN, 0, out->url, sizeof(out->url)) != 0)
        snprintf(out->url, sizeof(out->url), "%s", "(unprintable URL)");
    return 0;
}

/* The URL of the first hook of the analysis that is of type and calls path, NULL if none. */
static const char *hook_url(const cJSON *canary, const char *type, const char *path)
{
    const cJSON *hooks = obj_get(canary_analysis(canary), "webhooks"), *h;

    if (!cJSON_IsArray(hooks))
        return NULL;
    cJSON_ArrayForEach(h, hooks)
        if (canary_hook_is(h, type, path))
            return obj_string(h, "url");
    return NULL;
}

int loadtester_of_canary(const cJSON *canary, enum loadtester_gate gate, struct loadtester *out, char *err,
                         size_t errlen)
{
    const char *url = NULL, *ns = obj_namespace(canary);

    memset(out, 0, sizeof(*out));
    if (gate == LOADTESTER_ROLLBACK) {
        /* Flagger reads the rollback gate only through a rollback hook: without one it is never consulted. */
        url = hook_url(canary, CANARY_HOOK_ROLLBACK, CANARY_PATH_ROLLBACK_CHECK);
        if (!url) {
            snprintf(err, errlen, "the Canary has no rollback hook calling %s, so Flagger never reads its rollback "
                                  "gate", CANARY_PATH_ROLLBACK_CHECK);
            return 1;
        }
    } else {
        url = hook_url(canary, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK);
        if (!url)
            url = hook_url(canary, CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CLOSE);
        if (!url) {
            snprintf(err, errlen, "the Canary has no %s hook calling %s, so Flagger never reads a traffic gate",
                     CANARY_HOOK_CONFIRM_TRAFFIC, CANARY_PATH_GATE_CHECK);
            return 1;
        }
    }
    return loadtester_from_url(url, ns, out, err, errlen);
}

void loadtester_proxy_path(const struct loadtester *lt, const char *path, char *buf, size_t len)
{
    /* The proxy takes "<svc>:<port>" for plain http; for https the scheme must be named. */
    snprintf(buf, len, "/api/v1/namespaces/%s/services/%s%s:%d/proxy%s", lt->namespace_, lt->https ? "https:" : "",
             lt->service, lt->port, path);
}

const char *loadtester_name(const struct loadtester *lt, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s:%d", lt->namespace_, lt->service, lt->port);
    return buf;
}

/* POST the Canary's payload to path; fills res (the caller frees it). */
static int post(const struct kubectl *k, const struct loadtester *lt, const char *path, const char *name,
                const char *ns, struct kubectl_result *res)
{
    char api[512], *body;
    cJSON *payload = cJSON_CreateObject();
    int rc;

    cJSON_AddStringToObject(payload, "name", name);
    cJSON_AddStringToObject(payload, "namespace", ns);
    body = cJSON_PrintUnformatted(payload);
    cJSON_Delete(payload);
    loadtester_proxy_path(lt, path, api, sizeof(api));
    rc = kubectl_post(k, api, body ? body : "{}", res);
    cJSON_free(body);
    return rc;
}

static int is_loadtester_refusal(const struct kubectl_result *res)
{
    return res->status == KUBECTL_FORBIDDEN && strcmp(res->message, LOADTESTER_ANSWER_FORBIDDEN) == 0;
}

/* Why a call through the proxy failed, for anything but the loadtester's own answer. */
static void describe_proxy_failure(const struct kubectl_result *res, const struct loadtester *lt, char *err,
                                   size_t errlen)
{
    char where[200], name[160];

    snprintf(where, sizeof(where), "on Service %s/%s (the loadtester)", lt->namespace_, lt->service);
    if (res->status == KUBECTL_UNAVAILABLE)
        snprintf(err, errlen, "the loadtester %s cannot be reached through the API server: %s",
                 loadtester_name(lt, name, sizeof(name)), res->message);
    else if (res->status == KUBECTL_NOT_FOUND)
        snprintf(err, errlen, "no loadtester Service %s/%s: %s", lt->namespace_, lt->service, res->message);
    else
        kubectl_describe(res, "create", "services/proxy", where, err, errlen);
}

enum gate_state loadtester_check(const struct kubectl *k, const struct loadtester *lt, const char *path,
                                 const char *name, const char *ns, char *err, size_t errlen)
{
    struct kubectl_result res;
    enum gate_state st;

    err[0] = '\0';
    if (post(k, lt, path, name, ns, &res) == 0)
        st = GATE_OPEN;
    else if (is_loadtester_refusal(&res))
        st = GATE_CLOSED;
    else {
        st = res.status == KUBECTL_FORBIDDEN ? GATE_FORBIDDEN
             : res.status == KUBECTL_UNAVAILABLE || res.status == KUBECTL_NOT_FOUND ? GATE_UNREACHABLE
                                                                                       : GATE_ERROR;
        describe_proxy_failure(&res, lt, err, errlen);
    }
    kubectl_result_free(&res);
    return st;
}

int loadtester_act(const struct kubectl *k, const struct loadtester *lt, const char *path, const char *name,
                   const char *ns, char *err, size_t errlen)
{
    struct kubectl_result res;
    char lt_name[160];
    int rc = post(k, lt, path, name, ns, &res);

    err[0] = '\0';
    if (rc != 0 && is_loadtester_refusal(&res))
        snprintf(err, errlen, "the loadtester %s refused %s for namespace %s (403): its -namespace-regexp does "
                              "not admit that namespace", loadtester_name(lt, lt_name, sizeof(lt_name)), path, ns);
    else if (rc != 0)
        describe_proxy_failure(&res, lt, err, errlen);
    kubectl_result_free(&res);
    return rc;
}

/* The identity of an endpoint: its pod (dual-stack Services list each pod in two slices), else its first
 * address. "" when it has neither. */
static void endpoint_id(const cJSON *ep, char *buf, size_t len)
{
    const char *pod = obj_string(obj_get(ep, "targetRef"), "name");
    const cJSON *addr = cJSON_GetArrayItem(obj_get(ep, "addresses"), 0);

    if (pod)
        snprintf(buf, len, "pod/%s", pod);
    else if (cJSON_IsString(addr))
        snprintf(buf, len, "ip/%s", addr->valuestring);
    else
        buf[0] = '\0';
}

/* Far more than any loadtester runs; beyond this the count is at least this. */
#define READY_MAX 64

int loadtester_count_ready(const cJSON *slices)
{
    char seen[READY_MAX][128];
    const cJSON *slice, *ep;
    int n = 0, anonymous = 0, i;

    cJSON_ArrayForEach(slice, obj_get(slices, "items")) {
        cJSON_ArrayForEach(ep, obj_get(slice, "endpoints")) {
            char id[128];

            if (cJSON_IsFalse(obj_get(obj_get(ep, "conditions"), "ready")) || n == READY_MAX)
                continue;
            endpoint_id(ep, id, sizeof(id));
            if (!id[0]) {
                anonymous++;
                continue;
            }
            for (i = 0; i < n && strcmp(seen[i], id) != 0; i++)
                ;
            if (i == n)
                snprintf(seen[n++], sizeof(seen[0]), "%s", id);
        }
    }
    return n + anonymous;
}

int loadtester_ready_pods(const struct kubectl *k, const struct loadtester *lt, char *err, size_t errlen)
{
    struct kubectl_result res;
    char path[300], where[100];
    cJSON *list;
    int n = -1;

    snprintf(path, sizeof(path),
             "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector=kubernetes.io%%2Fservice-name%%3D%s",
             lt->namespace_, lt->service);
    list = kubectl_get_json(k, path, &res);
    if (list) {
        n = loadtester_count_ready(list);
    } else {
        snprintf(where, sizeof(where), "in namespace %s", lt->namespace_);
        kubectl_describe(&res, "list", "endpointslices.discovery.k8s.io", where, err, errlen);
    }
    cJSON_Delete(list);
    kubectl_result_free(&res);
    return n;
}

const char *gate_state_name(enum gate_state s)
{
    static const char *const names[] = {"closed", "open", "no hook", "unreachable", "forbidden", "error"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "error";
}
