/*
 * JSON Patch (RFC 6902) building for the mutating policy, with RFC 6901 pointer escaping, and a strict
 * applier with the API server's semantics (add needs the parent, replace/remove need the target) that
 * the offline `mutate` command and the tests use to apply what the policy returns.
 *
 * Memory: the ops array is a cJSON array the caller owns (decision_patch takes it over). patch_add and
 * patch_replace take ownership of value, also when they fail (it is freed then). patch_apply changes
 * doc in place and never takes ownership of ops.
 */
#ifndef MG_PATCH_H
#define MG_PATCH_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Append "/" and token escaped per RFC 6901 ("~" -> "~0", "/" -> "~1") to the pointer in buf.
 * 0, or -1 (buf unchanged) when it does not fit. */
int patch_path_append(char *buf, size_t len, const char *token) __attribute__((warn_unused_result));
/* Build a pointer from tokens, e.g. {"spec", "analysis", "threshold"} -> "/spec/analysis/threshold". */
int patch_path(char *buf, size_t len, const char *const *tokens, size_t n) __attribute__((warn_unused_result));

/* Append {"op":"add","path":path,"value":value} to ops. 0 or -1. */
int patch_add(cJSON *ops, const char *path, cJSON *value) __attribute__((warn_unused_result));
/* Append {"op":"replace","path":path,"value":value} to ops. 0 or -1. */
int patch_replace(cJSON *ops, const char *path, cJSON *value) __attribute__((warn_unused_result));
/* Append {"op":"remove","path":path} to ops. 0 or -1. */
int patch_remove(cJSON *ops, const char *path) __attribute__((warn_unused_result));

/* Append the one op that sets doc's value at tokens (keys of nested objects) to value: a replace when it
 * exists (not null), an add otherwise, where missing or null objects on the way are added with value inside (an
 * add needs its parent). Takes ownership of value. 0; -1 when a node on the way is not an object or out
 * of memory (ops is then unchanged). */
int patch_set(cJSON *ops, const cJSON *doc, const char *const *tokens, size_t n, cJSON *value) __attribute__((warn_unused_result));

/* Apply ops (add, replace, remove) to doc in order, strictly. -1 with a reason in err when an op
 * does not apply; doc may then hold the ops before it. */
int patch_apply(cJSON *doc, const cJSON *ops, char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
