/*
 * manual-gate: command line, flags (each with a MANUAL_GATE_* environment equivalent) and wiring of
 * the server, the Canary cache and the policies.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "log.h"
#include "offline.h"
#include "ops_check.h"
#include "ops_gate.h"
#include "ops_status.h"
#include "policy.h"
#include "server.h"

#define VERSION "0.1.0"
/* More Flagger controllers than one cluster runs (one per mesh, at most a few). */
#define FLAGGER_DEPLOYMENTS_MAX 16

struct flags {
    const char *listen, *tls_cert, *tls_key, *kube_api, *kube_token_file, *kube_ca_file, *canaries;
    const char *loadtester_url, *override_group, *log_level, *max_unsynced, *threads, *shutdown_timeout;
    const char *mesh_provider;
    int fail_open;
    /* --flagger-deployment, repeatable: NULL-terminated for policy_config. */
    const char *flagger_deployments[FLAGGER_DEPLOYMENTS_MAX + 1];
    int n_flagger;
    char *flagger_env; /* MANUAL_GATE_FLAGGER_DEPLOYMENT, split in place at commas */
};

static const struct flag_spec {
    const char *name; /* --name; env MANUAL_GATE_NAME with '-' as '_' */
    size_t offset;    /* of the const char * in struct flags */
    const char *help;
} specs[] = {
    {"listen", offsetof(struct flags, listen), "address to serve HTTPS on (default :8443)"},
    {"tls-cert", offsetof(struct flags, tls_cert), "PEM certificate chain, re-read when it changes"},
    {"tls-key", offsetof(struct flags, tls_key), "PEM private key, re-read when it changes"},
    {"kube-api", offsetof(struct flags, kube_api), "Kubernetes API URL (default: in-cluster)"},
    {"kube-token-file", offsetof(struct flags, kube_token_file), "bearer token file (default: service account)"},
    {"kube-ca-file", offsetof(struct flags, kube_ca_file), "CA bundle of the API server (default: service account)"},
    {"canaries", offsetof(struct flags, canaries), "offline Canary source: YAML/JSON file or directory"},
    {"max-unsynced", offsetof(struct flags, max_unsynced), "seconds out of sync before /readyz fails (default 60)"},
    {"loadtester-url", offsetof(struct flags, loadtester_url), "default Flagger loadtester base URL"},
    {"override-group", offsetof(struct flags, override_group), "group whose members may override a denial"},
    {"mesh-provider", offsetof(struct flags, mesh_provider), "Flagger's -mesh-provider (for Canaries without spec.provider)"},
    {"log-level", offsetof(struct flags, log_level), "debug, info, warn or error (default info)"},
    {"threads", offsetof(struct flags, threads), "worker threads (default 2)"},
    {"shutdown-timeout", offsetof(struct flags, shutdown_timeout), "seconds to drain after SIGTERM (default 20)"},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "manual-gate %s: admission webhook that protects Flagger manual-gated canary releases\n\n"
               "usage:\n"
               "  manual-gate serve [flags]          serve POST /mutate, POST /validate, /healthz, /readyz, /metrics\n"
               "  manual-gate mutate FILE [flags]    complete the Canaries in FILE (YAML/JSON, - for stdin)\n"
               "  manual-gate status [NAME]          gated releases and their gates (--help for its flags)\n"
               "  manual-gate gate open|close NAME   open the next step of a gated release (--help)\n"
               "  manual-gate rollback open|close NAME  roll a gated release back, or close the rollback gate\n"
               "  manual-gate check KIND/NAME        exit 0 when a change may be released now, 1 when denied\n"
               "  manual-gate version\n\nflags (environment: MANUAL_GATE_<FLAG>, e.g. MANUAL_GATE_LOADTESTER_URL):\n",
            VERSION);
    for (i = 0; i < NSPECS; i++)
        fprintf(f, "  --%-18s %s\n", specs[i].name, specs[i].help);
    fprintf(f, "  --%-18s %s\n", "fail-open", "allow template changes when the Canary cache cannot answer");
    fprintf(f, "  --%-18s %s\n", "flagger-deployment", "NAMESPACE/NAME of a Deployment running Flagger (repeatable):");
    fprintf(f, "  %-20s %s\n", "", "its new pod template is denied while a gated release is in flight");
}

