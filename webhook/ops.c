/*
 * The shared part of the operator commands: one command-line parser for all of them (each says which
 * flags it takes), Canary reads through kubectl, the confirmation prompt, terminal detection, and the
 * times of a Canary's status as Flagger writes them (pkg/canary/status.go in Flagger's source).
 */
#include "ops.h"

#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "canary.h"
#include "obj.h"

#define CANARIES_API "/apis/flagger.app/v1beta1"

static const char *const help_common =
    "  -n, --namespace NS     the Canary's namespace (default: the kubeconfig context's)\n"
    "      --kubeconfig PATH  passed to kubectl\n"
    "      --context NAME     passed to kubectl\n"
    "  -h, --help             this text\n"
    "\nAll API access goes through kubectl (MANUAL_GATE_KUBECTL names another binary).\n"
    "Exit codes: 0 done, 1 refused or not done, 2 errors.\n";

int ops_error(const struct ops_opts *o, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "manual-gate %s: ", o->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return OPS_EXIT_ERROR;
}

/* A duration flag: a Go duration ("90s", "10m", "1h30m") or whole seconds. */
static int parse_seconds(const struct ops_opts *o, const char *flag, const char *v, long min, long *out)
{
    char *end;
    double d = strtod(v, &end);

    if (end == v || *end != '\0')
        d = canary_parse_go_duration(v);
    if (d < (double)min || d > 86400.0 * 365) {
        ops_error(o, "%s takes a duration of at least %lds, like 90s, 10m or 2h, not '%s'", flag, min, v);
        return -1;
    }
    *out = (long)d;
    return 0;
}

/* The flags with a value: their value, from "--flag=v", "--flag v", "-x v" or "-xv". NULL when a is not
 * this flag; *missing is set when it is but the value is missing. */
