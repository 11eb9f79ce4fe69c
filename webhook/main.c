/*
 * manual-gate: the commands, their flags (a flag says which commands take it; most have a
 * MANUAL_GATE_* environment equivalent) and the wiring of the server, the Canary cache and the policies.
 * A command is one row of the commands table; each command's --help lists only its own flags.
 */
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "cache.h"
#include "canary.h"
#include "events.h"
#include "kube.h"
#include "log.h"
#include "offline.h"
#include "ops_check.h"
#include "ops_gate.h"
#include "ops_status.h"
#include "policy.h"
#include "server.h"
#include "url.h"
#include "version.h"
/* More Flagger controllers than one cluster runs (one per mesh, at most a few). */
#define FLAGGER_DEPLOYMENTS_MAX 16

/* Positional arguments one command line may give (paths for mutate). */
#define ARGS_MAX 4096

enum { CMD_SERVE = 1 << 0, CMD_MUTATE = 1 << 1 };

/* A flag's value; a boolean flag holds "true" or "false" (NULL when not given). */
struct flags {
    const char *listen, *tls_cert, *tls_key, *kube_api, *kube_token_file, *kube_ca_file, *canaries;
    const char *loadtester_url, *override_group, *log_level, *max_unsynced, *threads, *shutdown_timeout;
    const char *watch_idle_timeout;
    const char *mesh_provider, *fail_open, *events, *write, *check, *diff;
    const char *shutdown_delay, *request_timeout, *max_connections, *per_address, *body_memory, *client_ca;
    const char *probe_listen;
    /* --flagger-deployment, repeatable: NULL-terminated for policy_config. */
    const char *flagger_deployments[FLAGGER_DEPLOYMENTS_MAX + 1];
    int n_flagger;
    char *flagger_env; /* MANUAL_GATE_FLAGGER_DEPLOYMENT, split in place at commas */
    const char *args[ARGS_MAX];
    int nargs;
};

static int add_flagger_deployment(struct flags *fl, const char *v);

#define F(field) offsetof(struct flags, field)
#define BOTH (CMD_SERVE | CMD_MUTATE)

