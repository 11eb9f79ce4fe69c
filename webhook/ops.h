/*
 * What the operator commands (`status`, `gate`, `rollback`, `check`) share: their command line (the
 * kubectl pass-through flags and their own), reading Canaries through kubectl, the confirmation prompt,
 * the terminal (colour, width), and the times Flagger records in a Canary's status.
 *
 * Exit codes, the same for every operator command: 0 done; 1 refused or not done (the Canary's state does
 * not allow it, the person said no, a --wait timed out, `check` found a change would be denied); 2 errors
 * (arguments, kubectl, the API server, RBAC, an unreachable loadtester).
 *
 * Memory: struct ops_opts borrows argv. Canaries returned by ops_get_canary/ops_list_canaries belong to
 * the caller (cJSON_Delete).
 */
#ifndef MG_OPS_H
#define MG_OPS_H

#include <stddef.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "kubectl.h"

#define OPS_EXIT_OK 0
#define OPS_EXIT_REFUSED 1
#define OPS_EXIT_ERROR 2

/* The flags a command accepts besides --kubeconfig, --context, -n/--namespace and -h/--help. */
#define OPS_F_ALL (1u << 0)    /* -A/--all-namespaces */
#define OPS_F_OUTPUT (1u << 1) /* -o/--output json|yaml */
#define OPS_F_WATCH (1u << 2)  /* -w/--watch, --interval DURATION */
#define OPS_F_YES (1u << 3)    /* -y/--yes */
#define OPS_F_WAIT (1u << 4)   /* --wait, --timeout DURATION */
#define OPS_F_FLAGGER (1u << 5) /* --flagger-deployment NAMESPACE/NAME */

#define OPS_MAX_ARGS 3

struct ops_opts {
    const char *cmd;           /* "status", "gate open", ... for messages */
    struct kubectl kube;
    const char *namespace_;    /* -n, else the context's (ops_namespace) */
    int all_namespaces;
    const char *output;        /* NULL (a table), "json" or "yaml" */
    int watch;
    long interval;             /* seconds between polls of --watch */
    int yes;
    int wait;
    long timeout;              /* seconds --wait waits */
    const char *flagger_deployment; /* NAMESPACE/NAME of the Deployment running Flagger, NULL if not given */
    const char *args[OPS_MAX_ARGS];
    int nargs;
    char ns_buf[64];
};

/* ops_parse's answer when the command should go on. */
#define OPS_GO -1

/* Parse argv (after the command words) for a command accepting flags, with at most max_args positional
 * arguments. usage is printed for -h/--help. OPS_GO to go on; otherwise the exit code to return (0 after
 * --help, 2 after an error, printed). */
int ops_parse(int argc, char **argv, const char *cmd, unsigned flags, int max_args, const char *usage,
              struct ops_opts *o);
/* Print "manual-gate CMD: message" on stderr; returns OPS_EXIT_ERROR. */
int ops_error(const struct ops_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The namespace: -n, else the kubeconfig context's. NULL after printing why. */
const char *ops_namespace(struct ops_opts *o);

/* GET one Canary. NULL with a reason in err (not found, RBAC, unreachable, ...). */
cJSON *ops_get_canary(const struct ops_opts *o, const char *ns, const char *name, char *err, size_t errlen);
/* List the Canaries of ns (NULL: all namespaces): the CanaryList. NULL with a reason in err. */
cJSON *ops_list_canaries(const struct ops_opts *o, const char *ns, char *err, size_t errlen);
/* "Deployment/podinfo": the Canary's spec.targetRef, "?" for what is missing. Returns buf. */
const char *ops_target(const cJSON *canary, char *buf, size_t len);

/* Ask question on the terminal (stdin) and read the answer: 1 yes, 0 no. Without a terminal on stdin it
 * asks nothing and returns -1. */
int ops_confirm(const char *question);

/* 1 when stdout is a terminal; colour only then, and not with NO_COLOR set or TERM=dumb. */
int ops_is_tty(void);
int ops_use_colour(void);
/* Columns of the terminal on stdout, 0 when unknown or not a terminal. */
int ops_term_width(void);

/* An RFC 3339 time as Kubernetes writes it ("2024-05-01T10:00:00Z", an offset allowed): seconds since
 * the epoch, or -1. */
long ops_parse_time(const char *s);
/* A duration as kubectl prints ages: "45s", "12m", "3h12m", "2d4h"; "-" for a negative one. */
const char *ops_age(long seconds, char *buf, size_t len);
/* When the release in flight started: the lastTransitionTime of Flagger's Promoted condition, which only
 * moves when its status changes (Unknown for every phase of a release). -1 when no release is in flight
 * or Flagger recorded none. */
long ops_release_started(const cJSON *canary);
/* status.lastTransitionTime (Flagger updates it on every status change: phase, weight, failed checks). */
long ops_last_transition(const cJSON *canary);

/* Sleep, returning early (1) when SIGINT/SIGTERM arrived since ops_catch_signals; 0 otherwise. */
int ops_sleep(long seconds);
/* Install handlers for SIGINT/SIGTERM that ops_interrupted reports, and ignore SIGPIPE. */
void ops_catch_signals(void);
int ops_interrupted(void);

#endif
