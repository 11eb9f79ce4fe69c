/*
 * The webhooks of a gated Canary, for the mutating policy (mutate_canary.c): which loadtester holds its
 * gates, and the completed list (gate check, closes after it, rollback, and the two post-rollout hooks
 * that close both gates when a release ends), or the removal of what manual-gate added.
 *
 * Memory: both functions return a new cJSON array the caller owns; warnings and denials go into the
 * decision, which owns them.
 */
#ifndef MG_MUTATE_HOOKS_H
#define MG_MUTATE_HOOKS_H

#include <cjson/cJSON.h>

#include "decision.h"
#include "policy.h"

/* Names of the webhooks manual-gate adds: the label enabled="false" removes exactly these. */
#define MUTATE_HOOK_CHECK "manual-gate-check"
#define MUTATE_HOOK_CLOSE "manual-gate-close"
#define MUTATE_HOOK_ROLLBACK "manual-gate-rollback"
#define MUTATE_HOOK_RESET_ROLLBACK "manual-gate-reset-rollback"
#define MUTATE_HOOK_RESET_GATE "manual-gate-reset-gate"

/* The completed webhooks list of a gated Canary's analysis, with a warning for each change. NULL when it
 * cannot be completed: d then holds the denial (or a 500 when out of memory). */
cJSON *mutate_hooks_complete(const cJSON *canary, const struct policy_config *cfg, struct decision *d);
/* A copy of hooks without the ones manual-gate added, *removed set to how many went; a warning names
 * each. NULL when out of memory. */
cJSON *mutate_hooks_without_owned(const cJSON *hooks, int *removed, struct decision *d);

#endif
