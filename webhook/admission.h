/*
 * The one admission pipeline, without a transport: route a decoded request to its policy (a table of
 * kind and operation), and, from a request body, decode -> decide -> encode with the outcome classified.
 * The server, the fuzzer, the benchmarks and the offline commands call it; the server only moves bytes,
 * logs and counts.
 *
 * Memory: admission_handle fills a struct admission_result that owns its body and log fields; release it
 * with admission_result_free. admission_decide fills a decision the caller owns (decision.h).
 */
#ifndef MG_ADMISSION_H
#define MG_ADMISSION_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "decision.h"
#include "log.h"
#include "policy.h"

enum admission_endpoint { ADMISSION_MUTATE, ADMISSION_VALIDATE, ADMISSION_ENDPOINTS };

/* What became of one request. */
enum admission_outcome {
    ADMISSION_ALLOWED,  /* a review, allowed, no patch */
    ADMISSION_PATCHED,  /* a review, allowed with a patch */
    ADMISSION_DENIED,   /* a review, denied by a policy (403) */
    ADMISSION_ERROR,    /* a review, failed (400 bad object, 500 internal) */
    ADMISSION_OUTCOMES,
    ADMISSION_REJECTED = ADMISSION_OUTCOMES /* no review could be formed: a 4xx answer, not counted above */
};

/* A decision its owners should hear of: a denial by a policy, or a change let through by break glass. */
enum admission_notice_kind { ADMISSION_NOTICE_NONE, ADMISSION_NOTICE_DENIED, ADMISSION_NOTICE_OVERRIDDEN };

/* The object a request is about, as an Event's involvedObject names it. */
struct admission_object_ref {
    char api_version[64];
    char kind[64];
    char namespace_[64];
    char name[254];
    char uid[40];
};

/* What the metrics count and the Events tell of one notable decision, copied out of the request (the sizes
 * are Kubernetes' own limits; longer values are cut). Names only: never object contents. */
struct admission_notice {
    enum admission_notice_kind kind;
    const char *rule;               /* the decision's rule id (a string literal) */
    int dry_run;                    /* a dry run has no side effects: no Event, not counted by rule */
    char operation[16];
    char user[256];
    char reason[260];               /* the override's reason, "" for a denial */
    struct admission_object_ref object;
    struct decision_release canary; /* the Canary whose release it concerns (set 0: unknown) */
};

struct admission_result {
    int status;                     /* HTTP status: 200 with a review, else 4xx/5xx with a one-line reason */
    char *body;                     /* the response review, or the reason; NUL-terminated */
    size_t len;
    enum admission_outcome outcome;
    cJSON *log;                     /* fields for the log line (uid, kind, namespace, name, operation, user,
                                       dryRun, decision, rule, code and message of a denial, override,
                                       patchOps, warnings); NULL when rejected */
    enum log_level level;           /* of the log line: warn for a denial or a bad object, error for an internal
                                       error, info otherwise */
    struct admission_notice notice; /* kind ADMISSION_NOTICE_NONE unless a denial or an override */
};

/* Run the policy that the routing table gives for the request's kind and operation on that endpoint,
 * filling d (allowed and empty when no policy applies). A validating endpoint never patches. */
void admission_decide(enum admission_endpoint ep, const struct admission_request *req,
                      const struct policy_config *cfg, const struct canary_lookup *lookup, struct decision *d);
/* Decode body, decide, encode. Always fills out (status 500 with a reason when out of memory). */
void admission_handle(enum admission_endpoint ep, const char *body, size_t len, const struct policy_config *cfg,
                      const struct canary_lookup *lookup, struct admission_result *out);
/* Free what admission_handle filled; out is zeroed. */
void admission_result_free(struct admission_result *out);
/* "mutate" / "validate", and "allowed", "patched", "denied", "error", "rejected". */
const char *admission_endpoint_name(enum admission_endpoint ep);
const char *admission_outcome_name(enum admission_outcome o);

#endif
