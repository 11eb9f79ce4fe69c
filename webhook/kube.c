/*
 * The Kubernetes API client: libcurl with the OpenSSL backend, one request at a time through a multi
 * handle so that another thread can interrupt a watch that may otherwise sit idle for minutes, and so
 * that connections are kept alive between requests. The bearer token is re-read when its file changes
 * (bound service-account tokens rotate about hourly through an atomic symlink swap, which changes the
 * inode) and after a 401.
 */
#include "kube.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "monotime.h"

#define SA_TOKEN "/var/run/secrets/kubernetes.io/serviceaccount/token"
#define SA_CA "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

/* A service-account token is a JWT of about 1 KB; a file much larger than this is not a token. */
#define TOKEN_MAX (64 * 1024)
/* One plain response: the cache asks for pages of 500 Canaries of a few KB each. The cap leaves
 * room for Canaries fifty times that size and still stops a runaway response. */
#define BODY_MAX ((size_t)128 << 20)
/* One watch event carries one object; etcd refuses objects above 1.5 MiB by default. */
#define LINE_MAX_BYTES ((size_t)8 << 20)
/* An error body on a stream is kept only for the log. */
#define ERROR_BODY_MAX ((size_t)64 << 10)
#define CONNECT_TIMEOUT_S 10L
#define GET_TIMEOUT_S 60L

struct kube {
    char *base;
    char *token_file;
    char *ca_file;
    char *token;
    struct stat token_st;
    CURL *easy;
    CURLM *multi;
    int curl_ready; /* curl_global_init succeeded: kube_close balances it */
    atomic_int interrupted;
    const char *post; /* the body of the POST under way (kube_post), NULL for a GET */
    size_t post_len;
};

/* One transfer: a plain body, or a stream cut into lines. */
struct xfer {
    CURL *easy;
    int stream;
    kube_line_fn fn;
    void *ctx;
    struct buf body; /* the body, or the current line of a stream */
    int lines_on;   /* a 2xx stream: the write callback cuts lines */
    int reader_stopped, too_big, oom, idle; /* why it ended early: the reader, the cap, memory, silence */
    double idle_s;    /* a stream: longest wait for the response and then for each next line, 0 for none */
    double last_line; /* monotime of the request's start or of the last complete line */
};

static int kube_https(const char *url)
{
    return strncmp(url, "https://", 8) == 0;
}

static void secret_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Tokens live in buffers of TOKEN_MAX + 1 bytes (token_read): wipe all of it, not only up to a NUL a
 * file larger than a token never had. */
static void token_free(char *tok)
{
    if (tok) {
        explicit_bzero(tok, TOKEN_MAX + 1);
        free(tok);
    }
}

static int xfer_line(struct xfer *x)
{
    size_t n = x->body.len;

    if (n && x->body.data[n - 1] == '\r')
        n--;
    x->body.len = 0; /* the next line reuses the memory */
    if (n == 0)
        return 0;   /* blank lines are no sign of life */
    x->last_line = monotime_now();
    x->body.data[n] = '\0';
    return x->fn(x->ctx, x->body.data, n);
}

static size_t xfer_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nmemb, i = 0, j;

    if (!x->lines_on) {
        if (buf_append(&x->body, data, n) == 0)
            return n;
        if (x->stream)
            return n;   /* an error body on a stream: keep the start only */
        x->oom = !(x->too_big = errno == EFBIG);
        return 0;
    }
    while (i < n) {
        for (j = i; j < n && data[j] != '\n'; j++)
            ;
        if (buf_append(&x->body, data + i, j - i) != 0) {
            x->oom = !(x->too_big = errno == EFBIG);
            return 0;
        }
        if (j == n)
            break;
        if (xfer_line(x) != 0) {
            x->reader_stopped = 1;
            return 0;
        }
        i = j + 1;
    }
    return n;
}

