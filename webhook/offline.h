/*
 * `manual-gate mutate FILE`: the mutating policy offline, for GitOps repositories and CI. Reads YAML or
 * JSON (one or several documents; "-" is stdin), prints the completed objects as YAML on stdout and the
 * warnings on stderr. Non-Canary documents pass through unchanged.
 */
#ifndef MG_OFFLINE_H
#define MG_OFFLINE_H

#include "policy.h"

/* Run the command; returns the process exit code (0 ok, 1 a Canary was denied, 2 unreadable input). */
int offline_mutate(const char *path, const struct policy_config *cfg);

#endif
