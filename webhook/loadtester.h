/*
 * The Flagger loadtester that holds a Canary's gates, reached through the API server's service proxy
 * (POST /api/v1/namespaces/<ns>/services/<svc>:<port>/proxy/<path>): no pod is started, RBAC
 * (`create services/proxy`) decides who may, and the API server's audit log records who did.
 *
 * Which loadtester: the one Flagger calls, i.e. the origin of the Canary's /gate/check hook (else its
 * /gate/close hook); for the rollback gate the origin of its /rollback/check hook first. That origin's
 * host must name a Service (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.<cluster domain>`); an IP address
 * or an external name cannot be reached through the service proxy and is an error.
 *
 * Gate semantics (Flagger's pkg/loadtester): /gate/check and /rollback/check answer 200 (open) or 403
 * (closed; an unknown key reads closed); /gate/open, /gate/close, /rollback/open, /rollback/close answer
 * 202. The state lives in each loadtester pod's memory, keyed by <name>.<namespace>.
 *
 * Memory: nothing here allocates what the caller must free; err buffers are the caller's.
 */
#ifndef MG_LOADTESTER_H
#define MG_LOADTESTER_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "kubectl.h"
#include "url.h"

#define LOADTESTER_PATH_GATE_OPEN "/gate/open"
#define LOADTESTER_PATH_ROLLBACK_OPEN "/rollback/open"

/* A loadtester Service. */
struct loadtester {
    char namespace_[64];
    char service[64];
    int port;                 /* the Service port the hook's URL names (explicit, else 80 or 443) */
    int https;                /* the hook calls it over https */
    char url[URL_ORIGIN_MAX]; /* the origin as the hook writes it, for messages */
};

/* Which gate. */
enum loadtester_gate { LOADTESTER_TRAFFIC, LOADTESTER_ROLLBACK };

/* What a check read. */
enum gate_state {
    GATE_CLOSED,
    GATE_OPEN,
    GATE_NO_HOOK,     /* the Canary has no hook that reads this gate */
    GATE_UNREACHABLE, /* the proxy could not reach the loadtester (503), or no loadtester Service is known */
    GATE_FORBIDDEN,   /* RBAC refused `create services/proxy` */
    GATE_ERROR,       /* anything else (kubectl missing, API server unreachable, an unexpected answer) */
};

/* Map the URL of a hook to a Service; the namespace of a bare `svc` is canary_ns. 0, or -1 with a reason. */
int loadtester_from_url(const char *url, const char *canary_ns, struct loadtester *out, char *err, size_t errlen);
/* The loadtester that holds the given gate of a Canary (see the top of this file). 0; 1 when the Canary
 * has no hook that reads that gate (err says so); -1 with a reason when the hook's host is no Service. */
int loadtester_of_canary(const cJSON *canary, enum loadtester_gate gate, struct loadtester *out, char *err,
                         size_t errlen);
/* The API path that reaches path (e.g. "/gate/open") on the loadtester through the services proxy. */
void loadtester_proxy_path(const struct loadtester *lt, const char *path, char *buf, size_t len);
/* "test/flagger-loadtester:80" for messages. */
const char *loadtester_name(const struct loadtester *lt, char *buf, size_t len);

/* POST {"name","namespace"} of the Canary to a check path (/gate/check, /rollback/check): open or closed,
 * or why neither could be read (err then says why). */
enum gate_state loadtester_check(const struct kubectl *k, const struct loadtester *lt, const char *path,
                                 const char *name, const char *ns, char *err, size_t errlen);
/* POST {"name","namespace"} of the Canary to an action path (/gate/open, /rollback/open, /rollback/close).
 * 0 when the loadtester accepted it, -1 with a reason in err (RBAC, unreachable, the loadtester's own
 * refusal, ...). */
int loadtester_act(const struct kubectl *k, const struct loadtester *lt, const char *path, const char *name,
                   const char *ns, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Ready endpoints of the loadtester Service, from its EndpointSlices: the number of pods, or -1 with a
 * reason in err. */
int loadtester_ready_pods(const struct kubectl *k, const struct loadtester *lt, char *err, size_t errlen);
/* The same count from a parsed EndpointSliceList (pure): distinct pods (or addresses) whose endpoint is
 * ready (an absent "ready" counts as ready, as the API documents). */
int loadtester_count_ready(const cJSON *slices);
/* The word status shows for a state: "open", "closed", "no hook", "unreachable", "forbidden", "error". */
const char *gate_state_name(enum gate_state s);

#endif
