/*
 * The splice: walk what a document reads as now and what it should read as, beside the positions of
 * its nodes (yamltree.c), and turn each difference into an edit of the original bytes. Mappings are
 * compared key by key (the loader keeps their keys in written order, so the i-th key read is the i-th
 * key written); sequences are aligned by their longest common run of equal items, and a changed
 * mapping item is matched to its old self by its "name" (Kubernetes lists are lists of named things),
 * so an added hook shows as an added item and a hook that gained a key as that key.
 *
 * Places where new text would change more than the node (a flow collection, an anchor others refer
 * to, an alias, a tag, a merge key) are refused, not approximated. The finished splice is read back
 * with the loader and must read as the wanted document.
 */
#include "yamlsplice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "yamlio.h"
#include "yamlrender.h"

/* Cells of one sequence alignment table: ample for lists of hooks or containers (items squared), a
 * bound on the memory a hostile list could take. */
#define ALIGN_CELLS_MAX ((size_t)1 << 20)
/* New text for one edit; the input itself is at most 64 MiB. */
#define SPLICE_TEXT_MAX ((size_t)256 << 20)

enum { SP_OOM = -1, SP_OK = 0, SP_UNFAITHFUL = 1, SP_REPLACE = 2 };

struct splicer {
    const struct yamltree *t;
    const char *s;
    size_t len;
    struct yamlrender_style st;
    struct yamlsplice *out;
    char *why;
    size_t whylen;
};

static const struct yamltree_node *node_at(const struct splicer *sp, size_t i)
{
    return &sp->t->nodes[i];
}

static int unfaithful(struct splicer *sp, size_t node, const char *what)
{
    if (sp->why && sp->whylen)
        snprintf(sp->why, sp->whylen, "line %zu: %s", node_at(sp, node)->line, what);
    return SP_UNFAITHFUL;
}

static int add_edit(struct splicer *sp, size_t start, size_t end, const char *text, size_t len)
{
    struct yamlsplice *o = sp->out;
    struct yamlsplice_edit *e;

    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        struct yamlsplice_edit *p = realloc(o->edits, cap * sizeof(*p));

        if (!p)
            return SP_OOM;
        o->edits = p;
        o->cap = cap;
    }
    e = &o->edits[o->n];
    if (!(e->text = malloc(len + 1)))
        return SP_OOM;
    memcpy(e->text, text, len);
    e->text[len] = '\0';
    e->len = len;
    e->start = start;
    e->end = end;
    o->n++;
    return SP_OK;
}

/* Insert whole lines (text without its final line ending) at p, the start of a line or the input's end. */
static int insert_lines(struct splicer *sp, size_t p, struct buf *text)
{
    const char *eol = sp->st.eol;
    struct buf b = BUF_INIT(SPLICE_TEXT_MAX);
    int rc;

    if (p == sp->len && p > 0 && !yamltree_is_break(sp->s[p - 1]))
        rc = buf_append(&b, eol, strlen(eol)) < 0 || buf_append(&b, text->data, text->len) < 0;
    else
        rc = buf_append(&b, text->data, text->len) < 0 || buf_append(&b, eol, strlen(eol)) < 0;
    rc = rc ? SP_OOM : add_edit(sp, p, p, b.data, b.len);
    buf_free(&b);
    return rc;
}

/* A node whose text may go away: no anchor in it that a later alias could name. */
static int removable(struct splicer *sp, size_t node)
{
    if (node_at(sp, node)->props & YAMLTREE_ANCHOR_BELOW)
        return unfaithful(sp, node, "the value holds an anchor (&) that aliases may refer to");
    return SP_OK;
}

/* A node that may be replaced by new text. */
static int replaceable(struct splicer *sp, size_t node)
{
    const struct yamltree_node *n = node_at(sp, node);

    if (n->kind == YAMLTREE_ALIAS)
        return unfaithful(sp, node, "the value is an alias (*)");
    if (n->props & YAMLTREE_TAG)
        return unfaithful(sp, node, "the value has a tag (!)");
    if ((n->props & YAMLTREE_FLOW) && n->count > 0)
        return unfaithful(sp, node, "the value is written in flow style ([...] or {...})");
    return removable(sp, node);
}

static int diff_node(struct splicer *sp, size_t node, const cJSON *have, const cJSON *want);

