/*
 * kubectl as a child process: posix_spawnp with an argv (no shell, so no quoting of names or paths),
 * stdin fed from memory or /dev/null (kubectl never reads the operator's terminal), stdout and stderr read
 * into bounded buffers with poll() until it exits or the deadline passes, and its error line sorted into
 * what a person does next.
 */
#include "kubectl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monotime.h"

extern char **environ;

/* A list of every Canary of a large cluster is tens of megabytes; beyond this something is wrong. */
#define KUBECTL_OUT_MAX (256u * 1024 * 1024)
/* kubectl's error output is a few lines; klog noise beyond this is not worth keeping. */
#define KUBECTL_ERR_MAX (64u * 1024)
/* Of the time a call may take, kubectl's own --request-timeout gets all but this much, left for its
 * start-up and for a version probe that some kubectl wrappers make first (with their own 5 s limit). */
#define KUBECTL_GRACE_SECONDS 10
#define KUBECTL_MAX_ARGS 24

static void set_message(struct kubectl_result *res, const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        n--;
    if (n >= sizeof(res->message))
        n = sizeof(res->message) - 1;
    memcpy(res->message, s, n);
    res->message[n] = '\0';
}

/* The first stderr line starting with prefix, or NULL; *len is its length without the newline. */
static const char *find_line(const char *text, const char *prefix, size_t *len)
{
    const char *line = text;

    while (line && *line) {
        const char *end = strchr(line, '\n');

        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            *len = end ? (size_t)(end - line) : strlen(line);
            return line;
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

/* "Error from server (REASON): MESSAGE" is how kubectl reports every error answer of the API server: the
 * Status's reason and message, or for a body that is not a Status (a proxied service's own answer) the
 * reason of the HTTP code and the body's text. */
static int classify_server_error(struct kubectl_result *res, const char *text)
{
    static const struct { const char *reason; enum kubectl_status status; } reasons[] = {
        {"Unauthorized", KUBECTL_UNAUTHORIZED}, {"Forbidden", KUBECTL_FORBIDDEN},
        {"NotFound", KUBECTL_NOT_FOUND},        {"ServiceUnavailable", KUBECTL_UNAVAILABLE},
    };
    const char *line, *close;
    size_t len, i, rlen;

    if (!(line = find_line(text, "Error from server (", &len)))
        return 0;
    line += strlen("Error from server (");
    len -= strlen("Error from server (");
    close = memchr(line, ')', len);
    if (!close)
        return 0;
    rlen = (size_t)(close - line);
    if (rlen >= sizeof(res->reason))
        rlen = sizeof(res->reason) - 1;
    memcpy(res->reason, line, rlen);
    res->reason[rlen] = '\0';
    len -= (size_t)(close - line) + 1;
    line = close + 1;
    if (len >= 2 && line[0] == ':' && line[1] == ' ') {
        line += 2;
        len -= 2;
    }
    set_message(res, line, len);
    res->status = KUBECTL_HTTP_ERROR;
    for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (strcmp(res->reason, reasons[i].reason) == 0)
            res->status = reasons[i].status;
    return 1;
}

void kubectl_classify(struct kubectl_result *res)
{
    const char *text = res->err.data ? res->err.data : "", *line;
    size_t len;

    res->reason[0] = res->message[0] = '\0';
    if (res->status == KUBECTL_MISSING || res->status == KUBECTL_TIMEOUT)
        return;
    if (res->exit_code == 0) {
        res->status = KUBECTL_OK;
        return;
    }
    if (classify_server_error(res, text))
        return;
    if ((line = find_line(text, "The connection to the server", &len)) != NULL ||
        (line = find_line(text, "Unable to connect to the server", &len)) != NULL) {
        res->status = KUBECTL_UNREACHABLE;
        set_message(res, line, len);
        return;
    }
    res->status = KUBECTL_FAILED;
    if ((line = find_line(text, "error: ", &len)) != NULL) {
        if (strstr(text, "You must be logged in to the server"))
            res->status = KUBECTL_UNAUTHORIZED;
        set_message(res, line + 7, len - 7);
    } else if (*text) {
        const char *end = strchr(text, '\n');

        set_message(res, text, end ? (size_t)(end - text) : strlen(text));
    } else {
        snprintf(res->message, sizeof(res->message), "kubectl exited with status %d and said nothing", res->exit_code);
    }
}

static int build_argv(const struct kubectl *k, const char *const *args, int timeout_seconds, const char **argv,
                      char *timeout_arg, size_t tlen)
{
    const char *bin = getenv("MANUAL_GATE_KUBECTL");
    int n = 0;

    argv[n++] = bin && *bin ? bin : "kubectl";
    if (k && k->kubeconfig) {
        argv[n++] = "--kubeconfig";
        argv[n++] = k->kubeconfig;
    }
    if (k && k->context) {
        argv[n++] = "--context";
        argv[n++] = k->context;
    }
    snprintf(timeout_arg, tlen, "--request-timeout=%ds",
             timeout_seconds > 2 * KUBECTL_GRACE_SECONDS ? timeout_seconds - KUBECTL_GRACE_SECONDS
                                                         : (timeout_seconds + 1) / 2);
    argv[n++] = timeout_arg;
    for (; *args; args++) {
        if (n >= KUBECTL_MAX_ARGS - 1)
            return -1;
        argv[n++] = *args;
    }
    argv[n] = NULL;
    return 0;
}

/* Start kubectl with three pipes; fds[0] is its stdin (ours to write), fds[1] and fds[2] its stdout and
 * stderr (ours to read). 0, or the posix_spawn error number. */
static int spawn(const char **argv, pid_t *pid, int fds[3])
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, rc;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t dflt;

    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        rc = errno;
        goto done;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    /* This process ignores SIGPIPE (a child may exit before reading its stdin); kubectl gets the default. */
    posix_spawnattr_init(&attr);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
done:
    if (in[0] >= 0)
        close(in[0]);
    if (out[1] >= 0)
        close(out[1]);
    if (err[1] >= 0)
        close(err[1]);
    fds[0] = in[1];
    fds[1] = out[0];
    fds[2] = err[0];
    if (rc != 0) {
        for (int i = 0; i < 3; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        fds[0] = fds[1] = fds[2] = -1;
    }
    return rc;
}

static void close_fd(int *fd)
{
    close(*fd);
    *fd = -1;
}

/* What stdin_data still has to go to kubectl's stdin. */
struct feed {
    const char *data;
    size_t len, off;
};

/* Write what kubectl's stdin takes now; closed when all is written or kubectl stopped reading. */
static void feed_stdin(int *fd, short revents, struct feed *f)
{
    ssize_t w = (revents & POLLOUT) ? write(*fd, f->data + f->off, f->len - f->off) : -1;

    if (w > 0)
        f->off += (size_t)w;
    if (w < 0 || f->off == f->len)
        close_fd(fd);
}

/* Read what one output pipe holds into b; closed at its end. -1 when stdout outgrows its buffer (stderr
 * beyond its limit is dropped: kubectl's first lines say what went wrong). */
static int drain(int *fd, struct buf *b, int is_stdout)
{
    char chunk[65536];
    ssize_t r = read(*fd, chunk, sizeof(chunk));

    if (r > 0 && buf_append(b, chunk, (size_t)r) != 0 && is_stdout)
        return -1;
    if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
        close_fd(fd);
    return 0;
}

/* Move data between the pipes until kubectl closes its stdout and stderr or the deadline passes.
 * 0, 1 on timeout, -1 when stdout overflows its buffer or poll fails. */
static int pump(int fds[3], const char *in, struct buf *out, struct buf *err, double deadline)
{
    struct feed f = {in, in ? strlen(in) : 0, 0};

    if (fds[0] >= 0 && f.len == 0)
        close_fd(&fds[0]);
    while (fds[1] >= 0 || fds[2] >= 0) {
        struct pollfd p[3] = {{fds[0], POLLOUT, 0}, {fds[1], POLLIN, 0}, {fds[2], POLLIN, 0}};
        double left = deadline - monotime_now();

        if (left <= 0)
            return 1;
        if (poll(p, 3, (int)(left * 1000) + 1) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (fds[0] >= 0 && p[0].revents)
            feed_stdin(&fds[0], p[0].revents, &f);
        if (fds[1] >= 0 && p[1].revents && drain(&fds[1], out, 1) != 0)
            return -1;
        if (fds[2] >= 0 && p[2].revents)
            drain(&fds[2], err, 0);
    }
    return 0;
}

static void result_init(struct kubectl_result *res)
{
    memset(res, 0, sizeof(*res));
    res->out.max = KUBECTL_OUT_MAX;
    res->err.max = KUBECTL_ERR_MAX;
    res->exit_code = -1;
}

int kubectl_run(const struct kubectl *k, const char *const *args, const char *stdin_data, int timeout_seconds,
                struct kubectl_result *res)
{
    const char *argv[KUBECTL_MAX_ARGS];
    char timeout_arg[48];
    int fds[3] = {-1, -1, -1}, rc, status, i;
    pid_t pid;

    result_init(res);
    if (build_argv(k, args, timeout_seconds, argv, timeout_arg, sizeof(timeout_arg)) != 0) {
        res->status = KUBECTL_FAILED;
        snprintf(res->message, sizeof(res->message), "too many kubectl arguments");
        return -1;
    }
    if ((rc = spawn(argv, &pid, fds)) != 0) {
        res->status = rc == ENOENT || rc == EACCES ? KUBECTL_MISSING : KUBECTL_FAILED;
        snprintf(res->message, sizeof(res->message), "cannot run %s: %s", argv[0], strerror(rc));
        return -1;
    }
    rc = pump(fds, stdin_data, &res->out, &res->err, monotime_now() + timeout_seconds);
    for (i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (rc != 0)
        kill(pid, SIGKILL); /* our own child, by its pid */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (rc == 0)
        res->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    res->status = rc == 1 ? KUBECTL_TIMEOUT : KUBECTL_FAILED;
    kubectl_classify(res);
    if (rc == 1)
        snprintf(res->message, sizeof(res->message), "kubectl did not finish within %d seconds", timeout_seconds);
    else if (rc < 0)
        snprintf(res->message, sizeof(res->message), "kubectl printed more than %u MiB", KUBECTL_OUT_MAX >> 20);
    if (rc < 0)
        res->status = KUBECTL_FAILED;
    return res->status == KUBECTL_OK ? 0 : -1;
}

/* Every API call gets this long (kubectl's own request timeout is 30 s of it): a status of a large cluster
 * lists all its Canaries in one call. */
#define KUBECTL_CALL_SECONDS 40

cJSON *kubectl_get_json(const struct kubectl *k, const char *path, struct kubectl_result *res)
{
    const char *args[] = {"get", "--raw", path, NULL};
    cJSON *j;

    if (kubectl_run(k, args, NULL, KUBECTL_CALL_SECONDS, res) != 0)
        return NULL;
    j = cJSON_ParseWithLength(res->out.data ? res->out.data : "", res->out.len);
    if (!j) {
        res->status = KUBECTL_FAILED;
        snprintf(res->message, sizeof(res->message), "the answer to GET %s is not JSON", path);
    }
    return j;
}

int kubectl_post(const struct kubectl *k, const char *path, const char *body, struct kubectl_result *res)
{
    const char *args[] = {"create", "--raw", path, "-f", "-", NULL};

    return kubectl_run(k, args, body, KUBECTL_CALL_SECONDS, res);
}

int kubectl_namespace(const struct kubectl *k, char *buf, size_t len, char *err, size_t errlen)
{
    const char *args[] = {"config", "view", "--minify", "-o", "jsonpath={.contexts[0].context.namespace}", NULL};
    struct kubectl_result res;
    const char *ns;
    int rc = -1;

    if (kubectl_run(k, args, NULL, KUBECTL_CALL_SECONDS, &res) != 0) {
        kubectl_describe(&res, NULL, NULL, NULL, err, errlen);
        goto done;
    }
    ns = res.out.data && *res.out.data ? res.out.data : "default";
    if (strlen(ns) >= len || strchr(ns, '\n')) {
        snprintf(err, errlen, "the namespace of the kubeconfig context is not usable: '%.80s'", ns);
        goto done;
    }
    snprintf(buf, len, "%s", ns);
    rc = 0;
done:
    kubectl_result_free(&res);
    return rc;
}

void kubectl_describe(const struct kubectl_result *res, const char *verb, const char *resource, const char *where,
                      char *buf, size_t len)
{
    switch (res->status) {
    case KUBECTL_OK:
        snprintf(buf, len, "no error");
        break;
    case KUBECTL_MISSING:
        snprintf(buf, len, "kubectl is not installed (%s); install it, or name it in MANUAL_GATE_KUBECTL",
                 res->message);
        break;
    case KUBECTL_UNREACHABLE:
        snprintf(buf, len, "cannot reach the API server of the kubeconfig context: %s", res->message);
        break;
    case KUBECTL_UNAUTHORIZED:
        snprintf(buf, len, "the API server refused the credentials of the kubeconfig context (log in again): %s",
                 res->message);
        break;
    case KUBECTL_FORBIDDEN:
        if (verb && resource)
            snprintf(buf, len, "RBAC refused to %s %s%s%s: %s", verb, resource, where ? " " : "", where ? where : "",
                     res->message);
        else
            snprintf(buf, len, "refused by the API server: %s", res->message);
        break;
    default:
        snprintf(buf, len, "%s%s%s", res->reason[0] ? res->reason : "", res->reason[0] ? ": " : "", res->message);
        break;
    }
}

void kubectl_result_free(struct kubectl_result *res)
{
    buf_free(&res->out);
    buf_free(&res->err);
}
