/*
 * The splicer's insides, shared by yamlsplice.c (values and mappings, the entry points) and
 * yamlsplice_seq.c (sequences): the state of one splice and the edits it collects. Not for other modules.
 */
#ifndef MG_YAMLSPLICE_INT_H
#define MG_YAMLSPLICE_INT_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "yamlrender.h"
#include "yamlsplice.h"
#include "yamltree.h"

/* New text for one edit; the input itself is at most 64 MiB. */
#define YAMLSPLICE_TEXT_MAX ((size_t)256 << 20)

/* What a step of the splice answers. */
enum { YAMLSPLICE_OOM = -1, YAMLSPLICE_OK = 0, YAMLSPLICE_UNFAITHFUL = 1, YAMLSPLICE_REPLACE = 2 };

struct yamlsplice_state {
    const struct yamltree *t;
    const char *s;
    size_t len;
    struct yamlrender_style st;
    struct yamlsplice *out;
    char *why;
    size_t whylen;
};

/* Node i of the document's tree. */
const struct yamltree_node *yamlsplice_node(const struct yamlsplice_state *sp, size_t i);
/* Refuse the splice at node with the reason what: YAMLSPLICE_UNFAITHFUL. */
int yamlsplice_unfaithful(struct yamlsplice_state *sp, size_t node, const char *what);
/* Replace input bytes [start, end) with len bytes of text: YAMLSPLICE_OK or YAMLSPLICE_OOM. */
int yamlsplice_add_edit(struct yamlsplice_state *sp, size_t start, size_t end, const char *text, size_t len);
/* Insert whole lines (text without its final line ending) at p, the start of a line or the input's end. */
int yamlsplice_insert_lines(struct yamlsplice_state *sp, size_t p, struct buf *text);
/* YAMLSPLICE_OK when node's text may go away (no anchor in it), else YAMLSPLICE_UNFAITHFUL. */
int yamlsplice_removable(struct yamlsplice_state *sp, size_t node);
/* YAMLSPLICE_OK when node may be replaced by new text (no alias, tag, flow collection, anchor), else YAMLSPLICE_UNFAITHFUL. */
int yamlsplice_replaceable(struct yamlsplice_state *sp, size_t node);
/* Turn the difference between have and want at node into edits (any kind of node). */
int yamlsplice_diff_node(struct yamlsplice_state *sp, size_t node, const cJSON *have, const cJSON *want);
/* The same for a block sequence (yamlsplice_seq.c). */
int yamlsplice_diff_sequence(struct yamlsplice_state *sp, size_t node, const cJSON *have, const cJSON *want);

#endif
