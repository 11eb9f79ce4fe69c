/*
 * `manual-gate mutate FILE`: the mutating policy run on files, so a GitOps repository can commit the
 * completed Canaries and see no drift when the webhook reviews them. Every Canary (also inside a List,
 * as `kubectl get canaries -o yaml` prints) gets the patch the webhook would return, applied here;
 * other documents pass through. The output is YAML whatever the input was, and stable: mutating it
 * again prints the same bytes and no warnings.
 */
#include "offline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mutate_canary.h"
#include "patch.h"
#include "yamlio.h"

/* Far above any manifest set a repository keeps in one file; bounds what "-" reads from a pipe. */
#define OFFLINE_INPUT_MAX (64u * 1024 * 1024)

/* Read the whole input, from a file or stdin ("-"); -1 after printing why. */
static int read_input(const char *path, struct buf *in)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    int rc;

    if (!f) {
        fprintf(stderr, "manual-gate mutate: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    rc = buf_read_stream(in, f);
    if (rc != 0)
        fprintf(stderr, "manual-gate mutate: cannot read %s: %s\n", path,
                errno == EFBIG ? "larger than the 64 MiB input limit" : strerror(errno));
    if (f != stdin)
        fclose(f);
    return rc;
}

static const char *str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int is_canary(const cJSON *doc)
{
    const char *api = str_of(doc, "apiVersion"), *kind = str_of(doc, "kind");

    return api && kind && strncmp(api, "flagger.app/", 12) == 0 && strcmp(kind, "Canary") == 0;
}

/* Complete one Canary in place. 0 done, 1 denied, -1 internal error; messages go to stderr. */
static int mutate_one(cJSON *canary, const struct policy_config *cfg)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(canary, "metadata"), *w;
    const char *ns = str_of(meta, "namespace"), *name = str_of(meta, "name");
    struct decision d;
    char who[320], err[256];
    int rc = 0;

    snprintf(who, sizeof(who), "Canary %s%s%s", ns ? ns : "", ns ? "/" : "", name ? name : "(unnamed)");
    decision_init(&d);
    mutate_canary_object(canary, cfg, &d);
    cJSON_ArrayForEach(w, d.warnings)
        fprintf(stderr, "Warning: %s: %s\n", who, w->valuestring);
    if (!d.allowed) {
        fprintf(stderr, "Denied: %s: %s\n", who, d.message ? d.message : "denied");
        rc = 1;
    } else if (d.patch && patch_apply(canary, d.patch, err, sizeof(err)) < 0) {
        fprintf(stderr, "manual-gate mutate: %s: the patch does not apply: %s\n", who, err);
        rc = -1;
    }
    decision_free(&d);
    return rc;
}

int offline_mutate(const char *path, const struct policy_config *cfg)
{
    struct buf in = BUF_INIT(OFFLINE_INPUT_MAX);
    char err[256], *out = NULL;
    cJSON *docs = NULL, *doc, *item;
    int rc = 2, denied = 0, r;

    if (read_input(path, &in) != 0)
        goto done;
    if (!(docs = yaml_parse(in.data, in.len, err, sizeof(err)))) {
        fprintf(stderr, "manual-gate mutate: %s: %s\n", path, err);
        goto done;
    }
    cJSON_ArrayForEach(doc, docs) {
        const char *kind = str_of(doc, "kind");
        size_t klen = kind ? strlen(kind) : 0;

        if (is_canary(doc)) {
            if ((r = mutate_one(doc, cfg)) < 0)
                goto done;
            denied |= r;
        } else if (klen >= 4 && strcmp(kind + klen - 4, "List") == 0) {
            cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc, "items")) {
                if (!is_canary(item))
                    continue;
                if ((r = mutate_one(item, cfg)) < 0)
                    goto done;
                denied |= r;
            }
        }
    }
    /* Nothing on stdout after a denial: `mutate f.yaml > f.yaml.new` must not look like a result. */
    if (denied) {
        rc = 1;
        goto done;
    }
    if (!(out = yaml_emit(docs))) {
        fprintf(stderr, "manual-gate mutate: cannot print the result as YAML\n");
        goto done;
    }
    if (fputs(out, stdout) == EOF || fflush(stdout) != 0) {
        fprintf(stderr, "manual-gate mutate: cannot write the result: %s\n", strerror(errno));
        goto done;
    }
    rc = 0;
done:
    free(out);
    cJSON_Delete(docs);
    buf_free(&in);
    return rc;
}
