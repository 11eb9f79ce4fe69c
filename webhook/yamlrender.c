/*
 * New YAML text in a document's own style. The style is read from the document: the indentation most
 * of its nested mappings, sequences and items use, and how it writes strings. New scalars are plain
 * when that reads back as the same value, otherwise quoted (yamlscalar.c decides); collections are
 * written in block style, and empty ones as {} and [].
 */
#include "yamlrender.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "json.h"
#include "yamlscalar.h"

/* Indentations above this are not a style worth copying. */
#define STEP_MAX 16

struct tally {
    size_t step[STEP_MAX + 1], seq[STEP_MAX + 1], item[STEP_MAX + 1];
};

/* The most frequent value of a tally, fallback when it counted nothing. */
static size_t most(const size_t *counts, size_t fallback)
{
    size_t i, best = fallback, n = 0;

    for (i = 0; i <= STEP_MAX; i++)
        if (counts[i] > n) {
            n = counts[i];
            best = i;
        }
    return best;
}

/* A block sequence: how far its first item's mapping sits from the "-". */
static void count_sequence(const struct yamltree *t, const struct yamltree_node *n, struct tally *ty)
{
    const struct yamltree_node *v = &t->nodes[n->first];

    if (v->kind == YAMLTREE_MAPPING && !(v->props & YAMLTREE_FLOW) && v->line == n->line && v->column > n->column &&
        v->column - n->column <= STEP_MAX)
        ty->item[v->column - n->column]++;
}

/* A block mapping: how far the block values below its keys are indented. */
static void count_mapping(const struct yamltree *t, const struct yamltree_node *n, struct tally *ty)
{
    const struct yamltree_node *k, *v;
    size_t c;

    for (c = n->first; c != YAMLTREE_NONE && t->nodes[c].next != YAMLTREE_NONE; c = t->nodes[t->nodes[c].next].next) {
        k = &t->nodes[c];
        v = &t->nodes[k->next];
        if ((v->props & YAMLTREE_FLOW) || v->line <= k->line || v->column < k->column ||
            v->column - k->column > STEP_MAX)
            continue;
        if (v->kind == YAMLTREE_MAPPING && v->column > k->column)
            ty->step[v->column - k->column]++;
        else if (v->kind == YAMLTREE_SEQUENCE)
            ty->seq[v->column - k->column]++;
    }
}

static void count_node(const struct yamltree *t, size_t node, struct tally *ty)
{
    const struct yamltree_node *n = &t->nodes[node];
    size_t c;

    if (n->kind == YAMLTREE_SEQUENCE && !(n->props & YAMLTREE_FLOW) && n->first != YAMLTREE_NONE)
        count_sequence(t, n, ty);
    if (n->kind == YAMLTREE_MAPPING && !(n->props & YAMLTREE_FLOW))
        count_mapping(t, n, ty);
    for (c = n->first; c != YAMLTREE_NONE; c = t->nodes[c].next)
        count_node(t, c, ty);
}

void yamlrender_style_read(const struct yamltree *t, size_t doc, struct yamlrender_style *st)
{
    const struct yamltree_doc *d = &t->docs[doc];
    struct tally ty;

    memset(&ty, 0, sizeof(ty));
    if (d->root != YAMLTREE_NONE)
        count_node(t, d->root, &ty);
    st->map_step = most(ty.step, 2);
    st->seq_offset = most(ty.seq, st->map_step);
    st->item_offset = most(ty.item, 2);
    if (st->item_offset < 2)
        st->item_offset = 2;
    st->quote = d->single_quoted > d->double_quoted ? '\'' : '"';
    st->quote_all = d->single_quoted + d->double_quoted > d->plain_strings;
    st->quote_keys = d->quoted_keys > d->plain_keys;
    st->eol = t->crlf ? "\r\n" : "\n";
}

int yamlrender_is_inline(const cJSON *v)
{
    return !(cJSON_IsObject(v) || cJSON_IsArray(v)) || v->child == NULL;
}

int yamlrender_indent(struct buf *b, size_t col)
{
    static const char spaces[] = "                                ";

    while (col > 0) {
        size_t n = col < sizeof(spaces) - 1 ? col : sizeof(spaces) - 1;

        if (buf_append(b, spaces, n) < 0)
            return -1;
        col -= n;
    }
    return 0;
}

