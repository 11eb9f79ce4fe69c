/*
 * `manual-gate check KIND/NAME -n NS`: would a change to this object be released now, or would a gated
 * release in flight deny it? For CI, before a pull request is merged. It asks the webhook's own policy:
 * the namespace's Canaries go into the same Canary index the server keeps, and an UPDATE whose new object
 * differs where Flagger looks (the pod template, the ConfigMap's or Secret's data) goes through the
 * webhook's codec and its validating pipeline (admission_decide), as the API server would send it.
 *
 * Secrets are never read: the decision needs only their name, and reading one would need `get secrets`
 * and carry its data into the CI job.
 */
#include "ops_check.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admission.h"
#include "cache.h"
#include "ops.h"
#include "policy.h"
#include "review.h"

static const char usage[] =
    "usage: manual-gate check KIND/NAME [-n NS]\n\n"
    "Exit 0 when a change to the object (a new pod template of a Deployment or DaemonSet, new data of a\n"
    "ConfigMap or Secret) may be released now; 1 when a gated release in flight would deny it (the Canary,\n"
    "its phase and weight and the webhook's reason are printed); 2 on errors. It runs the webhook's own\n"
    "policy on the namespace's Canaries; Secrets are never read.\n\n"
    "  KIND                   deployment (deploy), daemonset (ds), configmap (cm) or secret\n"
    "      --flagger-deployment NAMESPACE/NAME\n"
    "                         the Deployment running Flagger, as the webhook's flag: a new pod template\n"
    "                         for it is denied while a gated release is in flight in any namespace\n";

/* The annotation and key the simulated change sets: nothing is written anywhere. */
#define CHECK_MARK "manual-gate.io/check"

struct kind {
    const char *names[3]; /* what KIND may be, case-insensitive (the plural with an "s" too) */
    const char *kind, *group, *api;
    int template_change;  /* a new pod template, else new data */
    int fetch;            /* read the object (not for Secrets) */
};

static const struct kind kinds[] = {
    {{"deployment", "deploy", NULL}, "Deployment", "apps", "/apis/apps/v1", 1, 1},
    {{"daemonset", "ds", NULL}, "DaemonSet", "apps", "/apis/apps/v1", 1, 1},
    {{"configmap", "cm", NULL}, "ConfigMap", "", "/api/v1", 0, 1},
    {{"secret", NULL, NULL}, "Secret", "", "/api/v1", 0, 0},
};

static const struct kind *kind_find(const char *s, size_t n)
{
    size_t i, j;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        for (j = 0; kinds[i].names[j]; j++) {
            size_t m = strlen(kinds[i].names[j]);

            if ((n == m || (n == m + 1 && (s[m] == 's' || s[m] == 'S'))) && strncasecmp(s, kinds[i].names[j], m) == 0)
                return &kinds[i];
        }
    return NULL;
}

/* The object as stored (a stub with its name for a Secret), or NULL after printing why. */
static cJSON *fetch(const struct ops_opts *o, const struct kind *k, const char *ns, const char *name)
{
    struct kubectl_result res;
    char path[600], lower[32], where[100], err[800];
    cJSON *obj;
    size_t i;

    if (!k->fetch) {
        obj = cJSON_CreateObject();
        cJSON *meta = cJSON_AddObjectToObject(obj, "metadata");
        cJSON_AddStringToObject(meta, "name", name);
        cJSON_AddStringToObject(meta, "namespace", ns);
        return obj;
    }
    for (i = 0; k->kind[i] && i < sizeof(lower) - 1; i++)
        lower[i] = (char)(k->kind[i] | 0x20);
    lower[i] = '\0';
    snprintf(path, sizeof(path), "%s/namespaces/%s/%ss/%s", k->api, ns, lower, name);
    obj = kubectl_get_json(&o->kube, path, &res);
    if (!obj && res.status == KUBECTL_NOT_FOUND) {
        ops_error(o, "no %s %s in namespace %s", k->kind, name, ns);
    } else if (!obj) {
        snprintf(where, sizeof(where), "in namespace %s", ns);
        snprintf(path, sizeof(path), "%ss%s%s", lower, *k->group ? "." : "", k->group);
        kubectl_describe(&res, "get", path, where, err, sizeof(err));
        ops_error(o, "%s", err);
    }
    kubectl_result_free(&res);
    return obj;
}

