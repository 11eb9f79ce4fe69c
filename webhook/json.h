/*
 * JSON value equality for the policies' "did this change?" questions (a pod template, a ConfigMap's
 * data). cJSON_Compare is quadratic in the number of keys of an object and treats numbers within a
 * relative epsilon as equal; json_equal is linear when both objects list their keys in the same order
 * (always so for what the API server sends), O(n log n) otherwise, and compares numbers exactly.
 */
#ifndef MG_JSON_H
#define MG_JSON_H

#include <cjson/cJSON.h>

/* 1 when a and b are the same JSON value (object key order ignored), 0 otherwise. NULL equals NULL. */
int json_equal(const cJSON *a, const cJSON *b);

#endif