static const struct flag_spec {
    const char *name; /* --name; the environment's MANUAL_GATE_NAME has '-' as '_' */
    char short_name;  /* -x, 0 for none */
    unsigned commands;
    int boolean;      /* needs no value: given alone it is true; --name=VALUE and the environment take
                         true/false, 1/0, yes/no */
    int env;          /* may be set from the environment (a repeatable flag: values separated by commas) */
    size_t offset;    /* of its const char * in struct flags */
    const char *help;
    int (*add)(struct flags *fl, const char *value); /* a repeatable flag: checks and adds one value */
} specs[] = {
    {"listen", 0, CMD_SERVE, 0, 1, F(listen), "address to serve HTTPS on (default :8443)", NULL},
    {"tls-cert", 0, CMD_SERVE, 0, 1, F(tls_cert), "PEM certificate chain, re-read when it changes", NULL},
    {"tls-key", 0, CMD_SERVE, 0, 1, F(tls_key), "PEM private key, re-read when it changes", NULL},
    {"kube-api", 0, CMD_SERVE, 0, 1, F(kube_api), "Kubernetes API URL (default: in-cluster)", NULL},
    {"kube-token-file", 0, CMD_SERVE, 0, 1, F(kube_token_file), "bearer token file (default: service account)", NULL},
    {"kube-ca-file", 0, CMD_SERVE, 0, 1, F(kube_ca_file), "API server CA bundle (default: service account)", NULL},
    {"canaries", 0, CMD_SERVE, 0, 1, F(canaries), "offline Canary source: YAML/JSON file or directory", NULL},
    {"max-unsynced", 0, CMD_SERVE, 0, 1, F(max_unsynced), "seconds unsynced before /readyz fails (default 60)", NULL},
    {"watch-idle-timeout", 0, CMD_SERVE, 0, 1, F(watch_idle_timeout), "seconds without a watch event or bookmark "
     "before the watch is replaced (default 180)", NULL},
    {"loadtester-url", 0, BOTH, 0, 1, F(loadtester_url), "default Flagger loadtester base URL", NULL},
    {"override-group", 0, CMD_SERVE, 0, 1, F(override_group), "group whose members may override a denial", NULL},
    {"mesh-provider", 0, BOTH, 0, 1, F(mesh_provider), "Flagger's -mesh-provider (for Canaries without spec.provider)",
     NULL},
    {"fail-open", 0, CMD_SERVE, 1, 1, F(fail_open), "allow template changes when the Canary cache cannot answer", NULL},
    {"events", 0, CMD_SERVE, 1, 1, F(events), "post Kubernetes Events about denials and overrides (default true)",
     NULL},
    {"log-level", 0, CMD_SERVE, 0, 1, F(log_level), "debug, info, warn or error (default info)", NULL},
    {"threads", 0, CMD_SERVE, 0, 1, F(threads), "worker threads (default 2)", NULL},
    {"shutdown-timeout", 0, CMD_SERVE, 0, 1, F(shutdown_timeout), "seconds to drain after SIGTERM (default 20)", NULL},
    {"shutdown-delay", 0, CMD_SERVE, 0, 1, F(shutdown_delay), "seconds to keep serving after SIGTERM while /readyz "
     "fails, so endpoints are removed first (default 5)", NULL},
    {"request-timeout", 0, CMD_SERVE, 0, 1, F(request_timeout), "seconds a request may take to arrive whole, headers "
     "and body (default 10)", NULL},
    {"max-connections", 0, CMD_SERVE, 0, 1, F(max_connections), "open connections at most (default 4096)", NULL},
    {"max-connections-per-address", 0, CMD_SERVE, 0, 1, F(per_address), "open connections per client address at "
     "most (default 0: no limit)", NULL},
    {"body-memory", 0, CMD_SERVE, 0, 1, F(body_memory), "MiB all request bodies may hold together; past it 503 "
     "(default 64)", NULL},
    {"client-ca", 0, CMD_SERVE, 0, 1, F(client_ca), "PEM CA bundle: require a client certificate it verifies", NULL},
    {"probe-listen", 0, CMD_SERVE, 0, 1, F(probe_listen), "address to serve /healthz, /readyz and /metrics on over "
     "plain HTTP, for probes and scrapes without a client certificate (default: off)", NULL},
    {"flagger-deployment", 0, CMD_SERVE, 0, 1, 0, "NAMESPACE/NAME of a Deployment running Flagger (repeatable): its "
     "new pod template is denied while a gated release is in flight", add_flagger_deployment},
    {"write", 'w', CMD_MUTATE, 1, 0, F(write), "write each file that changes in place (atomically) and list it", NULL},
    {"check", 0, CMD_MUTATE, 1, 0, F(check), "list the files that would change and exit 1 if any; write nothing", NULL},
    {"diff", 0, CMD_MUTATE, 1, 0, F(diff), "print a unified diff of each file that would change", NULL},
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static int cmd_serve(const struct flags *fl);
static int cmd_mutate(const struct flags *fl);
static int cmd_version(const struct flags *fl);

static const struct command {
    const char *name;
    unsigned bit;
    const char *args;  /* positional arguments, as usage shows them */
    int min_args, max_args;
    const char *summary;
    int (*run)(const struct flags *fl);
    /* The operator commands parse their own flags (ops.h): run with the arguments after the command. */
    int (*run_own)(int argc, char **argv);
} commands[] = {
    {"serve", CMD_SERVE, "", 0, 0, "serve POST /mutate, POST /validate, /healthz, /readyz, /metrics", cmd_serve,
     NULL},
    {"mutate", CMD_MUTATE, "PATH...", 1, ARGS_MAX, "complete the Canaries in files and directories (- for stdin) as "
                                                   "the cluster would, keeping the files as written", cmd_mutate, NULL},
    {"status", 0, "[NAME]", 0, 1, "gated releases and the state of their gates", NULL, ops_status_main},
    {"gate", 0, "open|close NAME", 2, 2, "let Flagger take the next step of a gated release (or close the gate)",
     NULL, ops_gate_main},
    {"rollback", 0, "open|close NAME", 2, 2, "roll a gated release back by hand, or close the rollback gate", NULL,
     ops_rollback_main},
    {"check", 0, "KIND/NAME", 1, 1, "exit 0 when a change to the object may be released now, 1 when denied", NULL,
     ops_check_main},
    {"version", 0, "", 0, 0, "print the version", cmd_version, NULL},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "manual-gate %s: admission webhook that protects Flagger manual-gated canary releases\n\nusage:\n",
            MG_VERSION);
    for (i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  manual-gate %s%s%s%s\n      %s\n", commands[i].name,
                commands[i].bit || commands[i].run_own ? " [flags]" : "",
                *commands[i].args ? " " : "", commands[i].args, commands[i].summary);
    fprintf(f, "\n'manual-gate COMMAND --help' lists the flags of a command.\n");
}

