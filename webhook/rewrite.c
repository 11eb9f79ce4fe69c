/*
 * A manifest file through admission, kept as written. YAML is read twice from the same bytes: for what
 * it means (yamlio.c, as kubectl reads it) and for where each node is written (yamltree.c); the two
 * agree document by document, so a document's value, its position and its messages line up.
 *
 * Values Kubernetes refuses before any webhook runs are refused here too: a label or annotation value
 * that is not a string (an unquoted `true`, `0755`, `10`) makes `kubectl apply` fail with "cannot
 * unmarshal ... of type string", and a policy would otherwise judge the Canary without it.
 */
#include "rewrite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "buf.h"
#include "json.h"
#include "obj.h"
#include "yamlio.h"
#include "yamlsplice.h"
#include "yamltree.h"

/* Characters of a written value quoted back in a message. */
#define QUOTED_MAX 40
/* Warnings of one file: each is at most 120 characters and a Canary's share 4 KiB, so this holds
 * several thousand Canaries' worth; beyond it a warning is dropped, never the file. */
#define WARNINGS_MAX ((size_t)16 << 20)

struct file {
    const char *name;
    const char *in;
    size_t len;
    const struct policy_config *cfg;
    FILE *msgs;
    int json;         /* the input is one JSON value: it is printed as JSON again */
    cJSON *docs;      /* every document's value, in stream order (null for an empty one) */
    cJSON **wants;    /* per document: its value after admission, NULL while unchanged */
    size_t ndocs;
    struct yamltree tree;
    int tree_state;   /* 0 positions not read yet, 1 read, -1 unknown (JSON libyaml cannot read) */
    int refused;
    /* Printed once the file is known to be written: a refused file is left as written, and warnings
     * about changes that are not made would mislead. */
    struct buf warnings;
};

static int is_canary(const cJSON *v)
{
    const char *api = obj_string(v, "apiVersion"), *kind = obj_string(v, "kind");

    return api && kind && strncmp(api, "flagger.app/", 12) == 0 && strcmp(kind, "Canary") == 0;
}

static int is_list(const cJSON *v)
{
    const char *kind = obj_string(v, "kind");
    size_t n = kind ? strlen(kind) : 0;

    return n >= 4 && strcmp(kind + n - 4, "List") == 0;
}

/* Positions, read on first use: a file whose Canaries need no change and no message never needs them,
 * and reading them costs as much as reading the values. */
static const struct yamltree *tree(struct file *f)
{
    char err[256];

    if (f->tree_state == 0)
        f->tree_state = yamltree_parse(&f->tree, f->in, f->len, err, sizeof(err)) == 0 && f->tree.ndocs == f->ndocs ? 1 : -1;
    return f->tree_state > 0 ? &f->tree : NULL;
}

static size_t node_get(struct file *f, size_t node, const char *key)
{
    return tree(f) ? yamltree_get(&f->tree, node, key) : YAMLTREE_NONE;
}

/* The node of an object: document doc's root, or item `item` of the List it holds. */
static size_t object_node(struct file *f, size_t doc, int item)
{
    size_t root = tree(f) ? f->tree.docs[doc].root : YAMLTREE_NONE;

    return item < 0 ? root : tree(f) ? yamltree_item(&f->tree, node_get(f, root, "items"), (size_t)item) : YAMLTREE_NONE;
}

/* "FILE (document N, line L)" for a node (or the document when the node is unknown). */
static const char *where(struct file *f, size_t doc, size_t node, char *buf, size_t len)
{
    size_t line = 0;

    if (tree(f))
        line = node != YAMLTREE_NONE ? f->tree.nodes[node].line : f->tree.docs[doc].line;
    if (line)
        snprintf(buf, len, "%s (document %zu, line %zu)", f->name, doc + 1, line);
    else
        snprintf(buf, len, "%s (document %zu)", f->name, doc + 1);
    return buf;
}

static const char *who(const cJSON *canary, char *buf, size_t len)
{
    const char *ns = obj_namespace(canary), *name = obj_name(canary);

    snprintf(buf, len, "Canary %s%s%s", ns, *ns ? "/" : "", *name ? name : "(unnamed)");
    return buf;
}

