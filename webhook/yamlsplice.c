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
#include "yamlsplice_int.h"

const struct yamltree_node *yamlsplice_node(const struct yamlsplice_state *sp, size_t i)
{
    return &sp->t->nodes[i];
}

int yamlsplice_unfaithful(struct yamlsplice_state *sp, size_t node, const char *what)
{
    if (sp->why && sp->whylen)
        snprintf(sp->why, sp->whylen, "line %zu: %s", yamlsplice_node(sp, node)->line, what);
    return YAMLSPLICE_UNFAITHFUL;
}

int yamlsplice_add_edit(struct yamlsplice_state *sp, size_t start, size_t end, const char *text, size_t len)
{
    struct yamlsplice *o = sp->out;
    struct yamlsplice_edit *e;

    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        struct yamlsplice_edit *p = realloc(o->edits, cap * sizeof(*p));

        if (!p)
            return YAMLSPLICE_OOM;
        o->edits = p;
        o->cap = cap;
    }
    e = &o->edits[o->n];
    if (!(e->text = malloc(len + 1)))
        return YAMLSPLICE_OOM;
    memcpy(e->text, text, len);
    e->text[len] = '\0';
    e->len = len;
    e->start = start;
    e->end = end;
    o->n++;
    return YAMLSPLICE_OK;
}

/* Insert whole lines (text without its final line ending) at p, the start of a line or the input's end. */
int yamlsplice_insert_lines(struct yamlsplice_state *sp, size_t p, struct buf *text)
{
    const char *eol = sp->st.eol;
    struct buf b = BUF_INIT(YAMLSPLICE_TEXT_MAX);
    int rc;

    if (p == sp->len && p > 0 && !yamltree_is_break(sp->s[p - 1]))
        rc = buf_append(&b, eol, strlen(eol)) < 0 || buf_append(&b, text->data, text->len) < 0;
    else
        rc = buf_append(&b, text->data, text->len) < 0 || buf_append(&b, eol, strlen(eol)) < 0;
    rc = rc ? YAMLSPLICE_OOM : yamlsplice_add_edit(sp, p, p, b.data, b.len);
    buf_free(&b);
    return rc;
}

/* A node whose text may go away: no anchor in it that a later alias could name. */
int yamlsplice_removable(struct yamlsplice_state *sp, size_t node)
{
    if (yamlsplice_node(sp, node)->props & YAMLTREE_ANCHOR_BELOW)
        return yamlsplice_unfaithful(sp, node, "the value holds an anchor (&) that aliases may refer to");
    return YAMLSPLICE_OK;
}

/* A node that may be replaced by new text. */
int yamlsplice_replaceable(struct yamlsplice_state *sp, size_t node)
{
    const struct yamltree_node *n = yamlsplice_node(sp, node);

    if (n->kind == YAMLTREE_ALIAS)
        return yamlsplice_unfaithful(sp, node, "the value is an alias (*)");
    if (n->props & YAMLTREE_TAG)
        return yamlsplice_unfaithful(sp, node, "the value has a tag (!)");
    if ((n->props & YAMLTREE_FLOW) && n->count > 0)
        return yamlsplice_unfaithful(sp, node, "the value is written in flow style ([...] or {...})");
    return yamlsplice_removable(sp, node);
}



static int delete_entry(struct yamlsplice_state *sp, size_t key, size_t value)
{
    int rc;

    if ((rc = yamlsplice_removable(sp, key)) != YAMLSPLICE_OK || (rc = yamlsplice_removable(sp, value)) != YAMLSPLICE_OK)
        return rc;
    if (!yamltree_indent_only(sp->t, yamlsplice_node(sp, key)->start))
        return yamlsplice_unfaithful(sp, key, "the key to remove shares its line with a \"-\"");
    return yamlsplice_add_edit(sp, yamltree_line_start(sp->t, yamlsplice_node(sp, key)->start),
                    yamltree_next_line(sp->t, yamltree_content_end(sp->t, value)), "", 0);
}