static const char **flag_slot(struct flags *fl, const struct flag_spec *s)
{
    return (const char **)((char *)fl + s->offset);
}

static void env_defaults(struct flags *fl)
{
    char env[64];
    const char *v;
    size_t i, j;

    for (i = 0; i < NSPECS; i++) {
        snprintf(env, sizeof(env), "MANUAL_GATE_%s", specs[i].name);
        for (j = 12; env[j]; j++)
            env[j] = env[j] == '-' ? '_' : (char)(env[j] >= 'a' && env[j] <= 'z' ? env[j] - 32 : env[j]);
        if ((v = getenv(env)) != NULL && *v)
            *flag_slot(fl, &specs[i]) = v;
    }
    v = getenv("MANUAL_GATE_FAIL_OPEN");
    fl->fail_open = v && strcmp(v, "true") == 0;
    if ((v = getenv("MANUAL_GATE_FLAGGER_DEPLOYMENT")) != NULL && *v && (fl->flagger_env = strdup(v)) != NULL) {
        char *save = NULL, *tok;

        for (tok = strtok_r(fl->flagger_env, ",", &save); tok && fl->n_flagger < FLAGGER_DEPLOYMENTS_MAX;
             tok = strtok_r(NULL, ",", &save))
            fl->flagger_deployments[fl->n_flagger++] = tok;
    }
}

/* NAMESPACE/NAME: two non-empty parts. */
static int add_flagger_deployment(struct flags *fl, const char *v)
{
    const char *slash = strchr(v, '/');

    if (!slash || slash == v || !slash[1] || strchr(slash + 1, '/')) {
        fprintf(stderr, "manual-gate: --flagger-deployment wants NAMESPACE/NAME (e.g. flagger-system/flagger), "
                        "not '%s'\n", v);
        return -1;
    }
    if (fl->n_flagger == FLAGGER_DEPLOYMENTS_MAX) {
        fprintf(stderr, "manual-gate: at most %d --flagger-deployment flags\n", FLAGGER_DEPLOYMENTS_MAX);
        return -1;
    }
    fl->flagger_deployments[fl->n_flagger++] = v;
    return 0;
}

/* Parses --name value and --name=value; returns the index of the first positional argument's end or
 * -1 on an error (printed). Positionals are collected into pos. */
static int parse_flags(int argc, char **argv, struct flags *fl, const char **pos, int maxpos)
{
    int i, npos = 0;
    size_t k;

    for (i = 0; i < argc; i++) {
        const char *a = argv[i], *eq;
        size_t nlen;

        if (strcmp(a, "-") == 0 || a[0] != '-') {
            if (npos >= maxpos) {
                fprintf(stderr, "manual-gate: unexpected argument '%s'\n", a);
                return -1;
            }
            pos[npos++] = a;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "manual-gate: unknown flag '%s' (see --help)\n", a);
            return -1;
        }
        a += 2;
        if (strcmp(a, "fail-open") == 0) {
            fl->fail_open = 1;
            continue;
        }
        if (strncmp(a, "flagger-deployment", 18) == 0 && (a[18] == '=' || a[18] == '\0')) {
            if (!a[18] && i + 1 == argc) {
                fprintf(stderr, "manual-gate: flag '--flagger-deployment' needs a value\n");
                return -1;
            }
            if (add_flagger_deployment(fl, a[18] ? a + 19 : argv[++i]) < 0)
                return -1;
            continue;
        }
        eq = strchr(a, '=');
        nlen = eq ? (size_t)(eq - a) : strlen(a);
        for (k = 0; k < NSPECS; k++)
            if (strlen(specs[k].name) == nlen && strncmp(a, specs[k].name, nlen) == 0)
                break;
        if (k == NSPECS) {
            fprintf(stderr, "manual-gate: unknown flag '--%s' (see --help)\n", a);
            return -1;
        }
        if (eq) {
            *flag_slot(fl, &specs[k]) = eq + 1;
        } else if (i + 1 < argc) {
            *flag_slot(fl, &specs[k]) = argv[++i];
        } else {
            fprintf(stderr, "manual-gate: flag '--%s' needs a value\n", specs[k].name);
            return -1;
        }
    }
    return npos;
}

