/*
 * The vocabulary shared by the admission codec and the policies: what a request looks like to a
 * policy, the Canary lookup the policies query, and the two entry points (policy_mutate,
 * policy_validate) that route a request to the right policy. The decision every policy returns is
 * decision.h's.
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
enum admission_op { OP_OTHER, OP_CREATE, OP_UPDATE, OP_DELETE, OP_CONNECT };

/* The operation named by s ("CREATE", "UPDATE", "DELETE", "CONNECT"); OP_OTHER for anything else. */
enum admission_op admission_op_of(const char *s);

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
    int lossy;              /* a string held \u0000, where cJSON cuts it short: equal-looking strings
                               may differ, so a policy must treat what it compares as changed */
};

/* What the Canary cache knows of one Canary, copied out so no lock is held by the caller. */
struct canary_info {
    char namespace_[64];
    char name[254];
    char phase[32];     /* status.phase, "" when unset */
    int weight;         /* status.canaryWeight */
    int gated;          /* has a /gate/check confirm-traffic-increase hook or label enabled=true */
    enum canary_release release; /* what a new revision costs it now (canary.h) */
};

/* Lookup results. */
#define LOOKUP_NONE 0     /* the cache is synced and no Canary matches */
#define LOOKUP_FOUND 1    /* *out is filled */
#define LOOKUP_UNKNOWN -1 /* the cache cannot answer (never synced) */

/* The Canary cache as the policies see it. Where several Canaries match, by_target and by_config return
 * the one with the highest canary_release_rank (the gated one in the costliest state), the first to
 * arrive among equals. */
struct canary_lookup {
    void *ctx;
    /* Canary in namespace ns whose spec.targetRef is kind/name ("Deployment"/"DaemonSet"). */
    int (*by_target)(void *ctx, const char *ns, const char *kind, const char *name, struct canary_info *out);
    /* Canary in namespace ns whose status.trackedConfigs has ref ("configmap/NAME", "secret/NAME"). */
    int (*by_config)(void *ctx, const char *ns, const char *ref, struct canary_info *out);
    /* The gated Canaries whose release a new revision would lose (canary_release_denies), in namespace ns,
     * or in every namespace when ns is NULL, sorted by namespace and name: the first max of them copied
     * to out. Returns how many there are (possibly more than max), or LOOKUP_UNKNOWN. */
    int (*releases)(void *ctx, const char *ns, struct canary_info *out, int max);
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

/* POST /mutate: route by kind (Canary) and fill d. Anything else is allowed unchanged. */
void policy_mutate(const struct admission_request *req, const struct policy_config *cfg, struct decision *d);
/* POST /validate: route by kind (Deployment, DaemonSet, Canary, ConfigMap, Secret) and fill d. */
void policy_validate(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d);

#endif