/* MANUAL_GATE_<NAME>, '-' as '_', upper case. */
static void env_name(const struct flag_spec *s, char *buf, size_t len)
{
    size_t j;

    snprintf(buf, len, "MANUAL_GATE_%s", s->name);
    for (j = 12; buf[j]; j++)
        buf[j] = buf[j] == '-' ? '_' : (char)(buf[j] >= 'a' && buf[j] <= 'z' ? buf[j] - 32 : buf[j]);
}

static void command_usage(FILE *f, const struct command *c)
{
    size_t i;
    char name[40], env[64];

    fprintf(f, "usage: manual-gate %s [flags]%s%s\n  %s\n", c->name, *c->args ? " " : "", c->args, c->summary);
    if (c->bit == CMD_MUTATE)
        fprintf(f, "\n  Each PATH is a file or a directory (walked for *.yaml, *.yml, *.json). Without -w, --check or\n"
                   "  --diff the results are printed. Exit status: 0 done, 1 a Canary would be denied (the file is\n"
                   "  left alone) or with --check a file would change, 2 unreadable input or bad usage.\n");
    fprintf(f, "\nflags (environment variable in brackets):\n");
    for (i = 0; i < NSPECS; i++) {
        if (!(specs[i].commands & c->bit))
            continue;
        if (specs[i].short_name)
            snprintf(name, sizeof(name), "-%c, --%s", specs[i].short_name, specs[i].name);
        else
            snprintf(name, sizeof(name), "--%s%s", specs[i].name, specs[i].boolean ? "" : " VALUE");
        env_name(&specs[i], env, sizeof(env));
        fprintf(f, "  %-24s %s%s%s%s\n", name, specs[i].help, specs[i].env ? " [" : "", specs[i].env ? env : "",
                specs[i].env ? "]" : "");
    }
    fprintf(f, "  %-24s %s\n", "-h, --help", "show this help");
    fprintf(f, "\nA boolean flag alone means true; --flag=false, and its environment variable, take true/false,\n"
               "1/0 or yes/no. A repeatable flag's variable takes its values separated by commas.\n");
}