static const char *kind_of(const cJSON *v)
{
    return cJSON_IsTrue(v) ? "the boolean true" : cJSON_IsFalse(v) ? "the boolean false"
         : cJSON_IsNumber(v) ? "a number" : cJSON_IsObject(v) ? "a mapping" : "a list";
}

/* 1 when every value of the mapping m is a string or null (which reads as ""). */
static int strings_only(const cJSON *m)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, m)
        if (!cJSON_IsString(c) && !cJSON_IsNull(c))
            return 0;
    return 1;
}

/* Labels and annotations must be strings (null reads as ""): one error line for each that is not. */
static int check_strings(struct file *f, size_t doc, int item, const cJSON *canary, const char *whom)
{
    static const char *const fields[] = {"labels", "annotations"};
    const cJSON *meta = obj_get(canary, "metadata"), *m, *c;
    size_t i, mnode = YAMLTREE_NONE, vnode;
    char loc[512], written[QUOTED_MAX + 1];
    int bad = 0;

    for (i = 0; i < 2; i++) {
        m = obj_get(meta, fields[i]);
        if (!m || cJSON_IsNull(m) || (cJSON_IsObject(m) && strings_only(m)))
            continue;
        if (mnode == YAMLTREE_NONE)
            mnode = node_get(f, object_node(f, doc, item), "metadata");
        if (!cJSON_IsObject(m)) {
            fprintf(f->msgs, "Error: %s: %s: metadata.%s is %s, not a mapping of strings: kubectl apply refuses "
                    "it\n", where(f, doc, node_get(f, mnode, fields[i]), loc, sizeof(loc)), whom, fields[i],
                    kind_of(m));
            bad++;
            continue;
        }
        cJSON_ArrayForEach(c, m) {
            if (cJSON_IsString(c) || cJSON_IsNull(c))
                continue;
            vnode = node_get(f, node_get(f, mnode, fields[i]), c->string);
            written[0] = '\0';
            if (vnode != YAMLTREE_NONE && f->tree.nodes[vnode].kind == YAMLTREE_SCALAR)
                snprintf(written, sizeof(written), "%.*s", (int)(f->tree.nodes[vnode].end - f->tree.nodes[vnode].start),
                         f->in + f->tree.nodes[vnode].start);
            fprintf(f->msgs, "Error: %s: %s: metadata.%s \"%s\" is %s, not a string: kubectl apply refuses it "
                    "(cannot unmarshal into a string)%s%s%s\n", where(f, doc, vnode, loc, sizeof(loc)), whom,
                    fields[i], c->string, kind_of(c), written[0] ? "; quote it: \"" : "", written,
                    written[0] ? "\"" : "");
            bad++;
        }
    }
    return bad;
}

/* The document doc as the cluster would store it gets obj (taken over) as its item (or as itself when
 * item < 0). 0, or -1 out of memory (obj freed). */
static int want_object(struct file *f, size_t doc, int item, cJSON *obj)
{
    cJSON *want = f->wants[doc];

    if (item < 0) {
        cJSON_Delete(want);
        f->wants[doc] = obj;
        return 0;
    }
    if (!want && !(want = cJSON_Duplicate(cJSON_GetArrayItem(f->docs, (int)doc), 1))) {
        cJSON_Delete(obj);
        return -1;
    }
    f->wants[doc] = want;
    if (!cJSON_ReplaceItemInArray((cJSON *)obj_get(want, "items"), item, obj)) {
        cJSON_Delete(obj);
        return -1;
    }
    return 0;
}

/* One Canary through admission; its result replaces it in the wanted document when it changes.
 * 0, or -1 when it cannot be judged. */
