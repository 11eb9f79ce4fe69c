/*
 * The validating policy on Canary targets (Deployments, DaemonSets): a template change while the
 * gated Canary that targets the object has a release in flight would restart the analysis from 0%.
 */
#ifndef MG_VALIDATE_TARGET_H
#define MG_VALIDATE_TARGET_H

#include "policy.h"

/* Validate a Deployment/DaemonSet request; fills d. */
void validate_target(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d);

#endif