static int delete_entry(struct splicer *sp, size_t key, size_t value)
{
    int rc;

    if ((rc = removable(sp, key)) != SP_OK || (rc = removable(sp, value)) != SP_OK)
        return rc;
    if (!yamltree_indent_only(sp->t, node_at(sp, key)->start))
        return unfaithful(sp, key, "the key to remove shares its line with a \"-\"");
    return add_edit(sp, yamltree_line_start(sp->t, node_at(sp, key)->start),
                    yamltree_next_line(sp->t, yamltree_content_end(sp->t, value)), "", 0);
}

/* The new value is a block collection; the old one is not the same kind of block at its own place. */
static int replace_by_block(struct splicer *sp, const struct yamltree_node *k, size_t end, size_t colon, int old_inline,
                            const cJSON *want)
{
    struct buf text = BUF_INIT(SPLICE_TEXT_MAX);
    size_t col = k->column + (cJSON_IsObject(want) ? sp->st.map_step : sp->st.seq_offset);
    const char *eol = sp->st.eol;
    int rc = SP_OOM;

    if (yamltree_after_break(sp->t, end) || !old_inline) {
        /* The old value takes whole lines: the block replaces everything after the ':'. */
        if (buf_append(&text, eol, strlen(eol)) < 0 || yamlrender_block(&text, want, col, &sp->st) < 0 ||
            (yamltree_after_break(sp->t, end) && buf_append(&text, eol, strlen(eol)) < 0))
            goto done;
        rc = add_edit(sp, colon + 1, end, text.data, text.len);
        goto done;
    }
    /* An old one-line value: drop it and put the block on the lines after, so that a comment after the
     * value stays on the key's line. */
    if (yamlrender_block(&text, want, col, &sp->st) < 0)
        goto done;
    rc = end > colon + 1 ? add_edit(sp, colon + 1, end, "", 0) : SP_OK;
    if (rc == SP_OK)
        rc = insert_lines(sp, yamltree_next_line(sp->t, end), &text);
done:
    buf_free(&text);
    return rc;
}

static int replace_value(struct splicer *sp, size_t key, size_t value, const cJSON *want)
{
    const struct yamltree_node *k = node_at(sp, key), *v = node_at(sp, value);
    struct buf text = BUF_INIT(SPLICE_TEXT_MAX);
    size_t colon = k->end, end = yamltree_content_end(sp->t, value), i;
    int old_inline = 1, rc;

    if ((rc = replaceable(sp, value)) != SP_OK)
        return rc;
    while (colon < sp->len && (sp->s[colon] == ' ' || sp->s[colon] == '\t'))
        colon++;
    if (colon >= sp->len || sp->s[colon] != ':' || v->start <= colon)
        return unfaithful(sp, key, "the key is not followed by ':'");
    for (i = colon + 1; i < v->start; i++)
        if (yamltree_is_break(sp->s[i]))
            old_inline = 0;
    if (yamlrender_is_inline(want)) {
        /* A space after the ':' unless one is there: an empty (null) value starts right after it. */
        rc = ((!old_inline || v->start == colon + 1) && buf_append(&text, " ", 1) < 0) ||
             yamlrender_inline(&text, want, v->kind == YAMLTREE_SCALAR ? v->style : 0, &sp->st) < 0 ||
             (yamltree_after_break(sp->t, end) && buf_append(&text, sp->st.eol, strlen(sp->st.eol)) < 0);
        rc = rc ? SP_OOM : add_edit(sp, old_inline ? v->start : colon + 1, end, text.data, text.len);
    } else if (!old_inline && yamltree_indent_only(sp->t, v->start) && !(v->props & YAMLTREE_FLOW) &&
               ((v->kind == YAMLTREE_MAPPING && cJSON_IsObject(want)) ||
                (v->kind == YAMLTREE_SEQUENCE && cJSON_IsArray(want)))) {
        /* A block in place of a block of the same kind: at its column, after its indentation. */
        rc = yamlrender_block(&text, want, v->column, &sp->st) < 0 ||
             (yamltree_after_break(sp->t, end) && buf_append(&text, sp->st.eol, strlen(sp->st.eol)) < 0);
        rc = rc ? SP_OOM : add_edit(sp, v->start, end, text.data + v->column, text.len - v->column);
    } else {
        rc = replace_by_block(sp, k, end, colon, old_inline, want);
    }
    buf_free(&text);
    return rc;
}