static int admit_one(struct file *f, size_t doc, int item, const cJSON *canary)
{
    struct admit_result r;
    const cJSON *w;
    char loc[512], whom[320];
    int rc = 0;

    who(canary, whom, sizeof(whom));
    if (check_strings(f, doc, item, canary, whom)) {
        f->refused = 1;
        return 0;
    }
    rc = admit_create(canary, f->cfg, &r);
    if (rc < 0 || r.warnings || !r.allowed)
        where(f, doc, object_node(f, doc, item), loc, sizeof(loc));
    if (rc < 0) {
        fprintf(f->msgs, "manual-gate mutate: %s: %s: %s\n", loc, whom, r.message ? r.message : "out of memory");
        admit_result_free(&r);
        return -1;
    }
    cJSON_ArrayForEach(w, r.warnings) {
        /* A warning is part of the answer: out of memory, the file is not processed rather than quiet. */
        if (buf_printf(&f->warnings, "Warning: %s: %s: %s\n", loc, whom, w->valuestring) < 0) {
            fprintf(f->msgs, "manual-gate mutate: %s: %s: out of memory\n", loc, whom);
            admit_result_free(&r);
            return -1;
        }
    }
    if (!r.allowed) {
        fprintf(f->msgs, "Denied: %s: %s: %s\n", loc, whom, r.message);
        f->refused = 1;
    } else if (!json_equal(canary, r.object)) {
        rc = want_object(f, doc, item, r.object);
        r.object = NULL;
    }
    admit_result_free(&r);
    return rc;
}