/* The new value is a block collection; the old one is not the same kind of block at its own place. */
static int replace_by_block(struct yamlsplice_state *sp, const struct yamltree_node *k, size_t end, size_t colon, int old_inline,
                            const cJSON *want)
{
    struct buf text = BUF_INIT(YAMLSPLICE_TEXT_MAX);
    size_t col = k->column + (cJSON_IsObject(want) ? sp->st.map_step : sp->st.seq_offset);
    const char *eol = sp->st.eol;
    int rc = YAMLSPLICE_OOM;

    if (yamltree_after_break(sp->t, end) || !old_inline) {
        /* The old value takes whole lines: the block replaces everything after the ':'. */
        if (buf_append(&text, eol, strlen(eol)) < 0 || yamlrender_block(&text, want, col, &sp->st) < 0 ||
            (yamltree_after_break(sp->t, end) && buf_append(&text, eol, strlen(eol)) < 0))
            goto done;
        rc = yamlsplice_add_edit(sp, colon + 1, end, text.data, text.len);
        goto done;
    }
    /* An old one-line value: drop it and put the block on the lines after, so that a comment after the
     * value stays on the key's line. */
    if (yamlrender_block(&text, want, col, &sp->st) < 0)
        goto done;
    rc = end > colon + 1 ? yamlsplice_add_edit(sp, colon + 1, end, "", 0) : YAMLSPLICE_OK;
    if (rc == YAMLSPLICE_OK)
        rc = yamlsplice_insert_lines(sp, yamltree_next_line(sp->t, end), &text);
done:
    buf_free(&text);
    return rc;
}

/* 1 when v is a block collection on lines of its own and want is a collection of the same kind: want then
 * goes in its place, at its column. */
static int same_block(const struct yamlsplice_state *sp, const struct yamltree_node *v, const cJSON *want)
{
    if (!yamltree_indent_only(sp->t, v->start) || (v->props & YAMLTREE_FLOW))
        return 0;
    return (v->kind == YAMLTREE_MAPPING && cJSON_IsObject(want)) || (v->kind == YAMLTREE_SEQUENCE && cJSON_IsArray(want));
}

/* The value want, written on the key's line, in place of v (which ends at end). */
static int replace_inline(struct yamlsplice_state *sp, const struct yamltree_node *v, size_t colon, size_t end, int old_inline,
                          const cJSON *want, struct buf *text)
{
    /* A space after the ':' unless one is there: an empty (null) value starts right after it. */
    if (((!old_inline || v->start == colon + 1) && buf_append(text, " ", 1) < 0) ||
        yamlrender_inline(text, want, v->kind == YAMLTREE_SCALAR ? v->style : 0, &sp->st) < 0 ||
        (yamltree_after_break(sp->t, end) && buf_append(text, sp->st.eol, strlen(sp->st.eol)) < 0))
        return YAMLSPLICE_OOM;
    return yamlsplice_add_edit(sp, old_inline ? v->start : colon + 1, end, text->data, text->len);
}

static int replace_value(struct yamlsplice_state *sp, size_t key, size_t value, const cJSON *want)
{
    const struct yamltree_node *k = yamlsplice_node(sp, key), *v = yamlsplice_node(sp, value);
    struct buf text = BUF_INIT(YAMLSPLICE_TEXT_MAX);
    size_t colon = k->end, end = yamltree_content_end(sp->t, value), i;
    int old_inline = 1, rc;

    if ((rc = yamlsplice_replaceable(sp, value)) != YAMLSPLICE_OK)
        return rc;
    while (colon < sp->len && (sp->s[colon] == ' ' || sp->s[colon] == '\t'))
        colon++;
    if (colon >= sp->len || sp->s[colon] != ':' || v->start <= colon)
        return yamlsplice_unfaithful(sp, key, "the key is not followed by ':'");
    for (i = colon + 1; i < v->start; i++)
        if (yamltree_is_break(sp->s[i]))
            old_inline = 0;
    if (yamlrender_is_inline(want)) {
        rc = replace_inline(sp, v, colon, end, old_inline, want, &text);
    } else if (!old_inline && same_block(sp, v, want)) {
        /* A block in place of a block of the same kind: at its column, after its indentation. */
        rc = yamlrender_block(&text, want, v->column, &sp->st) < 0 ||
             (yamltree_after_break(sp->t, end) && buf_append(&text, sp->st.eol, strlen(sp->st.eol)) < 0);
        rc = rc ? YAMLSPLICE_OOM : yamlsplice_add_edit(sp, v->start, end, text.data + v->column, text.len - v->column);
    } else {
        rc = replace_by_block(sp, k, end, colon, old_inline, want);
    }
    buf_free(&text);
    return rc;
}

/* Keys of want that have is missing, appended to the mapping as new lines under its first key. */
static int add_entries(struct yamlsplice_state *sp, size_t map, const cJSON *have, const cJSON *want)
{
    const struct yamltree_node *m = yamlsplice_node(sp, map);
    size_t col = yamlsplice_node(sp, m->first)->column;
    struct buf text = BUF_INIT(YAMLSPLICE_TEXT_MAX);
    const cJSON *c;
    int rc = YAMLSPLICE_OK;

    for (c = want->child; c && rc == YAMLSPLICE_OK; c = c->next) {
        if (cJSON_GetObjectItemCaseSensitive(have, c->string))
            continue;
        if ((text.len && buf_append(&text, sp->st.eol, strlen(sp->st.eol)) < 0) || yamlrender_indent(&text, col) < 0 ||
            yamlrender_entry(&text, c->string, c, col, &sp->st) < 0)
            rc = YAMLSPLICE_OOM;
    }
    if (rc == YAMLSPLICE_OK && text.len)
        rc = yamlsplice_insert_lines(sp, yamltree_next_line(sp->t, yamltree_content_end(sp->t, map)), &text);
    buf_free(&text);
    return rc;
}