static cJSON *object_at(cJSON *parent, const char *key)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(parent, key);

    if (cJSON_IsObject(v))
        return v;
    cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
    return cJSON_AddObjectToObject(parent, key);
}

/* The object after the change Flagger would count: a new pod template, or new data. NULL when the object
 * has nowhere to change (a Deployment without spec.template). */
static cJSON *changed_copy(const cJSON *old, const struct kind *k)
{
    cJSON *obj = cJSON_Duplicate(old, 1), *tmpl, *ann, *data;

    if (!obj)
        return NULL;
    if (k->template_change) {
        tmpl = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"), "template");
        if (!cJSON_IsObject(tmpl) || !(ann = object_at(object_at(tmpl, "metadata"), "annotations"))) {
            cJSON_Delete(obj);
            return NULL;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(ann, CHECK_MARK);
        cJSON_AddStringToObject(ann, CHECK_MARK, "changed");
    } else {
        data = object_at(obj, "data");
        cJSON_DeleteItemFromObjectCaseSensitive(data, "manual-gate-check");
        cJSON_AddStringToObject(data, "manual-gate-check", "Y2hhbmdlZA==");
    }
    return obj;
}

/* The Canary the lookup finds for the object, for the message. */
static int lookup_canary(const struct canary_lookup *lookup, const struct kind *k, const char *ns, const char *name,
                         struct canary_info *info)
{
    char ref[320];

    memset(info, 0, sizeof(*info));
    if (k->template_change)
        return lookup->by_target(lookup->ctx, ns, k->kind, name, info);
    snprintf(ref, sizeof(ref), "%s/%s", strcmp(k->kind, "Secret") == 0 ? "secret" : "configmap", name);
    return lookup->by_config(lookup->ctx, ns, ref, info);
}

static int report(const struct decision *d, const struct kind *k, const char *ns, const char *name,
                  const struct canary_lookup *lookup)
{
    struct canary_info info;
    const cJSON *w;
    int found = lookup_canary(lookup, k, ns, name, &info) == CANARY_LOOKUP_FOUND;

    cJSON_ArrayForEach(w, d->warnings)
        printf("Warning: %s\n", w->valuestring);
    if (d->allowed) {
        printf("allowed: a change to %s %s/%s may be released now", k->kind, ns, name);
        if (found)
            printf(" (Canary %s/%s, phase %s, canary weight %d%%%s)", info.namespace_, info.name,
                   *info.phase ? info.phase : "none", info.weight, info.gated ? "" : ", not gated");
        printf("\n");
        return OPS_EXIT_OK;
    }
    if (d->code != 403) {
        fprintf(stderr, "manual-gate check: the policy could not judge %s %s/%s: %s\n", k->kind, ns, name,
                d->message ? d->message : "");
        return OPS_EXIT_ERROR;
    }
    printf("denied: %s %s/%s", k->kind, ns, name);
    if (found)
        printf(": Canary %s/%s, phase %s, canary weight %d%%", info.namespace_, info.name, info.phase, info.weight);
    printf("\n%s\n", d->message ? d->message : "");
    return OPS_EXIT_REFUSED;
}

/* The AdmissionReview the API server would send for the change, as JSON text (the caller frees it), so
 * that it goes through the webhook's own codec too. */
static char *review_body(const struct kind *k, const char *ns, const char *name, const cJSON *old, const cJSON *obj)
{
    cJSON *review = cJSON_CreateObject(), *req = cJSON_AddObjectToObject(review, "request");
    cJSON *gvk = cJSON_AddObjectToObject(req, "kind");
    char *text;

    cJSON_AddStringToObject(review, "apiVersion", "admission.k8s.io/v1");
    cJSON_AddStringToObject(review, "kind", "AdmissionReview");
    cJSON_AddStringToObject(req, "uid", "manual-gate-check");
    cJSON_AddStringToObject(gvk, "group", k->group);
    cJSON_AddStringToObject(gvk, "version", "v1");
    cJSON_AddStringToObject(gvk, "kind", k->kind);
    cJSON_AddStringToObject(req, "namespace", ns);
    cJSON_AddStringToObject(req, "name", name);
    cJSON_AddStringToObject(req, "operation", "UPDATE");
    cJSON_AddItemToObject(req, "object", cJSON_Duplicate(obj, 1));
    cJSON_AddItemToObject(req, "oldObject", cJSON_Duplicate(old, 1));
    cJSON_AddBoolToObject(req, "dryRun", 1);
    text = cJSON_PrintUnformatted(review);
    cJSON_Delete(review);
    return text;
}

/* 1 when the object is the Deployment running Flagger (--flagger-deployment): its new pod template
 * concerns the gated releases of every namespace. */
static int is_flagger(const struct ops_opts *o, const struct kind *k, const char *ns, const char *name)
{
    const char *f = o->flagger_deployment;
    size_t n = strlen(ns);

    return f && strcmp(k->kind, "Deployment") == 0 && strncmp(f, ns, n) == 0 && f[n] == '/' &&
           strcmp(f + n + 1, name) == 0;
}

/* Run the validating policy on the simulated UPDATE with the namespace's Canaries indexed (every
 * namespace's for Flagger's own Deployment). */
static int judge(struct ops_opts *o, const struct kind *k, const char *ns, const char *name, const cJSON *old)
{
    const char *flagger[2] = {o->flagger_deployment, NULL};
    struct policy_config pcfg = {NULL, NULL, 0, NULL, o->flagger_deployment ? flagger : NULL};
    struct review review = {NULL, {0}};
    struct canary_lookup lookup;
    struct decision d;
    struct cache *cache = cache_new(0);
    char err[800], *body = NULL;
    cJSON *canaries = ops_list_canaries(o, is_flagger(o, k, ns, name) ? NULL : ns, err, sizeof(err));
    cJSON *obj = changed_copy(old, k);
    int rc = OPS_EXIT_ERROR;

    decision_init(&d);
    if (!canaries || !cache || !obj || cache_apply_list(cache, canaries) != 0) {
        ops_error(o, "%s", !canaries ? err : !obj ? "the object has no spec.template to change" : "out of memory");
        goto done;
    }
    if (!(body = review_body(k, ns, name, old, obj)) || review_decode(body, strlen(body), &review, err, sizeof(err))) {
        ops_error(o, "cannot form the admission request: %s", body ? err : "out of memory");
        goto done;
    }
    cache_lookup(cache, &lookup);
    admission_decide(ADMISSION_VALIDATE, &review.req, &pcfg, &lookup, &d);
    rc = report(&d, k, ns, name, &lookup);
done:
    decision_free(&d);
    review_free(&review);
    cJSON_free(body);
    cJSON_Delete(obj);
    cJSON_Delete(canaries);
    cache_stop(cache);
    return rc;
}

int ops_check_main(int argc, char **argv)
{
    struct ops_opts o;
    const struct kind *k;
    const char *ns, *slash, *name;
    cJSON *old;
    int rc = ops_parse(argc, argv, "check", OPS_F_FLAGGER, 1, usage, &o);

    if (rc != OPS_GO)
        return rc;
    if (o.nargs != 1 || !(slash = strchr(o.args[0], '/')) || !slash[1]) {
        fputs(usage, stderr);
        return OPS_EXIT_ERROR;
    }
    name = slash + 1;
    if (!(k = kind_find(o.args[0], (size_t)(slash - o.args[0]))))
        return ops_error(&o, "cannot check a '%.*s': give a deployment, daemonset, configmap or secret",
                         (int)(slash - o.args[0]), o.args[0]);
    ops_catch_signals();
    if (!(ns = ops_namespace(&o)) || !(old = fetch(&o, k, ns, name)))
        return OPS_EXIT_ERROR;
    rc = judge(&o, k, ns, name, old);
    cJSON_Delete(old);
    return rc;
}