static int admit_doc(struct file *f, size_t doc, const cJSON *v)
{
    const cJSON *item;
    int i = 0;

    if (is_canary(v))
        return admit_one(f, doc, -1, v);
    if (!is_list(v))
        return 0;
    cJSON_ArrayForEach(item, obj_get(v, "items")) {
        if (is_canary(item) && admit_one(f, doc, i, item) < 0)
            return -1;
        i++;
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The first number in v that is not finite (1e400 reads as infinity), or NULL. */
static const cJSON *non_finite(const cJSON *v)
{
    const cJSON *c, *found;

    if (cJSON_IsNumber(v))
        return isfinite(v->valuedouble) ? NULL : v;
    cJSON_ArrayForEach(c, v)
        if ((found = non_finite(c)) != NULL)
            return found;
    return NULL;
}

/* JSON input the API server could not take either: a number out of a double's range reads as infinity
 * and cannot be written back (YAML input is refused for it when read, by yamlio). 0, or -1 said on msgs. */
static int check_numbers(struct file *f)
{
    const cJSON *doc, *bad;
    size_t d = 0;

    cJSON_ArrayForEach(doc, f->docs) {
        d++;
        if ((bad = non_finite(doc)) != NULL) {
            fprintf(f->msgs, "manual-gate mutate: %s: document %zu: %s%sa number out of range (beyond +/-1.8e308)\n",
                    f->name, d, bad->string ? bad->string : "", bad->string ? ": " : "");
            return -1;
        }
    }
    return 0;
}

/* Read the input: one JSON value, or a YAML stream. 0, or -1 after a message. */
static int read_docs(struct file *f)
{
    const char *p = f->in, *end = f->in + f->len, *parse_end = NULL;
    char err[256];
    cJSON *value;

    /* Kept as written means in its encoding: positions are read in UTF-8 only. */
    if (f->len >= 2 && (memcmp(f->in, "\xff\xfe", 2) == 0 || memcmp(f->in, "\xfe\xff", 2) == 0)) {
        fprintf(f->msgs, "manual-gate mutate: %s: UTF-16 input is not supported: convert it to UTF-8\n", f->name);
        return -1;
    }
    while (p < end && is_space(*p))
        p++;
    if (p < end && (*p == '{' || *p == '[') &&
        (value = cJSON_ParseWithLengthOpts(f->in, f->len, &parse_end, 0)) != NULL) {
        while (parse_end < end && is_space(*parse_end))
            parse_end++;
        if (parse_end == end && (f->docs = cJSON_CreateArray()) && cJSON_AddItemToArray(f->docs, value)) {
            f->json = 1;
            f->ndocs = 1;
            return check_numbers(f);
        }
        cJSON_Delete(f->docs ? f->docs : value);
        f->docs = NULL;
    }
    if (!(f->docs = yamlio_parse_stream(f->in, f->len, err, sizeof(err)))) {
        fprintf(f->msgs, "manual-gate mutate: %s: %s\n", f->name, err);
        return -1;
    }
    f->ndocs = (size_t)cJSON_GetArraySize(f->docs);
    return 0;
}

/* The YAML input with each changed document spliced in (or printed anew). */
static char *splice_docs(struct file *f, size_t *outlen)
{
    struct yamlsplice edits = {NULL, 0, 0};
    char why[256], loc[512];
    char *text = NULL;
    size_t d;
    int rc = 0;

    if (!tree(f)) {
        fprintf(f->msgs, "manual-gate mutate: %s: the positions of its documents cannot be read\n", f->name);
        return NULL;
    }
    for (d = 0; d < f->ndocs && rc >= 0; d++) {
        if (!f->wants[d])
            continue;
        rc = yamlsplice_doc(&f->tree, d, cJSON_GetArrayItem(f->docs, (int)d), f->wants[d], &edits, why, sizeof(why));
        if (rc == 1) {
            fprintf(f->msgs, "Note: %s: printed anew, without its comments, since a change cannot be placed "
                    "in its text (%s)\n", where(f, d, f->tree.docs[d].root, loc, sizeof(loc)), why);
            rc = yamlsplice_reemit(&f->tree, d, f->wants[d], &edits);
        }
    }
    if (rc >= 0)
        text = yamlsplice_apply(f->in, f->len, &edits, outlen);
    yamlsplice_free(&edits);
    return text;
}

static char *compose(struct file *f, size_t *outlen)
{
    char indent[16];
    int crlf;
    size_t d;
    char *text;

    for (d = 0; d < f->ndocs && !f->wants[d]; d++)
        ;
    if (d == f->ndocs) {
        if ((text = malloc(f->len + 1)) != NULL) {
            memcpy(text, f->in, f->len);
            text[f->len] = '\0';
            *outlen = f->len;
        }
        return text;
    }
    if (!f->json)
        return splice_docs(f, outlen);
    json_layout(f->in, f->len, indent, sizeof(indent), &crlf);
    text = json_print(f->wants[0], indent, crlf, f->len > 0 && f->in[f->len - 1] == '\n');
    *outlen = text ? strlen(text) : 0;
    return text;
}

enum rewrite_status rewrite_file(const char *name, const char *in, size_t len, const struct policy_config *cfg,
                                 FILE *msgs, struct rewrite_result *r)
{
    struct file f;
    const cJSON *doc;
    size_t d = 0;

    memset(r, 0, sizeof(*r));
    memset(&f, 0, sizeof(f));
    f.name = name, f.in = in, f.len = len, f.cfg = cfg, f.msgs = msgs;
    f.warnings.max = WARNINGS_MAX;
    r->status = REWRITE_ERROR;
    if (read_docs(&f) < 0)
        goto done;
    if (!(f.wants = calloc(f.ndocs + 1, sizeof(*f.wants))))
        goto done;
    cJSON_ArrayForEach(doc, f.docs)
        if (admit_doc(&f, d++, doc) < 0)
            goto done;
    if (f.refused) {
        r->status = REWRITE_REFUSED;
        goto done;
    }
    if (f.warnings.len)
        fputs(f.warnings.data, msgs);
    if (!(r->text = compose(&f, &r->len))) {
        fprintf(msgs, "manual-gate mutate: %s: out of memory\n", name);
        goto done;
    }
    r->changed = r->len != len || memcmp(r->text, in, len) != 0;
    r->status = REWRITE_OK;
done:
    for (d = 0; f.wants && d < f.ndocs; d++)
        cJSON_Delete(f.wants[d]);
    free(f.wants);
    cJSON_Delete(f.docs);
    yamltree_free(&f.tree);
    buf_free(&f.warnings);
    return r->status;
}

void rewrite_result_free(struct rewrite_result *r)
{
    free(r->text);
    memset(r, 0, sizeof(*r));
}