static size_t xfer_header(char *data, size_t size, size_t nitems, void *userdata)
{
    struct xfer *x = userdata;
    size_t n = size * nitems;
    long code = 0;

    if (n > 2 || (n >= 1 && data[0] != '\r' && data[0] != '\n'))
        return n;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200)
        return n;   /* an interim 1xx response: the real one follows */
    if (x->stream && code < 300) {
        x->lines_on = 1;
        x->body.max = LINE_MAX_BYTES;
        if (x->fn(x->ctx, NULL, 0) != 0) {
            x->reader_stopped = 1;
            return 0;
        }
    }
    return n;
}

/* Called about once a second while a transfer waits, and as data arrives: end a stream silent for idle_s. */
static int xfer_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = userdata;

    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    x->idle = monotime_now() - x->last_line > x->idle_s;
    return x->idle;
}

/* 1 when the token file is another file, or the same one rewritten, since it was read last. */
static int token_file_changed(const struct kube *k, const struct stat *st)
{
    return st->st_ino != k->token_st.st_ino || st->st_dev != k->token_st.st_dev ||
           st->st_size != k->token_st.st_size || st->st_mtim.tv_sec != k->token_st.st_mtim.tv_sec ||
           st->st_mtim.tv_nsec != k->token_st.st_mtim.tv_nsec;
}

/* Read a token file (trailing white space dropped) into a new NUL-terminated buffer of TOKEN_MAX + 1
 * bytes, which the caller wipes and frees. NULL after logging why. */
static char *token_read(const char *path)
{
    char *tok = calloc(1, TOKEN_MAX + 1);
    FILE *f = fopen(path, "rb");
    size_t n = 0;

    if (tok && f)
        n = fread(tok, 1, TOKEN_MAX + 1, f);
    if (f)
        fclose(f);
    if (!tok || !f || n > TOKEN_MAX) {
        log_warn(n > TOKEN_MAX ? "kube: token file %s is larger than the 64 KiB a token may be"
                               : "kube: cannot read token file %s", path);
        token_free(tok);
        return NULL;
    }
    while (n && strchr("\n\r \t", tok[n - 1]))
        n--;
    tok[n] = '\0';
    return tok;
}

/* Re-read the token when forced or when the file is not the one read last. 1 when the token
 * changed, 0 when not, -1 when there is no token at all. */
static int kube_token_refresh(struct kube *k, int force)
{
    struct stat st;
    char *tok;

    if (!k->token_file)
        return 0;
    if (stat(k->token_file, &st) != 0) {
        log_warn("kube: cannot stat token file %s", k->token_file);
        return k->token ? 0 : -1;
    }
    if (!force && k->token && !token_file_changed(k, &st))
        return 0;
    if (!(tok = token_read(k->token_file)))
        return k->token ? 0 : -1;
    k->token_st = st;
    if (k->token && strcmp(k->token, tok) == 0) {
        token_free(tok);
        return 0;
    }
    if (k->token)
        log_info("kube: token file %s changed, using the new token", k->token_file);
    token_free(k->token);
    k->token = tok;
    return 1;
}