/* Keys of want that have is missing, appended to the mapping as new lines under its first key. */
static int add_entries(struct splicer *sp, size_t map, const cJSON *have, const cJSON *want)
{
    const struct yamltree_node *m = node_at(sp, map);
    size_t col = node_at(sp, m->first)->column;
    struct buf text = BUF_INIT(SPLICE_TEXT_MAX);
    const cJSON *c;
    int rc = SP_OK;

    for (c = want->child; c && rc == SP_OK; c = c->next) {
        if (cJSON_GetObjectItemCaseSensitive(have, c->string))
            continue;
        if ((text.len && buf_append(&text, sp->st.eol, strlen(sp->st.eol)) < 0) || yamlrender_indent(&text, col) < 0 ||
            yamlrender_entry(&text, c->string, c, col, &sp->st) < 0)
            rc = SP_OOM;
    }
    if (rc == SP_OK && text.len)
        rc = insert_lines(sp, yamltree_next_line(sp->t, yamltree_content_end(sp->t, map)), &text);
    buf_free(&text);
    return rc;
}

static int diff_mapping(struct splicer *sp, size_t map, const cJSON *have, const cJSON *want)
{
    const cJSON *hc = have->child, *wv;
    size_t k, v;
    int rc;

    if (node_at(sp, map)->props & YAMLTREE_MERGE)
        return unfaithful(sp, map, "the mapping takes keys from a merge key (<<)");
    for (k = node_at(sp, map)->first; k != YAMLTREE_NONE; k = node_at(sp, v)->next, hc = hc->next) {
        v = node_at(sp, k)->next;
        if (v == YAMLTREE_NONE || !hc || !node_at(sp, k)->key || strcmp(node_at(sp, k)->key, hc->string) != 0)
            return unfaithful(sp, k, "the keys read differ from the keys written");
        wv = cJSON_GetObjectItemCaseSensitive(want, hc->string);
        if (!wv) {
            rc = delete_entry(sp, k, v);
        } else if (json_equal(hc, wv)) {
            rc = SP_OK;
        } else if ((rc = diff_node(sp, v, hc, wv)) == SP_REPLACE) {
            rc = replace_value(sp, k, v, wv);
        }
        if (rc != SP_OK)
            return rc;
    }
    if (hc)
        return unfaithful(sp, map, "the keys read differ from the keys written");
    return add_entries(sp, map, have, want);
}

/* A block sequence as the splice sees it: its items, where each item's "-" is, and the alignment of the
 * items read (have) with the items wanted. */
struct seq {
    size_t node, m, k;
    size_t *items, *dash;
    const cJSON **hv, **wv;
    size_t *lcs;          /* (m+1) x (k+1): length of the longest common run of have[i..] and want[j..] */
    unsigned char *equal; /* m x k */
    size_t item_offset;
};

static void seq_free(struct seq *q)
{
    free(q->items);
    free(q->dash);
    free(q->hv);
    free(q->wv);
    free(q->lcs);
    free(q->equal);
}

/* Find every item's "-": only spaces may come before it on its line. */
static int seq_items(struct splicer *sp, struct seq *q, const cJSON *have, const cJSON *want)
{
    const struct yamltree_node *n = node_at(sp, q->node);
    const cJSON *c;
    size_t i, c_node, p;

    q->m = n->count;
    q->k = (size_t)cJSON_GetArraySize(want);
    if (q->m != (size_t)cJSON_GetArraySize(have))
        return unfaithful(sp, q->node, "the items read differ from the items written");
    if ((q->m + 1) * (q->k + 1) > ALIGN_CELLS_MAX)
        return unfaithful(sp, q->node, "the sequence is too long to align");
    q->items = calloc(q->m + 1, sizeof(*q->items));
    q->dash = calloc(q->m + 1, sizeof(*q->dash));
    q->hv = calloc(q->m + 1, sizeof(*q->hv));
    q->wv = calloc(q->k + 1, sizeof(*q->wv));
    q->lcs = calloc((q->m + 1) * (q->k + 1), sizeof(*q->lcs));
    q->equal = calloc(q->m * q->k + 1, 1);
    if (!q->items || !q->dash || !q->hv || !q->wv || !q->lcs || !q->equal)
        return SP_OOM;
    for (i = 0, c = want->child; c; c = c->next)
        q->wv[i++] = c;
    for (i = 0, c = have->child, c_node = n->first; c_node != YAMLTREE_NONE; c_node = node_at(sp, c_node)->next, i++) {
        for (p = node_at(sp, c_node)->start; p > 0 && (sp->s[p - 1] == ' ' || sp->s[p - 1] == '\t' ||
                                                       yamltree_is_break(sp->s[p - 1])); p--)
            ;
        if (p == 0 || sp->s[p - 1] != '-' || !yamltree_indent_only(sp->t, p - 1))
            return unfaithful(sp, c_node, "an item's \"-\" is not alone at the start of its line");
        q->items[i] = c_node;
        q->dash[i] = p - 1;
        q->hv[i] = c;
        c = c->next;
    }
    c_node = n->first;
    q->item_offset = node_at(sp, c_node)->kind == YAMLTREE_MAPPING && node_at(sp, c_node)->line == n->line
                         ? node_at(sp, c_node)->column - n->column : sp->st.item_offset;
    return SP_OK;
}

