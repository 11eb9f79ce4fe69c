/*
 * The one answer every policy gives: allowed or denied (with a code and a message), an optional JSON
 * Patch, warnings and audit annotations. The few constructors here are the only way paths build an
 * answer, so the warning rules live in one place; review.c encodes a decision into the response.
 *
 * Memory: a struct decision owns everything it holds: start it with decision_init(), release it with
 * decision_free().
 */
#ifndef MG_DECISION_H
#define MG_DECISION_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* Longest warning the API server keeps, and the budget all warnings of one response share. */
#define DECISION_WARNING_MAX 119
#define DECISION_WARNINGS_BUDGET 4096

/* The audit annotations that record break glass (decision_override). */
#define DECISION_AUDIT_OVERRIDE_REASON "override-reason"
#define DECISION_AUDIT_OVERRIDE_USER "override-user"

/* The Canary whose release a denial or an override concerns, for the Events and logs that tell its owners
 * (set 0: none known, e.g. the gating state was unknown). The sizes are Kubernetes' own limits. */
struct decision_release {
    int set;
    char namespace_[64];
    char name[254];
    char uid[40];
    char phase[32];
    int weight;
};

/* What a policy answers. allowed=1 with no patch is a plain allow. */
struct decision {
    int allowed;
    int code;       /* HTTP-like status for a denial: 403 (policy), 400 (bad object), 500 (internal) */
    char *message;  /* denial message, NULL when allowed */
    cJSON *patch;   /* JSON Patch array (owned) or NULL; only /mutate may return one */
    cJSON *warnings;/* array of strings (owned) or NULL */
    cJSON *audit;   /* object of string -> string (owned) or NULL */
    size_t warn_used; /* characters of DECISION_WARNINGS_BUDGET used */
    /* The stable id of the rule that denied (code 403) or that an override let pass ("canary-mirror",
     * "template-in-flight", ...; a string literal, never freed): what metrics count and logs name, so
     * nobody parses messages. NULL for a plain allow and for errors. */
    const char *rule;
    int overridden; /* allowed by break glass: rule says what was passed, audit holds who and why */
    struct decision_release release;
};

/* Start an empty decision (allowed, nothing attached). */
void decision_init(struct decision *d);
/* Release everything the decision owns and reset it to the init state. */
void decision_free(struct decision *d);
/* Mark the decision allowed (keeps warnings/audit; clears rule and override). */
void decision_allow(struct decision *d);
/* Deny with code 403 by the rule `rule` (a string literal) and a printf-style message. Drops any patch. */
void decision_deny(struct decision *d, const char *rule, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Allow by break glass what the rule `rule` would deny: records the override, its reason and the user
 * (audit annotations DECISION_AUDIT_OVERRIDE_*). The caller adds the warning that says what it costs. */
void decision_override(struct decision *d, const char *rule, const char *user, const char *reason);
/* Fill r with the Canary whose release a decision concerns (strings cut to the fields' sizes; NULL is ""). */
void decision_release_set(struct decision_release *r, const char *ns, const char *name, const char *uid,
                          const char *phase, int weight);
/* Deny with the given code (400 for an object that cannot be judged, 500 for internal errors). */
void decision_error(struct decision *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Attach a JSON Patch array; takes ownership. An empty array is freed and no patch is attached. */
void decision_patch(struct decision *d, cJSON *ops);
/* Add a warning: made printable ASCII, cut to DECISION_WARNING_MAX, dropped beyond the budget. */
void decision_warn(struct decision *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Add an audit annotation (key without the webhook prefix; the API server adds it). */
void decision_audit(struct decision *d, const char *key, const char *value);

#endif
