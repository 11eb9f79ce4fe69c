/*
 * The mutating policy on Canaries: when gating is enabled, complete the Canary with the gate webhooks
 * (gate check, close, rollback and the two post-rollout resets), a safe threshold and
 * skipAnalysis=false; with the label enabled="false", take manual-gate's changes back.
 *
 * Memory: the policy only reads the Canary; everything it produces (patch, warnings, denial) is owned
 * by the decision (decision_free releases it).
 */
#ifndef MG_MUTATE_CANARY_H
#define MG_MUTATE_CANARY_H

#include "mutate_hooks.h"
#include "policy.h"

/* Longest release manual-gate.io/max-duration may plan for, and the default when it is unset. */
#define MUTATE_MAX_DURATION_LIMIT (365L * 86400)
#define MUTATE_MAX_DURATION_DEFAULT "14d"

/* Mutate the Canary in req->object: fills d with a patch and warnings, or a denial. An UPDATE that leaves
 * spec, labels and annotations as stored gets neither (the validator skips it too), only a warning. */
void mutate_canary(const struct admission_request *req, const struct policy_config *cfg, struct decision *d);
/* The same policy on a bare Canary object (offline `mutate`, and the validator's invariant check). */
void mutate_canary_object(const cJSON *canary, const struct policy_config *cfg, struct decision *d);
/* Parse a max-duration ("10d", "36h", "90m", "1h30m", "1d12h": whole numbers of d, h, m, s) into
 * seconds; -1 when invalid, zero or above MUTATE_MAX_DURATION_LIMIT. */
long mutate_parse_max_duration(const char *s);

#endif
