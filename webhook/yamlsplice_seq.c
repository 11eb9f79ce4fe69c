/*
 * Splicing a block sequence: its items are aligned with the wanted items by their longest common run of
 * equal items, so unchanged items keep their bytes, and a changed mapping item is matched to its old self
 * by its "name" (Kubernetes lists are lists of named things): an added hook shows as an added item, a
 * hook that gained a key as that key.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "yamlsplice_int.h"

/* Cells of one sequence alignment table: ample for lists of hooks or containers (items squared), a
 * bound on the memory a hostile list could take. */
#define ALIGN_CELLS_MAX ((size_t)1 << 20)
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
static int seq_items(struct yamlsplice_state *sp, struct seq *q, const cJSON *have, const cJSON *want)
{
    const struct yamltree_node *n = yamlsplice_node(sp, q->node);
    const cJSON *c;
    size_t i, c_node, p;

    q->m = n->count;
    q->k = (size_t)cJSON_GetArraySize(want);
    if (q->m != (size_t)cJSON_GetArraySize(have))
        return yamlsplice_unfaithful(sp, q->node, "the items read differ from the items written");
    if ((q->m + 1) * (q->k + 1) > ALIGN_CELLS_MAX)
        return yamlsplice_unfaithful(sp, q->node, "the sequence is too long to align");
    q->items = calloc(q->m + 1, sizeof(*q->items));
    q->dash = calloc(q->m + 1, sizeof(*q->dash));
    q->hv = calloc(q->m + 1, sizeof(*q->hv));
    q->wv = calloc(q->k + 1, sizeof(*q->wv));
    q->lcs = calloc((q->m + 1) * (q->k + 1), sizeof(*q->lcs));
    q->equal = calloc(q->m * q->k + 1, 1);
    if (!q->items || !q->dash || !q->hv || !q->wv || !q->lcs || !q->equal)
        return YAMLSPLICE_OOM;
    for (i = 0, c = want->child; c; c = c->next)
        q->wv[i++] = c;
    for (i = 0, c = have->child, c_node = n->first; c_node != YAMLTREE_NONE; c_node = yamlsplice_node(sp, c_node)->next, i++) {
        for (p = yamlsplice_node(sp, c_node)->start; p > 0 && (sp->s[p - 1] == ' ' || sp->s[p - 1] == '\t' ||
                                                       yamltree_is_break(sp->s[p - 1])); p--)
            ;
        if (p == 0 || sp->s[p - 1] != '-' || !yamltree_indent_only(sp->t, p - 1))
            return yamlsplice_unfaithful(sp, c_node, "an item's \"-\" is not alone at the start of its line");
        q->items[i] = c_node;
        q->dash[i] = p - 1;
        q->hv[i] = c;
        c = c->next;
    }
    c_node = n->first;
    q->item_offset = yamlsplice_node(sp, c_node)->kind == YAMLTREE_MAPPING && yamlsplice_node(sp, c_node)->line == n->line
                         ? yamlsplice_node(sp, c_node)->column - n->column : sp->st.item_offset;
    return YAMLSPLICE_OK;
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
static size_t seq_insert_point(const struct yamlsplice_state *sp, const struct seq *q, size_t c)
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

static int seq_delete(struct yamlsplice_state *sp, const struct seq *q, size_t i)
{
    int rc = yamlsplice_removable(sp, q->items[i]);

    return rc != YAMLSPLICE_OK ? rc
                       : yamlsplice_add_edit(sp, yamltree_line_start(sp->t, q->dash[i]),
                                  yamltree_next_line(sp->t, yamltree_content_end(sp->t, q->items[i])), "", 0);
}

static int seq_insert(struct yamlsplice_state *sp, const struct seq *q, size_t c, const cJSON *item)
{
    struct buf text = BUF_INIT(YAMLSPLICE_TEXT_MAX);
    size_t col = yamlsplice_node(sp, q->node)->column;
    int rc = yamlrender_indent(&text, col) < 0 || yamlrender_item(&text, item, col, q->item_offset, &sp->st) < 0
                 ? YAMLSPLICE_OOM : yamlsplice_insert_lines(sp, seq_insert_point(sp, q, c), &text);

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
static int seq_gap(struct yamlsplice_state *sp, const struct seq *q, size_t a, size_t b, size_t c, size_t e)
{
    size_t j, x, p = a;
    int rc = YAMLSPLICE_OK;

    for (j = c; j < e && rc == YAMLSPLICE_OK; j++) {
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
        for (; p < x && rc == YAMLSPLICE_OK; p++)
            rc = seq_delete(sp, q, p);
        if (rc == YAMLSPLICE_OK && (rc = yamlsplice_diff_node(sp, q->items[x], q->hv[x], q->wv[j])) == YAMLSPLICE_REPLACE &&
            (rc = seq_delete(sp, q, x)) == YAMLSPLICE_OK)
            rc = seq_insert(sp, q, x + 1, q->wv[j]);
        p = x + 1;
    }
    for (; p < b && rc == YAMLSPLICE_OK; p++)
        rc = seq_delete(sp, q, p);
    return rc;
}

int yamlsplice_diff_sequence(struct yamlsplice_state *sp, size_t node, const cJSON *have, const cJSON *want)
{
    struct seq q;
    size_t i = 0, j = 0, a, c, w;
    int rc;

    memset(&q, 0, sizeof(q));
    q.node = node;
    if ((rc = seq_items(sp, &q, have, want)) != YAMLSPLICE_OK)
        goto done;
    seq_align(&q);
    w = q.k + 1;
    while (rc == YAMLSPLICE_OK && (i < q.m || j < q.k)) {
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
