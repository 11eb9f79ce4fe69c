/*
 * `manual-gate mutate [-w | --check] [--diff] PATH...`: what the cluster would store for every Canary in
 * a GitOps repository's files, as gofmt and terraform fmt work on source files. Each PATH is a file
 * (YAML or JSON, "-" for stdin) or a directory walked for *.yaml, *.yml and *.json. A file whose Canary
 * the cluster would refuse is reported and left alone; the others are still processed.
 */
#ifndef MG_OFFLINE_H
#define MG_OFFLINE_H

#include "policy.h"

struct offline_options {
    int write; /* -w: write changed files in place (atomically) and list them */
    int check; /* --check: list the files that would change; write nothing */
    int diff;  /* --diff: print a unified diff of each file that changes */
};

/* Run the command. Returns the exit code: 0 done (nothing would change, with --check); 1 a Canary
 * would be refused, or with --check a file would change; 2 a path cannot be read or written, or bad
 * usage. */
int offline_mutate(const char *const *paths, int npaths, const struct offline_options *opt,
                   const struct policy_config *cfg);

#endif
