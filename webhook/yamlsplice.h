/*
 * Change a YAML document by splicing new text into its original bytes instead of printing it anew:
 * what `manual-gate mutate` does to a GitOps repository's files. Given what a document reads as now
 * and what it should read as (after a JSON Patch), only the nodes that differ are rewritten: a value
 * replaced, a key added to or removed from a mapping, an item added to or removed from a sequence
 * (unchanged items keep their bytes, a changed mapping item is changed key by key). Everything else
 * (other documents, comments, quotes, anchors, key order, line endings) stays byte for byte. New text
 * follows the document's style (yamlrender.c).
 *
 * A change that cannot be placed faithfully (inside a flow collection, at or around an anchor, alias,
 * tag or merge key) is refused with the reason; the caller then prints that document anew with
 * yamlsplice_reemit. Every splice is checked by reading the document back: it reads as `want` or is
 * refused.
 *
 * Memory: a struct yamlsplice owns its edits and their texts; yamlsplice_free releases them. The text
 * yamlsplice_apply returns is the caller's to free.
 */
#ifndef MG_YAMLSPLICE_H
#define MG_YAMLSPLICE_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "yamltree.h"

/* Replace bytes [start, end) of the input by text (start == end: insert). */
struct yamlsplice_edit {
    size_t start, end;
    char *text;
    size_t len;
};

/* Edits in input order, not overlapping. A zeroed struct is empty. */
struct yamlsplice {
    struct yamlsplice_edit *edits;
    size_t n, cap;
};

/* Append to out the edits that make document doc of t read as want, where it reads as have (both as
 * yamlio.c reads them). 0 done (nothing appended when have equals want); 1 a change cannot be placed
 * faithfully: why names the node and the reason, and nothing is appended; -1 out of memory. */
int yamlsplice_doc(const struct yamltree *t, size_t doc, const cJSON *have, const cJSON *want, struct yamlsplice *out,
                char *why, size_t whylen);
/* Append the edit that prints document doc anew as want (block style, the input's line ending); its
 * comments are lost, the other documents keep their bytes. 0, or -1. */
int yamlsplice_reemit(const struct yamltree *t, size_t doc, const cJSON *want, struct yamlsplice *out);
/* The input with the edits made, NUL-terminated, its length in *outlen. NULL when out of memory or
 * the edits are out of order. */
char *yamlsplice_apply(const char *text, size_t len, const struct yamlsplice *s, size_t *outlen);
/* Release the edits; s is empty again. */
void yamlsplice_free(struct yamlsplice *s);

#endif
