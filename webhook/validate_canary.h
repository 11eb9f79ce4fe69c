/*
 * The validating policy on Canaries: gating that Flagger would never consult, gating switched off
 * while a release is in flight, and invariants that still fail after all mutations.
 */
#ifndef MG_VALIDATE_CANARY_H
#define MG_VALIDATE_CANARY_H

#include "policy.h"

/* Validate a Canary CREATE/UPDATE; fills d. */
void validate_canary(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d);

#endif