static int diff_mapping(struct yamlsplice_state *sp, size_t map, const cJSON *have, const cJSON *want)
{
    const cJSON *hc = have->child, *wv;
    size_t k, v;
    int rc;

    if (yamlsplice_node(sp, map)->props & YAMLTREE_MERGE)
        return yamlsplice_unfaithful(sp, map, "the mapping takes keys from a merge key (<<)");
    for (k = yamlsplice_node(sp, map)->first; k != YAMLTREE_NONE; k = yamlsplice_node(sp, v)->next, hc = hc->next) {
        v = yamlsplice_node(sp, k)->next;
        if (v == YAMLTREE_NONE || !hc || !yamlsplice_node(sp, k)->key || strcmp(yamlsplice_node(sp, k)->key, hc->string) != 0)
            return yamlsplice_unfaithful(sp, k, "the keys read differ from the keys written");
        wv = cJSON_GetObjectItemCaseSensitive(want, hc->string);
        if (!wv) {
            rc = delete_entry(sp, k, v);
        } else if (json_equal(hc, wv)) {
            rc = YAMLSPLICE_OK;
        } else if ((rc = yamlsplice_diff_node(sp, v, hc, wv)) == YAMLSPLICE_REPLACE) {
            rc = replace_value(sp, k, v, wv);
        }
        if (rc != YAMLSPLICE_OK)
            return rc;
    }
    if (hc)
        return yamlsplice_unfaithful(sp, map, "the keys read differ from the keys written");
    return add_entries(sp, map, have, want);
}

int yamlsplice_diff_node(struct yamlsplice_state *sp, size_t node, const cJSON *have, const cJSON *want)
{
    const struct yamltree_node *n = yamlsplice_node(sp, node);
    int objects = cJSON_IsObject(have) && cJSON_IsObject(want), arrays = cJSON_IsArray(have) && cJSON_IsArray(want);

    if (n->kind == YAMLTREE_ALIAS)
        return yamlsplice_unfaithful(sp, node, "the value to change is an alias (*)");
    if (n->props & YAMLTREE_ANCHOR)
        return yamlsplice_unfaithful(sp, node, "the value to change has an anchor (&) that aliases may refer to");
    if (n->props & YAMLTREE_TAG)
        return yamlsplice_unfaithful(sp, node, "the value to change has a tag (!)");
    if ((objects || arrays) && want->child) {
        if (n->props & YAMLTREE_FLOW)
            return n->count ? yamlsplice_unfaithful(sp, node, "the value to change is written in flow style ([...] or {...})")
                            : YAMLSPLICE_REPLACE;
        if (objects && n->kind == YAMLTREE_MAPPING)
            return diff_mapping(sp, node, have, want);
        if (arrays && n->kind == YAMLTREE_SEQUENCE)
            return yamlsplice_diff_sequence(sp, node, have, want);
    }
    return YAMLSPLICE_REPLACE;
}