static void seq_align(struct seq *q)
{
    size_t i, j, w = q->k + 1;

    for (i = q->m; i-- > 0;)
        for (j = q->k; j-- > 0;) {
            size_t down = q->lcs[(i + 1) * w + j], right = q->lcs[i * w + j + 1];

            q->equal[i * q->k + j] = (unsigned char)json_equal(q->hv[i], q->wv[j]);
            q->lcs[i * w + j] = q->equal[i * q->k + j] ? q->lcs[(i + 1) * w + j + 1] + 1 : down > right ? down : right;
        }
}

/* Where an item goes that comes before have[c] (after have[c-1]). */
static size_t seq_insert_point(const struct splicer *sp, const struct seq *q, size_t c)
{
    size_t p;

    if (c > 0)
        return yamltree_next_line(sp->t, yamltree_content_end(sp->t, q->items[c - 1]));
    /* Before the first item: above the comment lines that introduce it. */
    for (p = yamltree_line_start(sp->t, q->dash[0]); p > 0 && yamltree_line_blank(sp->t, yamltree_previous_line(sp->t, p), 1) &&
                                                   !yamltree_line_blank(sp->t, yamltree_previous_line(sp->t, p), 0);)
        p = yamltree_previous_line(sp->t, p);
    return p;
}

static int seq_delete(struct splicer *sp, const struct seq *q, size_t i)
{
    int rc = removable(sp, q->items[i]);

    return rc != SP_OK ? rc
                       : add_edit(sp, yamltree_line_start(sp->t, q->dash[i]),
                                  yamltree_next_line(sp->t, yamltree_content_end(sp->t, q->items[i])), "", 0);
}

static int seq_insert(struct splicer *sp, const struct seq *q, size_t c, const cJSON *item)
{
    struct buf text = BUF_INIT(SPLICE_TEXT_MAX);
    size_t col = node_at(sp, q->node)->column;
    int rc = yamlrender_indent(&text, col) < 0 || yamlrender_item(&text, item, col, q->item_offset, &sp->st) < 0
                 ? SP_OOM : insert_lines(sp, seq_insert_point(sp, q, c), &text);

    buf_free(&text);
    return rc;
}

/* What names an item: its "name" (a hook, a container), else its metadata.name (an object of a List). */
static const char *item_name(const cJSON *v)
{
    const cJSON *n = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, "name") : NULL;

    if (!n && cJSON_IsObject(v))
        n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "metadata"), "name");
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

/* have[a..b) and want[c..e) share no equal item: pair items of the same name (or a lone mapping with
 * a lone mapping) and change them in place, remove the other old ones, insert the other new ones
 * where they fall. */