static const char **flag_slot(struct flags *fl, const struct flag_spec *s)
{
    return (const char **)((char *)fl + s->offset);
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

/* A repeatable flag from the environment: its values separated by commas. 0, or -1 after a message. */
static int env_list(struct flags *fl, const struct flag_spec *s, const char *v)
{
    char *save = NULL, *tok;

    if (!(fl->flagger_env = strdup(v)))
        return -1;
    for (tok = strtok_r(fl->flagger_env, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        if (s->add(fl, tok) < 0)
            return -1;
    return 0;
}

/* A boolean's value: "true" or "false", NULL for anything else. */
static const char *boolean_of(const char *v)
{
    static const char *const yes[] = {"true", "1", "yes"}, *const no[] = {"false", "0", "no"};
    size_t i;

    for (i = 0; i < 3; i++) {
        if (strcmp(v, yes[i]) == 0)
            return "true";
        if (strcmp(v, no[i]) == 0)
            return "false";
    }
    return NULL;
}

/* Set a flag from a value given on the command line or in the environment (where says which, for the
 * message). 0, or -1 after a message. */
static int set_value(struct flags *fl, const struct flag_spec *s, const char *v, const char *where)
{
    if (s->add)
        return where[0] == '-' ? s->add(fl, v) : env_list(fl, s, v);
    if (s->boolean && !(v = boolean_of(v))) {
        fprintf(stderr, "manual-gate: %s is a boolean: give true or false (1/0, yes/no)\n", where);
        return -1;
    }
    *flag_slot(fl, s) = v;
    return 0;
}

/* Flags the command takes, from MANUAL_GATE_<FLAG>. 0, or -1 after a message. */
static int env_defaults(struct flags *fl, unsigned cmd)
{
    char env[64];
    const char *v;
    size_t i;

    for (i = 0; i < NSPECS; i++) {
        if (!specs[i].env || !(specs[i].commands & cmd))
            continue;
        env_name(&specs[i], env, sizeof(env));
        if ((v = getenv(env)) == NULL || !*v)
            continue;
        if (set_value(fl, &specs[i], v, env) < 0)
            return -1;
    }
    return 0;
}

static const struct flag_spec *find_flag(const char *a, size_t nlen, int is_short)
{
    size_t k;

    for (k = 0; k < NSPECS; k++)
        if (is_short ? specs[k].short_name == a[0] && nlen == 1
                     : strlen(specs[k].name) == nlen && strncmp(a, specs[k].name, nlen) == 0)
            return &specs[k];
    return NULL;
}

/* One flag at argv[*i]; its value may be the next argument. 0, or -1 after a message. */
static int parse_flag(const struct command *c, int argc, char **argv, int *i, struct flags *fl)
{
    const char *a = argv[*i], *eq, *value;
    int is_short = a[1] != '-';
    const struct flag_spec *s;
    char where[48];
    size_t nlen;

    a += is_short ? 1 : 2;
    eq = strchr(a, '=');
    nlen = eq ? (size_t)(eq - a) : strlen(a);
    if (!(s = find_flag(a, nlen, is_short))) {
        fprintf(stderr, "manual-gate %s: unknown flag '%s' (see manual-gate %s --help)\n", c->name, argv[*i], c->name);
        return -1;
    }
    if (!(s->commands & c->bit)) {
        fprintf(stderr, "manual-gate %s: --%s is not a flag of %s (see manual-gate %s --help)\n", c->name, s->name,
                c->name, c->name);
        return -1;
    }
    if (s->boolean && !eq) {
        *flag_slot(fl, s) = "true";
        return 0;
    }
    if (!eq && *i + 1 >= argc) {
        fprintf(stderr, "manual-gate %s: flag '--%s' needs a value\n", c->name, s->name);
        return -1;
    }
    value = eq ? eq + 1 : argv[++*i];
    snprintf(where, sizeof(where), "--%s", s->name);
    return set_value(fl, s, value, where);
}

/* Flags and positional arguments after the command name. 0, 1 when help was printed, -1 on an error
 * (printed). */
static int parse_args(const struct command *c, int argc, char **argv, struct flags *fl)
{
    int i, only_args = 0;

    for (i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (only_args || strcmp(a, "-") == 0 || a[0] != '-') {
            if (fl->nargs >= c->max_args) {
                fprintf(stderr, "manual-gate %s: unexpected argument '%s'\n", c->name, a);
                return -1;
            }
            fl->args[fl->nargs++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_args = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            command_usage(stdout, c);
            return 1;
        } else if (parse_flag(c, argc, argv, &i, fl) < 0) {
            return -1;
        }
    }
    if (fl->nargs < c->min_args) {
        fprintf(stderr, "manual-gate %s: give %s (see manual-gate %s --help)\n", c->name, c->args, c->name);
        return -1;
    }
    return 0;
}

/* A whole number in [min, max] (unset: *out stays). 0, or -1 after a message. */
static int parse_uint(const char *s, const char *flag, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (!s)
        return 0;
    v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "manual-gate: --%s must be a whole number from %lu to %lu, not '%s'\n", flag, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* --listen, --probe-listen (flag): "[host]:port" with a port of 1-65535 (the server resolves the host). 0, or
 * -1 after a message. */
static int check_listen(const char *flag, const char *listen)
{
    const char *colon = strrchr(listen, ':');
    char *end = NULL;
    unsigned long port = 0;

    if (colon && colon[1] >= '0' && colon[1] <= '9')
        port = strtoul(colon + 1, &end, 10);
    if (!colon || (listen[0] == '[' && colon[-1] != ']')) {
        fprintf(stderr, "manual-gate: --%s wants host:port, :port or [ipv6]:port, not '%s'\n", flag, listen);
        return -1;
    }
    if (!end || *end || port < 1 || port > 65535) {
        fprintf(stderr, "manual-gate: --%s %s: the port must be a number from 1 to 65535\n", flag, listen);
        return -1;
    }
    return 0;
}

/* The values that are wrong whatever happens later: a clear message at start rather than a denial of every
 * Canary. 0, or -1 after a message. */
static int check_policy_flags(const struct flags *fl)
{
    char origin[URL_ORIGIN_MAX];

    if (fl->loadtester_url && url_origin(fl->loadtester_url, URL_CANONICAL, 1, origin, sizeof(origin)) < 0) {
        fprintf(stderr, "manual-gate: --loadtester-url wants the loadtester's base URL, http(s)://host[:port] without "
                        "a path or credentials (e.g. http://flagger-loadtester.test), not '%s'\n", fl->loadtester_url);
        return -1;
    }
    if (fl->mesh_provider && !canary_mesh_provider_known(fl->mesh_provider)) {
        fprintf(stderr, "manual-gate: --mesh-provider is Flagger's -mesh-provider, one of %s; not '%s'\n",
                CANARY_MESH_PROVIDERS, fl->mesh_provider);
        return -1;
    }
    if (fl->override_group && !fl->override_group[0]) {
        fprintf(stderr, "manual-gate: --override-group is empty; leave it out for no override group\n");
        return -1;
    }
    return 0;
}

static int is_true(const char *boolean)
{
    return boolean && strcmp(boolean, "true") == 0;
}

static struct policy_config policy_config_of(const struct flags *fl)
{
    struct policy_config p = {fl->loadtester_url, fl->override_group, is_true(fl->fail_open), fl->mesh_provider,
                              fl->flagger_deployments};

    return p;
}

/* Every serve flag checked before anything starts. 0, or 2 (the exit status) after a message. */
static int check_serve_flags(const struct flags *fl, struct server_config *scfg, struct cache_config *ccfg)
{
    unsigned long max_unsynced = 60, threads = 2, shutdown = 20, idle = 180, delay = 5, request = 10;
    unsigned long conns = 4096, per_address = 0, body_mib = 64;

    if (fl->log_level && log_set_level(fl->log_level) != 0) {
        fprintf(stderr, "manual-gate: --log-level is debug, info, warn or error, not '%s'\n", fl->log_level);
        return 2;
    }
    if (!fl->tls_cert || !fl->tls_key) {
        fprintf(stderr, "manual-gate serve: --tls-cert and --tls-key are required (see certs/make-certs.sh)\n");
        return 2;
    }
    if (check_listen("listen", scfg->listen) < 0 ||
        (fl->probe_listen && check_listen("probe-listen", fl->probe_listen) < 0) || check_policy_flags(fl) < 0 ||
        parse_uint(fl->max_unsynced, "max-unsynced", 1, 86400, &max_unsynced) < 0 ||
        parse_uint(fl->threads, "threads", 1, 64, &threads) < 0 ||
        parse_uint(fl->shutdown_timeout, "shutdown-timeout", 0, 3600, &shutdown) < 0 ||
        parse_uint(fl->watch_idle_timeout, "watch-idle-timeout", 1, 3600, &idle) < 0 ||
        parse_uint(fl->shutdown_delay, "shutdown-delay", 0, 600, &delay) < 0 ||
        parse_uint(fl->request_timeout, "request-timeout", 1, 120, &request) < 0 ||
        parse_uint(fl->max_connections, "max-connections", 16, 1000000, &conns) < 0 ||
        parse_uint(fl->per_address, "max-connections-per-address", 0, 1000000, &per_address) < 0 ||
        parse_uint(fl->body_memory, "body-memory", 7, 65536, &body_mib) < 0)
        return 2;
    if (fl->client_ca && !fl->client_ca[0]) {
        fprintf(stderr, "manual-gate: --client-ca is empty; leave it out to accept clients without certificates\n");
        return 2;
    }
    scfg->shutdown_delay = (unsigned)delay;
    scfg->request_timeout = (unsigned)request;
    scfg->max_connections = (unsigned)conns;
    scfg->per_address = (unsigned)per_address;
    scfg->body_budget = (size_t)body_mib << 20;
    scfg->client_ca = fl->client_ca;
    scfg->probe_listen = fl->probe_listen;
    ccfg->max_unsynced_seconds = (long)max_unsynced;
    ccfg->watch_idle_seconds = (long)idle;
    scfg->threads = (unsigned)threads;
    scfg->shutdown_timeout = (unsigned)shutdown;
    return 0;
}

/* The Events queue, when an API server is configured and --events is not false. 0, or -1 after a log line. */
static int start_events(const struct flags *fl, struct server_config *scfg)
{
    struct kube_config kcfg = {fl->kube_api, fl->kube_token_file, fl->kube_ca_file};
    char err[256];

    if (fl->events && !is_true(fl->events)) {
        log_info("events: off (--events=false)");
        return 0;
    }
    if (!kube_configured(&kcfg)) {
        log_info("events: off (no Kubernetes API to post them to)");
        return 0;
    }
    if (!(scfg->events = events_start(&kcfg, err, sizeof(err)))) {
        log_error("cannot start the Events queue: %s", err);
        return -1;
    }
    return 0;
}

static int cmd_serve(const struct flags *fl)
{
    struct policy_config pcfg = policy_config_of(fl);
    struct cache_config ccfg = {fl->kube_api, fl->kube_token_file, fl->kube_ca_file, fl->canaries, 60, 180};
    struct server_config scfg = {fl->listen ? fl->listen : ":8443", fl->tls_cert, fl->tls_key, 2, 20, 5, 10, 4096, 0,
                                 64u << 20, NULL, NULL, &pcfg, NULL, NULL};
    char err[256];
    int rc;

    if ((rc = check_serve_flags(fl, &scfg, &ccfg)) != 0)
        return rc;
    /* Before any thread starts, so that only server_run's sigtimedwait sees SIGTERM/SIGINT; and cJSON's
     * allocation hooks, which every thread reads. */
    server_block_signals();
    arena_install();
#ifdef __GLIBC__
    /* A fixed threshold: glibc otherwise raises it each time a large block is freed, and from then on a
     * /metrics page (3.7 MB with 10,000 gated Canaries) stays in the heap after it is sent (measured: 19
     * MiB at rest became 35 MiB after 20 scrapes; with this, 19.3 MiB). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    scfg.cache = cache_start(&ccfg, err, sizeof(err));
    if (!scfg.cache) {
        log_error("cannot start the Canary cache: %s", err);
        return 2;
    }
    if (start_events(fl, &scfg) < 0) {
        cache_stop(scfg.cache);
        return 2;
    }
    rc = server_run(&scfg);
    events_stop(scfg.events);
    cache_stop(scfg.cache);
    return rc;
}

static int cmd_mutate(const struct flags *fl)
{
    struct policy_config pcfg = policy_config_of(fl);
    struct offline_options opt = {is_true(fl->write), is_true(fl->check), is_true(fl->diff)};

    if (check_policy_flags(fl) < 0)
        return 2;
    if (opt.write && opt.check) {
        fprintf(stderr, "manual-gate mutate: -w writes and --check writes nothing: give one of them\n");
        return 2;
    }
    return offline_mutate(fl->args, fl->nargs, &opt, &pcfg);
}

static int cmd_version(const struct flags *fl)
{
    (void)fl;
    printf("manual-gate %s (commit %s)\n", MG_VERSION, MG_COMMIT);
    return 0;
}

int main(int argc, char **argv)
{
    static struct flags fl;
    const char *name = argc > 1 ? argv[1] : NULL;
    const struct command *c = NULL;
    size_t i;
    int rc;

    if (!name || strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        usage(name ? stdout : stderr);
        return name ? 0 : 2;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (i = 0; i < NCOMMANDS && !c; i++)
        if (strcmp(name, commands[i].name) == 0)
            c = &commands[i];
    if (!c) {
        fprintf(stderr, "manual-gate: unknown command '%s' (see manual-gate --help)\n", name);
        return 2;
    }
    if (c->run_own)
        return c->run_own(argc - 2, argv + 2);
    if (env_defaults(&fl, c->bit) < 0)
        rc = 2;
    else if ((rc = parse_args(c, argc - 2, argv + 2, &fl)) != 0)
        rc = rc < 0 ? 2 : 0;
    else
        rc = c->run(&fl);
    free(fl.flagger_env);
    return rc;
}
