/*
 * The parser for request bodies: strict JSON (RFC 8259, but raw control bytes inside strings are kept,
 * as cJSON keeps them) into the same cJSON tree cJSON_ParseWithLength builds (same node types, values,
 * key order, duplicate keys kept, a list's first node's prev pointing at its last), so every cJSON
 * accessor works on it. It exists for speed and for what it notices on the way:
 * one pass, no literal compares per value, strings copied in one piece when they hold no escape, and
 * the checks the policies need (a number a double cannot hold exactly, a NUL inside a string, too many
 * values) made while parsing instead of in passes of their own.
 *
 * Memory: every node and string comes from cJSON_malloc, so the caller frees the tree with cJSON_Delete,
 * and inside a request (arena_begin) it all lives in the request's region.
 */
#ifndef MG_JSONPARSE_H
#define MG_JSONPARSE_H

#include <stddef.h>
#include <cjson/cJSON.h>

enum json_parse_error {
    JSON_PARSE_OK,
    JSON_PARSE_INVALID,  /* not one JSON value, or bytes after it */
    JSON_PARSE_TOO_DEEP, /* nested deeper than CJSON_NESTING_LIMIT, where cJSON stops too */
    JSON_PARSE_TOO_MANY, /* more values than the caller allows */
    JSON_PARSE_NOMEM,
};

struct json_parse_status {
    enum json_parse_error error;
    size_t offset; /* on error: the byte where parsing stopped */
    /* 1 when the tree does not say exactly what the text says, so that a comparison of two values may
     * not be trusted:
     * - an integer of magnitude 2^53 or more (Go keeps it as an int64, exactly; here 9007199254740993
     *   reads as the double of 9007199254740992), or a number beyond a double's range (1e400);
     * - a NUL in a string, raw or "\u0000" (a C string ends there).
     * Other numbers reach a webhook as Go printed a float64, in its shortest form, which reads back to
     * the same double: two such numbers differ exactly when their doubles do. */
    int lossy;
};

/* The tree of text[0, len), or NULL with st->error set. max_values bounds the nodes built (0: no
 * bound). Whitespace around the value is allowed, nothing else (no byte order mark: RFC 8259 8.1). */
cJSON *json_parse(const char *text, size_t len, size_t max_values, struct json_parse_status *st);

/* A short English name of an error, for messages. */
const char *json_parse_error_text(enum json_parse_error e);

#endif
