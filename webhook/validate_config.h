/*
 * The validating policy on ConfigMaps and Secrets that a gated Canary tracks (status.trackedConfigs):
 * a content change or a DELETE during a release in flight would restart the analysis from 0%.
 */
#ifndef MG_VALIDATE_CONFIG_H
#define MG_VALIDATE_CONFIG_H

#include "policy.h"

/* Validate a ConfigMap/Secret request; fills d. Never logs or copies a Secret value. */
void validate_config(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d);

#endif
