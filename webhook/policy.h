/*
 * The vocabulary shared by the admission codec and the policies: what a request looks like to a
 * policy, the one decision type every policy returns, the Canary lookup the policies query, and the
 * two entry points (policy_mutate, policy_validate) that route a request to the right policy.
 *
 * Policies are pure: they read a request, a lookup and a config, and fill a decision. No I/O, no
 * globals, no libmicrohttpd.
 *
 * Memory: a struct admission_request only borrows (its pointers point into the caller's parsed
 * review, which outlives the policy call). A struct decision owns everything it holds: start it with
 * decision_init(), release it with decision_free().
 */
#ifndef MG_POLICY_H
#define MG_POLICY_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* A decoded admission request as the policies see it. Absent strings are "" (never NULL); absent or
 * null objects are NULL. */
struct admission_request {
    const char *uid;
    const char *group;      /* request.kind.group: "apps", "flagger.app", "" for core */
    const char *version;    /* request.kind.version */
    const char *kind;       /* request.kind.kind: "Canary", "Deployment", ... */
    const char *namespace_; /* request.namespace */
    const char *name;       /* request.name (may be "" on CREATE with generateName) */
    const char *operation;  /* "CREATE", "UPDATE", "DELETE", "CONNECT" */
    const char *username;   /* request.userInfo.username */
    const cJSON *groups;    /* request.userInfo.groups (array of strings) or NULL */
    const cJSON *object;
    const cJSON *old_object;
    int dry_run;
    int lossy;              /* a string held \u0000, where cJSON cuts it short: equal-looking strings
                               may differ, so a policy must treat what it compares as changed */
};

/* Longest warning the API server keeps, and the budget all warnings of one response share. */
#define DECISION_WARNING_MAX 119
#define DECISION_WARNINGS_BUDGET 4096

/* What a policy answers. allowed=1 with no patch is a plain allow. */
struct decision {
    int allowed;
    int code;       /* HTTP-like status for a denial: 403 (policy), 400 (bad object), 500 (internal) */
    char *message;  /* denial message, NULL when allowed */
    cJSON *patch;   /* JSON Patch array (owned) or NULL; only /mutate may return one */
    cJSON *warnings;/* array of strings (owned) or NULL */
    cJSON *audit;   /* object of string -> string (owned) or NULL */
    size_t warn_used; /* characters of DECISION_WARNINGS_BUDGET used */
};

/* Start an empty decision (allowed, nothing attached). */
void decision_init(struct decision *d);
/* Release everything the decision owns and reset it to the init state. */
void decision_free(struct decision *d);
/* Mark the decision allowed (keeps warnings/audit). */
void decision_allow(struct decision *d);
/* Deny with code 403 and a printf-style message. Drops any patch. */
void decision_deny(struct decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Deny with the given code (400 for an object that cannot be judged, 500 for internal errors). */
void decision_error(struct decision *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Attach a JSON Patch array; takes ownership. An empty array is freed and no patch is attached. */
void decision_patch(struct decision *d, cJSON *ops);
/* Add a warning: made printable ASCII, cut to DECISION_WARNING_MAX, dropped beyond the budget. */
void decision_warn(struct decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Add an audit annotation (key without the webhook prefix; the API server adds it). */
void decision_audit(struct decision *d, const char *key, const char *value);

/* What the Canary cache knows of one Canary, copied out so no lock is held by the caller. */
struct canary_info {
    char namespace_[64];
    char name[254];
    char phase[32];     /* status.phase, "" when unset */
    int weight;         /* status.canaryWeight */
    int gated;          /* has a /gate/check confirm-traffic-increase hook or label enabled=true */
    int in_flight;      /* phase is one of Progressing, Waiting, WaitingPromotion, Promoting, Finalising */
};

/* Lookup results. */
#define LOOKUP_NONE 0     /* the cache is synced and no Canary matches */
#define LOOKUP_FOUND 1    /* *out is filled */
#define LOOKUP_UNKNOWN -1 /* the cache cannot answer (never synced) */

/* The Canary cache as the policies see it. Where several Canaries match, the lookup returns a gated
 * Canary with a release in flight before any other. */
struct canary_lookup {
    void *ctx;
    /* Canary in namespace ns whose spec.targetRef is kind/name ("Deployment"/"DaemonSet"). */
    int (*by_target)(void *ctx, const char *ns, const char *kind, const char *name, struct canary_info *out);
    /* Canary in namespace ns whose status.trackedConfigs has ref ("configmap/NAME", "secret/NAME"). */
    int (*by_config)(void *ctx, const char *ns, const char *ref, struct canary_info *out);
};

/* Server-wide settings the policies read. */
struct policy_config {
    const char *loadtester_url; /* --loadtester-url, NULL when unset */
    const char *override_group; /* --override-group, NULL when unset */
    int fail_open;              /* --fail-open: allow when the cache cannot answer */
    const char *mesh_provider;  /* --mesh-provider: Flagger's -mesh-provider, for Canaries without
                                   spec.provider; NULL when unknown */
};

/* POST /mutate: route by kind (Canary) and fill d. Anything else is allowed unchanged. */
void policy_mutate(const struct admission_request *req, const struct policy_config *cfg, struct decision *d);
/* POST /validate: route by kind (Deployment, DaemonSet, Canary, ConfigMap, Secret) and fill d. */
void policy_validate(const struct admission_request *req, const struct policy_config *cfg,
                     const struct canary_lookup *lookup, struct decision *d);

#endif
