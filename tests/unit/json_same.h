/*
 * Test helper: 1 when two cJSON trees are the same node for node: types, keys and strings byte for byte,
 * numbers bit for bit (-0 is not 0), valueint, key order and duplicates, and the list links cJSON relies
 * on to append (a list's first node's prev is its last). For the parser tests and the review fuzz target,
 * which hold json_parse to what cJSON_ParseWithLength builds.
 */
#ifndef MG_TEST_JSON_SAME_H
#define MG_TEST_JSON_SAME_H

#include <string.h>

#include <cjson/cJSON.h>

static inline int json_same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static inline int json_same_tree(const cJSON *a, const cJSON *b)
{
    const cJSON *x, *y, *last = NULL;

    if (!a || !b)
        return !a && !b;
    if (a->type != b->type || !json_same_str(a->string, b->string) || !json_same_str(a->valuestring, b->valuestring) ||
        a->valueint != b->valueint || memcmp(&a->valuedouble, &b->valuedouble, sizeof(double)) != 0)
        return 0;
    for (x = a->child, y = b->child; x && y; x = x->next, y = y->next) {
        if (x != a->child && x->prev != last)
            return 0;
        if (!json_same_tree(x, y))
            return 0;
        last = x;
    }
    if (x || y)
        return 0;
    return !a->child || a->child->prev == last;
}

#endif
