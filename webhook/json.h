/*
 * JSON value equality for the policies' "did this change?" questions (a pod template, a ConfigMap's
 * data). cJSON_Compare is quadratic in the number of keys of an object and treats numbers within a
 * relative epsilon as equal; json_equal is linear when both objects list their keys in the same order
 * (always so for what the API server sends), O(n log n) otherwise, and compares numbers exactly.
 * And JSON printed the way a file already writes it, for `manual-gate mutate` on .json files.
 *
 * Memory: json_print returns a malloc'd string the caller frees.
 */
#ifndef MG_JSON_H
#define MG_JSON_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* 1 when a and b are the same JSON value (object key order ignored), 0 otherwise. NULL equals NULL. */
int json_equal(const cJSON *a, const cJSON *b);

/* Room for any number json_number writes. */
#define JSON_NUMBER_MAX 32
/* d as JSON (and YAML) writes it: the fewest of 15 to 17 significant digits that read back as exactly d,
 * into buf (JSON_NUMBER_MAX bytes). NULL for infinity or NaN, which JSON cannot hold. */
const char *json_number(double d, char *buf, size_t len);
/* How text (JSON) indents: its first indented line's leading tabs or spaces into indent (e.g. "    ",
 * "\t"), "" for JSON on one line; *crlf when its lines end in "\r\n". */
void json_layout(const char *text, size_t len, char *indent, size_t indentlen, int *crlf);
/* v printed with indent per level ("" prints it on one line), "key": value, lines ended by "\r\n"
 * when crlf, and a final line ending when final_eol. NULL when out of memory. */
char *json_print(const cJSON *v, const char *indent, int crlf, int final_eol);

#endif