static const char *flag_value(int argc, char **argv, int *i, const char *shortf, const char *longf, int *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(longf);

    if (strncmp(a, longf, n) == 0 && a[n] == '=')
        return a + n + 1;
    if (strcmp(a, longf) != 0 && !(shortf && strcmp(a, shortf) == 0)) {
        if (shortf && strncmp(a, shortf, 2) == 0 && a[2] != '\0' && a[2] != '-')
            return a + (a[2] == '=' ? 3 : 2);
        return NULL;
    }
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

enum flag_type { FLAG_STRING, FLAG_SECONDS, FLAG_SWITCH };

static const struct flag_def {
    const char *shortf, *longf;
    unsigned needs;      /* the OPS_F_ bit a command sets to take it (0: every command) */
    enum flag_type type;
    size_t offset;       /* of the const char *, long or int in struct ops_opts */
} flag_defs[] = {
    {NULL, "--kubeconfig", 0, FLAG_STRING, offsetof(struct ops_opts, kube.kubeconfig)},
    {NULL, "--context", 0, FLAG_STRING, offsetof(struct ops_opts, kube.context)},
    {"-n", "--namespace", 0, FLAG_STRING, offsetof(struct ops_opts, namespace_)},
    {"-o", "--output", OPS_F_OUTPUT, FLAG_STRING, offsetof(struct ops_opts, output)},
    {NULL, "--interval", OPS_F_WATCH, FLAG_SECONDS, offsetof(struct ops_opts, interval)},
    {NULL, "--timeout", OPS_F_WAIT, FLAG_SECONDS, offsetof(struct ops_opts, timeout)},
    {"-A", "--all-namespaces", OPS_F_ALL, FLAG_SWITCH, offsetof(struct ops_opts, all_namespaces)},
    {"-w", "--watch", OPS_F_WATCH, FLAG_SWITCH, offsetof(struct ops_opts, watch)},
    {"-y", "--yes", OPS_F_YES, FLAG_SWITCH, offsetof(struct ops_opts, yes)},
    {NULL, "--wait", OPS_F_WAIT, FLAG_SWITCH, offsetof(struct ops_opts, wait)},
    {NULL, "--flagger-deployment", OPS_F_FLAGGER, FLAG_STRING, offsetof(struct ops_opts, flagger_deployment)},
};

/* One flag at argv[*i]; 0 handled, -1 error (printed), 1 not a flag this command takes. */
static int parse_flag(int argc, char **argv, int *i, unsigned flags, struct ops_opts *o)
{
    const char *a = argv[*i], *v;
    size_t k;
    int missing = 0;

    for (k = 0; k < sizeof(flag_defs) / sizeof(flag_defs[0]); k++) {
        const struct flag_def *d = &flag_defs[k];
        char *slot = (char *)o + d->offset;

        if (d->needs && !(flags & d->needs))
            continue;
        if (d->type == FLAG_SWITCH) {
            if (strcmp(a, d->longf) != 0 && !(d->shortf && strcmp(a, d->shortf) == 0))
                continue;
            *(int *)slot = 1;
            return 0;
        }
        if (!(v = flag_value(argc, argv, i, d->shortf, d->longf, &missing))) {
            if (missing)
                return ops_error(o, "%s needs a value", a), -1;
            continue;
        }
        if (d->type == FLAG_SECONDS)
            return parse_seconds(o, d->longf, v, 1, (long *)slot);
        *(const char **)slot = v;
        return 0;
    }
    return 1;
}

int ops_parse(int argc, char **argv, const char *cmd, unsigned flags, int max_args, const char *usage,
              struct ops_opts *o)
{
    int i, rc;

    memset(o, 0, sizeof(*o));
    o->cmd = cmd;
    o->interval = 5;
    o->timeout = 30 * 60;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("%s%s", usage, help_common);
            return OPS_EXIT_OK;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (o->nargs >= max_args)
                return ops_error(o, "unexpected argument '%s' (see --help)", a);
            o->args[o->nargs++] = a;
            continue;
        }
        if ((rc = parse_flag(argc, argv, &i, flags, o)) < 0)
            return OPS_EXIT_ERROR;
        if (rc > 0)
            return ops_error(o, "unknown flag '%s' (see --help)", a);
    }
    if (o->output && strcmp(o->output, "json") != 0 && strcmp(o->output, "yaml") != 0)
        return ops_error(o, "-o takes json or yaml, not '%s'", o->output);
    if (o->all_namespaces && o->namespace_)
        return ops_error(o, "give -n NAMESPACE or -A, not both");
    return OPS_GO;
}

const char *ops_namespace(struct ops_opts *o)
{
    char err[600];

    if (o->namespace_)
        return o->namespace_;
    if (kubectl_namespace(&o->kube, o->ns_buf, sizeof(o->ns_buf), err, sizeof(err)) != 0) {
        ops_error(o, "%s", err);
        return NULL;
    }
    o->namespace_ = o->ns_buf;
    return o->namespace_;
}

const char *ops_target(const cJSON *canary, char *buf, size_t len)
{
    const cJSON *ref = obj_get(obj_get(canary, "spec"), "targetRef");

    snprintf(buf, len, "%s/%s", obj_string_or(ref, "kind", "?"), obj_string_or(ref, "name", "?"));
    return buf;
}

cJSON *ops_get_canary(const struct ops_opts *o, const char *ns, const char *name, char *err, size_t errlen)
{
    struct kubectl_result res;
    char path[512], where[100];
    cJSON *c;

    snprintf(path, sizeof(path), CANARIES_API "/namespaces/%s/canaries/%s", ns, name);
    c = kubectl_get_json(&o->kube, path, &res);
    if (!c && res.status == KUBECTL_NOT_FOUND) {
        snprintf(err, errlen, "no Canary %s in namespace %s", name, ns);
    } else if (!c) {
        snprintf(where, sizeof(where), "in namespace %s", ns);
        kubectl_describe(&res, "get", "canaries.flagger.app", where, err, errlen);
    }
    kubectl_result_free(&res);
    return c;
}

