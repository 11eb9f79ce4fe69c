/*
 * Text for new YAML nodes in the style of the document they go into: its indentation of nested
 * mappings and sequences, how far an item's content sits from its "-", its quote character (and
 * whether it quotes every string), its line ending. yamlsplice.c writes what a patch adds or replaces
 * with these; everything else of the document keeps its own bytes.
 *
 * Rendered text has no indentation before its first line and no line ending after its last; the
 * following lines carry their full indentation. Memory: text is appended to the caller's struct buf.
 */
#ifndef MG_YAMLRENDER_H
#define MG_YAMLRENDER_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "yamltree.h"

struct yamlrender_style {
    size_t map_step;    /* columns a mapping nested under a key is indented by */
    size_t seq_offset;  /* columns a sequence under a key is indented by (0: its "-" under the key) */
    size_t item_offset; /* columns from an item's "-" to its content */
    char quote;         /* '"' or '\'' for strings that need quotes */
    int quote_all;      /* the document quotes most of its strings: new strings are quoted too */
    int quote_keys;     /* the document quotes most of its keys: new keys are quoted too */
    const char *eol;    /* "\n" or "\r\n" */
};

/* The style of document doc of t, from the nodes written in it (defaults where it shows none: 2, 2, 2,
 * double quotes, the input's line ending). */
void yamlrender_style_read(const struct yamltree *t, size_t doc, struct yamlrender_style *st);
/* 1 when v is written on one line: a scalar, or an empty mapping or sequence ({} and []). */
int yamlrender_is_inline(const cJSON *v);
/* Append v as a one-line value. like is the yaml_scalar_style_t of the scalar it replaces (its quotes
 * are kept for a string), 0 for none. 0, or -1 out of memory. */
int yamlrender_inline(struct buf *b, const cJSON *v, int like, const struct yamlrender_style *st);
/* Append the non-empty mapping or sequence v as a block whose entries (or "-") sit at column col. */
int yamlrender_block(struct buf *b, const cJSON *v, size_t col, const struct yamlrender_style *st);
/* Append "key: value" for a key at column col (a block value goes on the lines after it). */
int yamlrender_entry(struct buf *b, const char *key, const cJSON *v, size_t col, const struct yamlrender_style *st);
/* Append "- item" for a "-" at column col whose content sits item_offset columns further. */
int yamlrender_item(struct buf *b, const cJSON *v, size_t col, size_t item_offset, const struct yamlrender_style *st);
/* Append the spaces of an indentation. */
int yamlrender_indent(struct buf *b, size_t col);

#endif
