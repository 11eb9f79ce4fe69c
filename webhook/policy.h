/*
 * The vocabulary shared by the admission codec and the policies: what a request looks like to a
 * policy and the server-wide settings they read. The Canary lookup they query is canary.h's, the decision
 * they return decision.h's; admission.c routes a request to its policy.
 *
 * Policies are pure: they read a request, a lookup and a config, and fill a decision. No I/O, no
 * globals, no libmicrohttpd.
 *
 * Memory: a struct admission_request only borrows (its pointers point into the caller's parsed
 * review, which outlives the policy call).
 */
#ifndef MG_POLICY_H
#define MG_POLICY_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "canary.h"
#include "decision.h"

/* request.operation, decoded once. */
enum admission_op {
    ADMISSION_OP_OTHER, ADMISSION_OP_CREATE, ADMISSION_OP_UPDATE, ADMISSION_OP_DELETE, ADMISSION_OP_CONNECT
};

/* A decoded admission request as the policies see it. Absent strings are "" (never NULL); absent or
 * null objects are NULL. */
struct admission_request {
    const char *uid;
    const char *group;      /* request.kind.group: "apps", "flagger.app", "" for core */
    const char *version;    /* request.kind.version */
    const char *kind;       /* request.kind.kind: "Canary", "Deployment", ... */
    const char *namespace_; /* request.namespace */
    const char *name;       /* request.name (may be "" on CREATE with generateName) */
    const char *operation;  /* as sent, for logs: "CREATE", "UPDATE", "DELETE", "CONNECT" */
    enum admission_op op;   /* the same, decoded: what the policies compare */
    const char *username;   /* request.userInfo.username */
    const cJSON *groups;    /* request.userInfo.groups (array of strings) or NULL */
    const cJSON *object;
    const cJSON *old_object;
    int dry_run;
    int lossy;              /* a string held \u0000, where cJSON cuts it short, or a number a double
                               cannot hold exactly (|x| >= 2^53, over 15 significant digits): equal-looking
                               values may differ, so a policy must treat what it compares as changed */
};

/* Server-wide settings the policies read. */
struct policy_config {
    const char *loadtester_url; /* --loadtester-url, NULL when unset */
    const char *override_group; /* --override-group, NULL when unset */
    int fail_open;              /* --fail-open: allow when the cache cannot answer */
    const char *mesh_provider;  /* --mesh-provider: Flagger's -mesh-provider, for Canaries without
                                   spec.provider; NULL when unknown */
    const char *const *flagger_deployments; /* --flagger-deployment NAMESPACE/NAME (repeatable), the
                                   Deployments that run Flagger; NULL-terminated, or NULL for none */
};

#endif