/* Apply edits [e, e + n) to text[from, to): all must lie inside, in order. */
static char *apply_range(const char *text, size_t from, size_t to, const struct yamlsplice_edit *e, size_t n,
                         size_t *outlen)
{
    struct buf b = BUF_INIT(YAMLSPLICE_TEXT_MAX);
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

/* The line at p when it holds only spaces and tabs, and maybe then a comment: the start of the next line
 * (or the end of the text). p itself when the line holds anything else. */
static size_t trailing_line_end(const struct yamlsplice_state *sp, size_t p)
{
    size_t e = p;

    while (e < sp->len && (sp->s[e] == ' ' || sp->s[e] == '\t'))
        e++;
    if (e < sp->len && sp->s[e] == '#')
        while (e < sp->len && !yamltree_is_break(sp->s[e]))
            e++;
    if (e == sp->len)
        return e;
    if (!yamltree_is_break(sp->s[e]))
        return p;
    return yamltree_past_break(sp->t, e);
}

/* From p, a line start, past the blank and comment lines: the start of the next line with anything
 * else (a document marker, the next document), or the end of the text. */
static size_t past_trailing_lines(const struct yamlsplice_state *sp, size_t p)
{
    size_t next;

    while (p < sp->len && (next = trailing_line_end(sp, p)) != p)
        p = next;
    return p;
}

/* The bytes a document's root takes: from the start of its first line (or the root itself when
 * something such as "--- " comes before it) to the start of the line after it, and the blank and comment
 * lines after that. Those count as the document's text: a change must read back with them around it (a
 * line of a space and a tab parses after a plain scalar, not after "{}"), and a document printed anew
 * writes them again (yamlsplice_reemit). */
static void root_region(const struct yamlsplice_state *sp, size_t root, size_t *from, size_t *to)
{
    const struct yamltree_node *r = yamlsplice_node(sp, root);

    *from = yamltree_indent_only(sp->t, r->start) ? yamltree_line_start(sp->t, r->start) : r->start;
    *to = past_trailing_lines(sp, yamltree_next_line(sp->t, r->end));
}

/* The blank and comment lines from p to to, written again after a document printed anew: a comment from
 * its '#', a blank line empty, so no tab that followed the old text is left where the new text ends. */
static int append_trailing_lines(const struct yamlsplice_state *sp, struct buf *text, size_t p, size_t to)
{
    size_t next, c, e;

    for (; p < to; p = next) {
        next = trailing_line_end(sp, p);
        for (c = p; c < next && sp->s[c] != '#'; c++)
            ;
        for (e = c; e < next && !yamltree_is_break(sp->s[e]); e++)
            ;
        if ((c < next && buf_append(text, sp->s + c, e - c) < 0) ||
            buf_append(text, sp->st.eol, strlen(sp->st.eol)) < 0)
            return -1;
    }
    return 0;
}

/* Read the document back with the edits made since first: it must read as want. */
static int read_back(struct yamlsplice_state *sp, size_t root, size_t first, const cJSON *want)
{
    size_t from, to, len;
    char *text, err[160];
    cJSON *docs;
    int same;

    root_region(sp, root, &from, &to);
    if (!(text = apply_range(sp->s, from, to, sp->out->edits + first, sp->out->n - first, &len)))
        return yamlsplice_unfaithful(sp, root, "the changes overlap (please report this)");
    docs = yamlio_parse(text, len, err, sizeof(err));
    same = docs && cJSON_GetArraySize(docs) == 1 && json_equal(docs->child, want);
    cJSON_Delete(docs);
    free(text);
    return same ? YAMLSPLICE_OK : yamlsplice_unfaithful(sp, root, "the spliced text does not read back as the result (please report this)");
}

static void splicer_init(struct yamlsplice_state *sp, const struct yamltree *t, size_t doc, struct yamlsplice *out, char *why,
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
    struct yamlsplice_state sp;
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
    rc = yamlsplice_diff_node(&sp, root, have, want);
    if (rc == YAMLSPLICE_REPLACE)
        rc = yamlsplice_unfaithful(&sp, root, "the whole document changes");
    if (rc == YAMLSPLICE_OK)
        rc = read_back(&sp, root, first, want);
    if (rc != YAMLSPLICE_OK)
        truncate_edits(out, first);
    return rc == YAMLSPLICE_OOM ? -1 : rc;
}

int yamlsplice_reemit(const struct yamltree *t, size_t doc, const cJSON *want, struct yamlsplice *out)
{
    struct yamlsplice_state sp;
    struct buf text = BUF_INIT(YAMLSPLICE_TEXT_MAX);
    cJSON *one = cJSON_CreateArray();
    char *yaml = NULL, *p;
    size_t root = t->docs[doc].root, from, to;
    int rc = -1;

    if (root == YAMLTREE_NONE || !one || !cJSON_AddItemReferenceToArray(one, (cJSON *)want) || !(yaml = yamlio_emit(one)))
        goto done;
    splicer_init(&sp, t, doc, out, NULL, 0);
    root_region(&sp, root, &from, &to);
    if (from == yamlsplice_node(&sp, root)->start && !yamltree_indent_only(sp.t, from) &&
        buf_append(&text, sp.st.eol, strlen(sp.st.eol)) < 0)
        goto done;
    for (p = yaml; *p; p++)
        if (*p == '\n' ? buf_append(&text, sp.st.eol, strlen(sp.st.eol)) < 0 : buf_append(&text, p, 1) < 0)
            goto done;
    if (append_trailing_lines(&sp, &text, yamltree_next_line(t, yamlsplice_node(&sp, root)->end), to) < 0)
        goto done;
    /* The input ended without a line break after this document: so does the output. */
    if (to == sp.len && !yamltree_after_break(sp.t, to) && text.len >= strlen(sp.st.eol))
        text.len -= strlen(sp.st.eol);
    rc = yamlsplice_add_edit(&sp, from, to, text.data, text.len) == YAMLSPLICE_OK ? 0 : -1;
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
