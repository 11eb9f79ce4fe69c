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

#endif