static void headers_free(struct curl_slist *h)
{
    struct curl_slist *p;

    for (p = h; p; p = p->next)
        explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

/* Accept and, with a token, Authorization headers; NULL when out of memory. The Authorization line is a
 * secret: headers_free wipes it. */
static struct curl_slist *request_headers(const struct kube *k)
{
    struct curl_slist *headers = curl_slist_append(NULL, "Accept: application/json"), *h;
    char *auth = NULL;
    size_t n;

    if (headers && k->post && !(h = curl_slist_append(headers, "Content-Type: application/json"))) {
        headers_free(headers);
        return NULL;
    }
    if (!headers || !k->token || !k->token[0])
        return headers;
    n = strlen(k->token) + sizeof("Authorization: Bearer ");
    if (!(auth = malloc(n))) {
        headers_free(headers);
        return NULL;
    }
    snprintf(auth, n, "Authorization: Bearer %s", k->token);
    h = curl_slist_append(headers, auth);
    secret_free(auth);
    if (!h)
        headers_free(headers);
    return h;
}

static void setup_easy(struct kube *k, const char *url, struct curl_slist *headers, struct xfer *x, long timeout_s,
                       char *cerr)
{
    curl_easy_reset(k->easy);
    x->easy = k->easy;
    curl_easy_setopt(k->easy, CURLOPT_URL, url);
    curl_easy_setopt(k->easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(k->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k->easy, CURLOPT_USERAGENT, "manual-gate");
    curl_easy_setopt(k->easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(k->easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(k->easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (k->ca_file)
        curl_easy_setopt(k->easy, CURLOPT_CAINFO, k->ca_file);
    curl_easy_setopt(k->easy, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(k->easy, CURLOPT_TIMEOUT, timeout_s);
    /* A watch may be silent for minutes: keepalive probes find a peer that vanished. */
    curl_easy_setopt(k->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(k->easy, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(k->easy, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(k->easy, CURLOPT_WRITEFUNCTION, xfer_write);
    curl_easy_setopt(k->easy, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(k->easy, CURLOPT_HEADERFUNCTION, xfer_header);
    curl_easy_setopt(k->easy, CURLOPT_HEADERDATA, x);
    x->last_line = monotime_now();
    curl_easy_setopt(k->easy, CURLOPT_NOPROGRESS, x->idle_s > 0 ? 0L : 1L);
    curl_easy_setopt(k->easy, CURLOPT_XFERINFOFUNCTION, xfer_progress);
    curl_easy_setopt(k->easy, CURLOPT_XFERINFODATA, x);
    if (k->post) {
        curl_easy_setopt(k->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)k->post_len);
        curl_easy_setopt(k->easy, CURLOPT_POSTFIELDS, k->post);
    }
}

/* Drive the transfer until it ends or the client is interrupted. The transfer's result, or -1 when the
 * multi interface failed or the client was interrupted (*interrupted then 1). */
static int run_transfer(struct kube *k, CURLcode *res, int *interrupted)
{
    CURLMsg *msg;
    int running = 1, left;

    *res = CURLE_OK;
    while (running && !atomic_load(&k->interrupted)) {
        if (curl_multi_perform(k->multi, &running) != CURLM_OK)
            return -1;
        if (running && curl_multi_poll(k->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            return -1;
    }
    if ((*interrupted = atomic_load(&k->interrupted)) != 0)
        return -1;
    while ((msg = curl_multi_info_read(k->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == k->easy)
            *res = msg->data.result;
    return 0;
}

/* Why a transfer failed, into err: -1, or KUBE_STREAM_TOO_LONG or KUBE_STREAM_IDLE for a stream. */
static int transfer_error(const struct xfer *x, CURLcode res, const char *cerr, char *err, size_t errlen)
{
    if (x->idle)
        snprintf(err, errlen, "nothing received for %.0f s", x->idle_s);
    else if (x->too_big)
        snprintf(err, errlen, "%s larger than %zu bytes", x->lines_on ? "a line" : "response", x->body.max);
    else
        snprintf(err, errlen, "%s", x->reader_stopped ? "stream ended by the reader" : x->oom ? "out of memory"
                                    : cerr[0] ? cerr : curl_easy_strerror(res));
    return x->idle ? KUBE_STREAM_IDLE : x->too_big && x->lines_on ? KUBE_STREAM_TOO_LONG : -1;
}

/* One request through the multi handle. 0 with *status when a response arrived. */
static int kube_perform(struct kube *k, const char *path, struct xfer *x, long timeout_s, long *status,
                        char *err, size_t errlen)
{
    struct curl_slist *headers = request_headers(k);
    char cerr[CURL_ERROR_SIZE] = "", *url = NULL;
    int interrupted = 0, rc = -1;
    CURLcode res;

    *status = 0;
    snprintf(err, errlen, "out of memory or libcurl error");
    if (!headers || asprintf(&url, "%s%s", k->base, path) < 0) {
        url = NULL;
        goto out;
    }
    setup_easy(k, url, headers, x, timeout_s, cerr);
    if (curl_multi_add_handle(k->multi, k->easy) != CURLM_OK)
        goto out;
    if (run_transfer(k, &res, &interrupted) != 0) {
        if (interrupted)
            snprintf(err, errlen, "interrupted");
    } else if (res != CURLE_OK) {
        rc = transfer_error(x, res, cerr, err, errlen);
    } else {
        curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, status);
        rc = 0;
    }
    curl_multi_remove_handle(k->multi, k->easy);
out:
    curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, NULL);
    headers_free(headers);
    free(url);
    return rc;
}

/* Empty x for a (new) request; a stream keeps its idle bound. */
static void xfer_reset(struct xfer *x, int stream, kube_line_fn fn, void *ctx)
{
    double idle_s = x->idle_s;

    buf_free(&x->body);
    memset(x, 0, sizeof(*x));
    x->idle_s = idle_s;
    x->stream = stream;
    x->fn = fn;
    x->ctx = ctx;
    x->body.max = stream ? ERROR_BODY_MAX : BODY_MAX;
}

/* A request, repeated once with a fresh token when the first try got a 401 and the token changed. */
static int kube_request(struct kube *k, const char *path, struct xfer *x, long timeout_s, long *status,
                        char *err, size_t errlen)
{
    int rc;

    if (atomic_load(&k->interrupted)) {
        snprintf(err, errlen, "interrupted");
        return -1;
    }
    kube_token_refresh(k, 0);
    rc = kube_perform(k, path, x, timeout_s, status, err, errlen);
    if (rc == 0 && *status == 401 && kube_token_refresh(k, 1) == 1) {
        xfer_reset(x, x->stream, x->fn, x->ctx);
        rc = kube_perform(k, path, x, timeout_s, status, err, errlen);
    }
    return rc;
}

int kube_get(struct kube *k, const char *path, long *status, char **body, size_t *len, char *err, size_t errlen)
{
    struct xfer x;

    memset(&x, 0, sizeof(x));
    xfer_reset(&x, 0, NULL, NULL);
    *body = NULL;
    *len = 0;
    if (kube_request(k, path, &x, GET_TIMEOUT_S, status, err, errlen) != 0) {
        buf_free(&x.body);
        return -1;
    }
    *len = x.body.len;
    if (!(*body = buf_detach(&x.body))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int kube_stream(struct kube *k, const char *path, long timeout_seconds, long idle_seconds, kube_line_fn fn,
                void *ctx, long *status, char *err, size_t errlen)
{
    struct xfer x;
    int rc;

    memset(&x, 0, sizeof(x));
    xfer_reset(&x, 1, fn, ctx);
    x.idle_s = idle_seconds > 0 ? (double)idle_seconds : 0;
    rc = kube_request(k, path, &x, timeout_seconds, status, err, errlen);
    if (rc == 0 && x.lines_on && x.body.len)
        (void)xfer_line(&x);   /* a last event without its newline */
    buf_free(&x.body);
    return rc;
}

int kube_post(struct kube *k, const char *path, const char *body, size_t len, long timeout_seconds, long *status,
              char *err, size_t errlen)
{
    struct xfer x;
    int rc;

    memset(&x, 0, sizeof(x));
    xfer_reset(&x, 0, NULL, NULL);
    k->post = body;
    k->post_len = len;
    rc = kube_request(k, path, &x, timeout_seconds, status, err, errlen);
    k->post = NULL;
    k->post_len = 0;
    buf_free(&x.body);
    return rc;
}

void kube_interrupt(struct kube *k)
{
    if (!k)
        return;
    atomic_store(&k->interrupted, 1);
    curl_multi_wakeup(k->multi);
}

char *kube_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0), *out;

    if (!e)
        return NULL;
    out = strdup(e);
    curl_free(e);
    return out;
}

const char *kube_base_url(const struct kube *k)
{
    return k->base;
}

int kube_configured(const struct kube_config *cfg)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");

    return (cfg->api_url && cfg->api_url[0]) || (host && host[0]);
}

/* Where the API server is: --kube-api, else in-cluster from KUBERNETES_SERVICE_HOST/_PORT. */
static int resolve_base(struct kube *k, const struct kube_config *cfg, char *err, size_t errlen)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    size_t n;
    int rc;

    if (cfg->api_url && cfg->api_url[0]) {
        if (strncmp(cfg->api_url, "http://", 7) != 0 && !kube_https(cfg->api_url)) {
            snprintf(err, errlen, "--kube-api %s: want an http:// or https:// URL", cfg->api_url);
            return -1;
        }
        rc = (k->base = strdup(cfg->api_url)) ? 0 : -1;
    } else if (host && host[0]) {
        rc = asprintf(&k->base, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
                      port && port[0] ? port : "443") < 0 ? -1 : 0;
        if (rc < 0)
            k->base = NULL;
    } else {
        snprintf(err, errlen, "no Kubernetes API: give --kube-api or run in a cluster (KUBERNETES_SERVICE_HOST)");
        return -1;
    }
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    n = strlen(k->base);
    while (n > 0 && k->base[n - 1] == '/')
        k->base[--n] = '\0';
    return 0;
}

/* Who we are: --kube-token-file, else the service account's token (https only: a local kubectl proxy on
 * http:// needs none). */
static int resolve_token(struct kube *k, const struct kube_config *cfg, char *err, size_t errlen)
{
    const char *file = cfg->token_file && cfg->token_file[0] ? cfg->token_file : NULL;

    if (!file && !(kube_https(k->base) && access(SA_TOKEN, R_OK) == 0))
        return 0;
    if (!(k->token_file = strdup(file ? file : SA_TOKEN))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (kube_token_refresh(k, 1) < 0 && file) {
        snprintf(err, errlen, "--kube-token-file %s: cannot read it", file);
        return -1;
    }
    return 0;
}

/* How to trust it: --kube-ca-file, else the service account's CA (https), else the system's CAs. */
static int resolve_ca(struct kube *k, const struct kube_config *cfg, char *err, size_t errlen)
{
    const char *file = cfg->ca_file && cfg->ca_file[0] ? cfg->ca_file : NULL;

    if (file && access(file, R_OK) != 0) {
        snprintf(err, errlen, "--kube-ca-file %s: cannot read it", file);
        return -1;
    }
    if (!file && !(kube_https(k->base) && access(SA_CA, R_OK) == 0))
        return 0;
    if (!(k->ca_file = strdup(file ? file : SA_CA))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

struct kube *kube_open(const struct kube_config *cfg, char *err, size_t errlen)
{
    struct kube *k = calloc(1, sizeof(*k));

    if (!k) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&k->interrupted, 0);
    if (resolve_base(k, cfg, err, errlen) < 0 || resolve_token(k, cfg, err, errlen) < 0 ||
        resolve_ca(k, cfg, err, errlen) < 0)
        goto fail;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl initialisation failed");
        goto fail;
    }
    k->curl_ready = 1;
    if (!(k->easy = curl_easy_init()) || !(k->multi = curl_multi_init())) {
        snprintf(err, errlen, "libcurl initialisation failed");
        goto fail;
    }
    if (kube_https(k->base) && !k->token_file)
        log_warn("kube: no token for %s: requests are anonymous", k->base);
    log_info("kube: API server %s (token %s, CA %s)", k->base, k->token_file ? k->token_file : "none",
             k->ca_file ? k->ca_file : "system");
    return k;
fail:
    kube_close(k);
    return NULL;
}

void kube_close(struct kube *k)
{
    if (!k)
        return;
    if (k->multi)
        curl_multi_cleanup(k->multi);
    if (k->easy)
        curl_easy_cleanup(k->easy);
    if (k->curl_ready)
        curl_global_cleanup();
    free(k->base);
    free(k->token_file);
    free(k->ca_file);
    token_free(k->token);
    free(k);
}
