/*
 * What a YAML scalar means and how to write one: the resolution of plain scalars as kubectl's YAML
 * reader does it (sigs.k8s.io/yaml on go-yaml v2, YAML 1.1 booleans and octals included), and the
 * quoting rules that make a string read back as that same string. The loader, the emitter and the
 * splicer that writes new nodes into a document all share these, so they cannot disagree.
 *
 * Memory: nothing here allocates except through the caller's struct buf.
 */
#ifndef MG_YAMLSCALAR_H
#define MG_YAMLSCALAR_H

#include "buf.h"

enum yamlscalar_plain { YAMLSCALAR_STRING, YAMLSCALAR_NULL, YAMLSCALAR_TRUE, YAMLSCALAR_FALSE, YAMLSCALAR_NUMBER,
                  YAMLSCALAR_NOT_JSON };

/* What an unquoted, untagged scalar with this text means; *num (when not NULL) gets a number's value. */
enum yamlscalar_plain yamlscalar_plain_kind(const char *s, double *num);
/* 1 when s, written unquoted, would read as something other than the string s to some reader: a
 * null, boolean or number, a YAML 1.1 timestamp, or the merge key "<<". */
int yamlscalar_needs_quotes(const char *s);
/* 1 when s can be written as a plain scalar in block context and reads back as the string s: not
 * yamlscalar_needs_quotes, no indicator at its start, no ": " or " #", no control or line-break
 * characters, no surrounding spaces. */
int yamlscalar_plain_safe(const char *s);
/* Append s as a double-quoted scalar (escapes for '"', '\', control characters and the Unicode line
 * breaks YAML 1.1 folds). 0, or -1 as buf_append. */
int yamlscalar_quote_double(struct buf *b, const char *s);
/* Append s single-quoted when that form can hold it (no control or line-break characters), else
 * double-quoted. 0, or -1 as buf_append. */
int yamlscalar_quote_single(struct buf *b, const char *s);

#endif