static int parse_uint(const char *s, const char *flag, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (!s)
        return 0;
    v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v > max) {
        fprintf(stderr, "manual-gate: --%s must be a whole number up to %lu, not '%s'\n", flag, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int cmd_serve(const struct flags *fl)
{
    struct policy_config pcfg = {fl->loadtester_url, fl->override_group, fl->fail_open, fl->mesh_provider,
                                 fl->flagger_deployments};
    struct cache_config ccfg = {fl->kube_api, fl->kube_token_file, fl->kube_ca_file, fl->canaries, 60};
    struct server_config scfg = {fl->listen ? fl->listen : ":8443", fl->tls_cert, fl->tls_key, 2, 20, &pcfg, NULL};
    unsigned long max_unsynced = 60, threads = 2, shutdown = 20;
    char err[256];
    int rc;

    if (!fl->tls_cert || !fl->tls_key) {
        fprintf(stderr, "manual-gate serve: --tls-cert and --tls-key are required (see certs/make-certs.sh)\n");
        return 2;
    }
    if (parse_uint(fl->max_unsynced, "max-unsynced", 86400, &max_unsynced) < 0 ||
        parse_uint(fl->threads, "threads", 64, &threads) < 0 ||
        parse_uint(fl->shutdown_timeout, "shutdown-timeout", 3600, &shutdown) < 0)
        return 2;
    if (threads == 0)
        threads = 1;
    ccfg.max_unsynced_seconds = (long)max_unsynced;
    scfg.threads = (unsigned)threads;
    scfg.shutdown_timeout = (unsigned)shutdown;

    /* Before any thread starts, so that only server_run's sigtimedwait sees SIGTERM/SIGINT. */
    server_block_signals();
    scfg.cache = cache_start(&ccfg, err, sizeof(err));
    if (!scfg.cache) {
        log_error("cannot start the Canary cache: %s", err);
        return 2;
    }
    rc = server_run(&scfg);
    cache_stop(scfg.cache);
    return rc;
}

/* The command line, with flags already holding the environment's defaults. */
static int run(int argc, char **argv, struct flags *flp)
{
    struct flags fl = *flp;
    const char *pos[2] = {NULL, NULL};
    const char *cmd = argc > 1 ? argv[1] : NULL;
    int npos;

    if (!cmd || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(cmd ? stdout : stderr);
        return cmd ? 0 : 2;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("manual-gate %s\n", VERSION);
        return 0;
    }
    /* The operator commands parse their own flags (see ops.h). */
    if (strcmp(cmd, "status") == 0)
        return ops_status_main(argc - 2, argv + 2);
    if (strcmp(cmd, "gate") == 0)
        return ops_gate_main(argc - 2, argv + 2);
    if (strcmp(cmd, "rollback") == 0)
        return ops_rollback_main(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0)
        return ops_check_main(argc - 2, argv + 2);
    npos = parse_flags(argc - 2, argv + 2, &fl, pos, strcmp(cmd, "mutate") == 0 ? 1 : 0);
    if (npos < 0)
        return 2;
    if (fl.log_level && log_set_level(fl.log_level) != 0) {
        fprintf(stderr, "manual-gate: --log-level is debug, info, warn or error, not '%s'\n", fl.log_level);
        return 2;
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(&fl);
    if (strcmp(cmd, "mutate") == 0) {
        struct policy_config pcfg = {fl.loadtester_url, fl.override_group, fl.fail_open, fl.mesh_provider, NULL};
        if (npos != 1) {
            fprintf(stderr, "manual-gate mutate: give one FILE (or - for stdin)\n");
            return 2;
        }
        return offline_mutate(pos[0], &pcfg);
    }
    fprintf(stderr, "manual-gate: unknown command '%s' (see --help)\n", cmd);
    return 2;
}

int main(int argc, char **argv)
{
    struct flags fl;
    int rc;

    memset(&fl, 0, sizeof(fl));
    env_defaults(&fl);
    rc = run(argc, argv, &fl);
    free(fl.flagger_env);
    return rc;
}