static int seq_gap(struct splicer *sp, const struct seq *q, size_t a, size_t b, size_t c, size_t e)
{
    size_t j, x, p = a;
    int rc = SP_OK;

    for (j = c; j < e && rc == SP_OK; j++) {
        const char *name = item_name(q->wv[j]);

        for (x = p; name && x < b; x++)
            if (item_name(q->hv[x]) && strcmp(item_name(q->hv[x]), name) == 0)
                break;
        /* One mapping changed into another with no name to tell: the same item, changed. */
        if (b - a == 1 && e - c == 1 && cJSON_IsObject(q->hv[a]) && cJSON_IsObject(q->wv[c]))
            name = "", x = a;
        if (!name || x == b) {
            rc = seq_insert(sp, q, p, q->wv[j]);
            continue;
        }
        for (; p < x && rc == SP_OK; p++)
            rc = seq_delete(sp, q, p);
        if (rc == SP_OK && (rc = diff_node(sp, q->items[x], q->hv[x], q->wv[j])) == SP_REPLACE &&
            (rc = seq_delete(sp, q, x)) == SP_OK)
            rc = seq_insert(sp, q, x + 1, q->wv[j]);
        p = x + 1;
    }
    for (; p < b && rc == SP_OK; p++)
        rc = seq_delete(sp, q, p);
    return rc;
}

static int diff_sequence(struct splicer *sp, size_t node, const cJSON *have, const cJSON *want)
{
    struct seq q;
    size_t i = 0, j = 0, a, c, w;
    int rc;

    memset(&q, 0, sizeof(q));
    q.node = node;
    if ((rc = seq_items(sp, &q, have, want)) != SP_OK)
        goto done;
    seq_align(&q);
    w = q.k + 1;
    while (rc == SP_OK && (i < q.m || j < q.k)) {
        if (i < q.m && j < q.k && q.equal[i * q.k + j]) {
            i++, j++;
            continue;
        }
        for (a = i, c = j; (i < q.m || j < q.k) && !(i < q.m && j < q.k && q.equal[i * q.k + j]);)
            if (j < q.k && (i == q.m || q.lcs[i * w + j + 1] >= q.lcs[(i + 1) * w + j]))
                j++;
            else
                i++;
        rc = seq_gap(sp, &q, a, i, c, j);
    }
done:
    seq_free(&q);
    return rc;
}

static int diff_node(struct splicer *sp, size_t node, const cJSON *have, const cJSON *want)
{
    const struct yamltree_node *n = node_at(sp, node);
    int objects = cJSON_IsObject(have) && cJSON_IsObject(want), arrays = cJSON_IsArray(have) && cJSON_IsArray(want);

    if (n->kind == YAMLTREE_ALIAS)
        return unfaithful(sp, node, "the value to change is an alias (*)");
    if (n->props & YAMLTREE_ANCHOR)
        return unfaithful(sp, node, "the value to change has an anchor (&) that aliases may refer to");
    if (n->props & YAMLTREE_TAG)
        return unfaithful(sp, node, "the value to change has a tag (!)");
    if ((objects || arrays) && want->child) {
        if (n->props & YAMLTREE_FLOW)
            return n->count ? unfaithful(sp, node, "the value to change is written in flow style ([...] or {...})")
                            : SP_REPLACE;
        if (objects && n->kind == YAMLTREE_MAPPING)
            return diff_mapping(sp, node, have, want);
        if (arrays && n->kind == YAMLTREE_SEQUENCE)
            return diff_sequence(sp, node, have, want);
    }
    return SP_REPLACE;
}

/* Apply edits [e, e + n) to text[from, to): all must lie inside, in order. */
static char *apply_range(const char *text, size_t from, size_t to, const struct yamlsplice_edit *e, size_t n,
                         size_t *outlen)
{
    struct buf b = BUF_INIT(SPLICE_TEXT_MAX);
    size_t at = from, i;

    for (i = 0; i < n; i++) {
        if (e[i].start < at || e[i].end < e[i].start || e[i].end > to)
            goto fail;
        if (buf_append(&b, text + at, e[i].start - at) < 0 || buf_append(&b, e[i].text, e[i].len) < 0)
            goto fail;
        at = e[i].end;
    }
    if (buf_append(&b, text + at, to - at) < 0)
        goto fail;
    *outlen = b.len;
    return buf_detach(&b);
fail:
    buf_free(&b);
    return NULL;
}

/* The bytes a document's root takes: from the start of its first line (or the root itself when
 * something such as "--- " comes before it) to the start of the line after it. */
static void root_region(const struct splicer *sp, size_t root, size_t *from, size_t *to)
{
    const struct yamltree_node *r = node_at(sp, root);

    *from = yamltree_indent_only(sp->t, r->start) ? yamltree_line_start(sp->t, r->start) : r->start;
    *to = yamltree_next_line(sp->t, r->end);
}