static int quoted(struct buf *b, const char *s, char quote)
{
    return quote == '\'' ? yamlscalar_quote_single(b, s) : yamlscalar_quote_double(b, s);
}

static int render_string(struct buf *b, const char *s, int like, const struct yamlrender_style *st)
{
    if (like == YAML_SINGLE_QUOTED_SCALAR_STYLE || like == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
        return quoted(b, s, like == YAML_SINGLE_QUOTED_SCALAR_STYLE ? '\'' : '"');
    if (like != YAML_PLAIN_SCALAR_STYLE && st->quote_all)
        return quoted(b, s, st->quote);
    return yamlscalar_plain_safe(s) ? buf_append(b, s, strlen(s)) : quoted(b, s, st->quote);
}

int yamlrender_inline(struct buf *b, const cJSON *v, int like, const struct yamlrender_style *st)
{
    char num[JSON_NUMBER_MAX];

    if (cJSON_IsString(v))
        return render_string(b, v->valuestring, like, st);
    if (cJSON_IsObject(v))
        return buf_append(b, "{}", 2);
    if (cJSON_IsArray(v))
        return buf_append(b, "[]", 2);
    if (cJSON_IsBool(v))
        return cJSON_IsTrue(v) ? buf_append(b, "true", 4) : buf_append(b, "false", 5);
    if (cJSON_IsNumber(v))
        return json_number(v->valuedouble, num, sizeof(num)) ? buf_append(b, num, strlen(num)) : -1;
    return buf_append(b, "null", 4);
}

static int render_key(struct buf *b, const char *key, const struct yamlrender_style *st)
{
    return yamlscalar_plain_safe(key) && !st->quote_keys ? buf_append(b, key, strlen(key)) : quoted(b, key, st->quote);
}

int yamlrender_entry(struct buf *b, const char *key, const cJSON *v, size_t col, const struct yamlrender_style *st)
{
    if (render_key(b, key, st) < 0 || buf_append(b, ":", 1) < 0)
        return -1;
    if (yamlrender_is_inline(v))
        return buf_append(b, " ", 1) < 0 ? -1 : yamlrender_inline(b, v, 0, st);
    if (buf_append(b, st->eol, strlen(st->eol)) < 0)
        return -1;
    return yamlrender_block(b, v, col + (cJSON_IsObject(v) ? st->map_step : st->seq_offset), st);
}

int yamlrender_item(struct buf *b, const cJSON *v, size_t col, size_t item_offset, const struct yamlrender_style *st)
{
    const cJSON *c;

    if (item_offset < 2)
        item_offset = 2;
    if (buf_append(b, "-", 1) < 0)
        return -1;
    if (yamlrender_is_inline(v))
        return buf_append(b, " ", 1) < 0 ? -1 : yamlrender_inline(b, v, 0, st);
    if (cJSON_IsArray(v))
        return buf_append(b, st->eol, strlen(st->eol)) < 0 ? -1 : yamlrender_block(b, v, col + item_offset, st);
    /* A mapping: its first entry on the "-" line, the others under it. */
    for (c = v->child; c; c = c->next) {
        if (c == v->child ? yamlrender_indent(b, item_offset - 1) < 0
                          : buf_append(b, st->eol, strlen(st->eol)) < 0 || yamlrender_indent(b, col + item_offset) < 0)
            return -1;
        if (yamlrender_entry(b, c->string, c, col + item_offset, st) < 0)
            return -1;
    }
    return 0;
}

int yamlrender_block(struct buf *b, const cJSON *v, size_t col, const struct yamlrender_style *st)
{
    const cJSON *c;

    for (c = v->child; c; c = c->next) {
        if (c != v->child && buf_append(b, st->eol, strlen(st->eol)) < 0)
            return -1;
        if (yamlrender_indent(b, col) < 0)
            return -1;
        if (cJSON_IsObject(v) ? yamlrender_entry(b, c->string, c, col, st) < 0
                              : yamlrender_item(b, c, col, st->item_offset, st) < 0)
            return -1;
    }
    return 0;
}