cJSON *ops_list_canaries(const struct ops_opts *o, const char *ns, char *err, size_t errlen)
{
    struct kubectl_result res;
    char path[300], where[100];
    cJSON *list;

    if (ns)
        snprintf(path, sizeof(path), CANARIES_API "/namespaces/%s/canaries", ns);
    else
        snprintf(path, sizeof(path), CANARIES_API "/canaries");
    list = kubectl_get_json(&o->kube, path, &res);
    if (!list && res.status == KUBECTL_NOT_FOUND) {
        snprintf(err, errlen, "the API server does not serve canaries.flagger.app: is Flagger installed?");
    } else if (!list) {
        snprintf(where, sizeof(where), "in %s%s", ns ? "namespace " : "all namespaces", ns ? ns : "");
        kubectl_describe(&res, "list", "canaries.flagger.app", where, err, errlen);
    } else if (!cJSON_IsArray(obj_get(list, "items"))) {
        snprintf(err, errlen, "the answer to GET %s is not a list", path);
        cJSON_Delete(list);
        list = NULL;
    }
    kubectl_result_free(&res);
    return list;
}

int ops_confirm(const char *question)
{
    char line[64];

    if (!isatty(STDIN_FILENO))
        return -1;
    printf("%s [y/N] ", question);
    fflush(stdout);
    if (!fgets(line, sizeof(line), stdin)) {
        putchar('\n');
        return 0;
    }
    return strcmp(line, "y\n") == 0 || strcmp(line, "Y\n") == 0 || strcmp(line, "yes\n") == 0;
}

int ops_is_tty(void)
{
    return isatty(STDOUT_FILENO);
}

int ops_use_colour(void)
{
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

    return ops_is_tty() && !(no && *no) && !(term && strcmp(term, "dumb") == 0);
}

int ops_term_width(void)
{
    struct winsize ws;

    if (!ops_is_tty() || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0)
        return 0;
    return ws.ws_col;
}

long ops_parse_time(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, n = 0, oh, om;
    const char *z;
    long t;

    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
        return -1;
    z = s + n;
    if (*z == '.')
        for (z++; *z >= '0' && *z <= '9'; z++)
            ;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = (long)timegm(&tm);
    if (strcmp(z, "Z") == 0 || strcmp(z, "z") == 0)
        return t;
    if ((z[0] == '+' || z[0] == '-') && sscanf(z + 1, "%2d:%2d%n", &oh, &om, &n) == 2 && z[1 + n] == '\0')
        return t - (z[0] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
    return -1;
}

const char *ops_age(long s, char *buf, size_t len)
{
    if (s < 0)
        snprintf(buf, len, "-");
    else if (s < 60)
        snprintf(buf, len, "%lds", s);
    else if (s < 3600)
        snprintf(buf, len, "%ldm", s / 60);
    else if (s < 86400)
        snprintf(buf, len, "%ldh%ldm", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%ldd%ldh", s / 86400, s % 86400 / 3600);
    return buf;
}

long ops_release_started(const cJSON *canary)
{
    const cJSON *c;

    if (!canary_in_flight(canary))
        return -1;
    cJSON_ArrayForEach(c, obj_get(obj_get(canary, "status"), "conditions"))
        if (strcmp(obj_string_or(c, "type", ""), "Promoted") == 0)
            return ops_parse_time(obj_string(c, "lastTransitionTime"));
    return -1;
}

long ops_last_transition(const cJSON *canary)
{
    return ops_parse_time(obj_string(obj_get(canary, "status"), "lastTransitionTime"));
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

void ops_catch_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a prompt or a sleep returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int ops_interrupted(void)
{
    return interrupted;
}

int ops_sleep(long seconds)
{
    struct timespec ts = {seconds, 0};

    while (!interrupted && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return interrupted ? 1 : 0;
}