/* Read the document back with the edits made since first: it must read as want. */
static int read_back(struct splicer *sp, size_t root, size_t first, const cJSON *want)
{
    size_t from, to, len;
    char *text, err[160];
    cJSON *docs;
    int same;

    root_region(sp, root, &from, &to);
    if (!(text = apply_range(sp->s, from, to, sp->out->edits + first, sp->out->n - first, &len)))
        return unfaithful(sp, root, "the changes overlap (please report this)");
    docs = yamlio_parse(text, len, err, sizeof(err));
    same = docs && cJSON_GetArraySize(docs) == 1 && json_equal(docs->child, want);
    cJSON_Delete(docs);
    free(text);
    return same ? SP_OK : unfaithful(sp, root, "the spliced text does not read back as the result (please report this)");
}

static void splicer_init(struct splicer *sp, const struct yamltree *t, size_t doc, struct yamlsplice *out, char *why,
                         size_t whylen)
{
    memset(sp, 0, sizeof(*sp));
    sp->t = t;
    sp->s = t->text;
    sp->len = t->len;
    sp->out = out;
    sp->why = why;
    sp->whylen = whylen;
    yamlrender_style_read(t, doc, &sp->st);
}

static void truncate_edits(struct yamlsplice *s, size_t n)
{
    while (s->n > n)
        free(s->edits[--s->n].text);
}

int yamlsplice_doc(const struct yamltree *t, size_t doc, const cJSON *have, const cJSON *want, struct yamlsplice *out,
                char *why, size_t whylen)
{
    struct splicer sp;
    size_t root = t->docs[doc].root, first = out->n;
    int rc;

    if (why && whylen)
        why[0] = '\0';
    if (json_equal(have, want))
        return 0;
    if (root == YAMLTREE_NONE) {
        snprintf(why, whylen, "line %zu: the document is empty", t->docs[doc].line);
        return 1;
    }
    splicer_init(&sp, t, doc, out, why, whylen);
    rc = diff_node(&sp, root, have, want);
    if (rc == SP_REPLACE)
        rc = unfaithful(&sp, root, "the whole document changes");
    if (rc == SP_OK)
        rc = read_back(&sp, root, first, want);
    if (rc != SP_OK)
        truncate_edits(out, first);
    return rc == SP_OOM ? -1 : rc;
}

int yamlsplice_reemit(const struct yamltree *t, size_t doc, const cJSON *want, struct yamlsplice *out)
{
    struct splicer sp;
    struct buf text = BUF_INIT(SPLICE_TEXT_MAX);
    cJSON *one = cJSON_CreateArray();
    char *yaml = NULL, *p;
    size_t root = t->docs[doc].root, from, to;
    int rc = -1;

    if (root == YAMLTREE_NONE || !one || !cJSON_AddItemReferenceToArray(one, (cJSON *)want) || !(yaml = yamlio_emit(one)))
        goto done;
    splicer_init(&sp, t, doc, out, NULL, 0);
    root_region(&sp, root, &from, &to);
    if (from == node_at(&sp, root)->start && !yamltree_indent_only(sp.t, from) &&
        buf_append(&text, sp.st.eol, strlen(sp.st.eol)) < 0)
        goto done;
    for (p = yaml; *p; p++)
        if (*p == '\n' ? buf_append(&text, sp.st.eol, strlen(sp.st.eol)) < 0 : buf_append(&text, p, 1) < 0)
            goto done;
    /* The input ended without a line break after this document: so does the output. */
    if (to == sp.len && !yamltree_after_break(sp.t, to) && text.len >= strlen(sp.st.eol))
        text.len -= strlen(sp.st.eol);
    rc = add_edit(&sp, from, to, text.data, text.len) == SP_OK ? 0 : -1;
done:
    buf_free(&text);
    free(yaml);
    cJSON_Delete(one);
    return rc;
}

char *yamlsplice_apply(const char *text, size_t len, const struct yamlsplice *s, size_t *outlen)
{
    return apply_range(text, 0, len, s->edits, s->n, outlen);
}

void yamlsplice_free(struct yamlsplice *s)
{
    truncate_edits(s, 0);
    free(s->edits);
    memset(s, 0, sizeof(*s));
}
