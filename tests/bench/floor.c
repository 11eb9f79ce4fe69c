/*
 * The bench's own floor: the least an admission webhook on this stack can do. A libmicrohttpd + GnuTLS
 * responder with the server's TLS priorities, thread pool and polling mode, that reads a POST body, parses
 * it once with cJSON, takes request.uid and answers a fixed denying AdmissionReview. make bench runs it
 * beside manual-gate on the same certificate so every throughput and latency figure is a ratio against it.
 *
 * Usage: floor PORT CERT KEY [THREADS]. Runs until SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#define TLS_PRIORITIES                                                                                     \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:" \
    "-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"
#define BODY_MAX (6u << 20)

struct body {
    char *p;
    size_t n, cap;
};

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = calloc(1, (size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static enum MHD_Result answer(struct MHD_Connection *conn, int status, char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;

    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    ret = MHD_queue_response(conn, (unsigned int)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The fixed review: denied, with the request's uid and a message of the size manual-gate sends. */
static enum MHD_Result review(struct MHD_Connection *conn, const struct body *b)
{
    cJSON *root = cJSON_ParseWithLength(b->p ? b->p : "", b->n);
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "request"), "uid");
    char *text = NULL;
    int n;

    if (!cJSON_IsString(uid)) {
        cJSON_Delete(root);
        return answer(conn, 400, strdup("{\"error\":\"not an AdmissionReview\"}"));
    }
    n = asprintf(&text, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"response\":"
                 "{\"uid\":\"%s\",\"allowed\":false,\"status\":{\"code\":403,\"reason\":\"Forbidden\",\"message\":"
                 "\"Deployment ns-0/app-0: the template changed while Canary ns-0/app-0 is gated; a new revision "
                 "would restart its analysis (run: manual-gate gate open ns-0/app-0)\"}}}", uid->valuestring);
    cJSON_Delete(root);
    return n < 0 ? MHD_NO : answer(conn, 200, text);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **con_cls)
{
    struct body *b = *con_cls;
    char *grown;

    (void)cls;
    (void)url;
    (void)version;
    if (strcmp(method, "POST") != 0)
        return answer(conn, 200, strdup("ok"));
    if (!b) {
        *con_cls = calloc(1, sizeof(*b));
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*size) {
        if (b->n + *size > BODY_MAX)
            return MHD_NO;
        if (b->n + *size > b->cap) {
            b->cap = (b->n + *size) * 2;
            if (!(grown = realloc(b->p, b->cap)))
                return MHD_NO;
            b->p = grown;
        }
        memcpy(b->p + b->n, data, *size);
        b->n += *size;
        *size = 0;
        return MHD_YES;
    }
    return review(conn, b);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    struct body *b = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (b) {
        free(b->p);
        free(b);
        *con_cls = NULL;
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    struct MHD_Daemon *d;
    char *cert, *key;
    sigset_t set;
    int sig;

    if (argc < 4) {
        fprintf(stderr, "usage: floor PORT CERT KEY [THREADS]\n");
        return 2;
    }
    cert = slurp(argv[2]);
    key = slurp(argv[3]);
    if (!cert || !key) {
        fprintf(stderr, "floor: cannot read %s or %s\n", argv[2], argv[3]);
        return 1;
    }
    /* Loopback only. */
    addr.sin_port = htons((uint16_t)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    d = MHD_start_daemon(MHD_USE_TLS | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
                         0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_HTTPS_MEM_CERT, cert,
                         MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(argc > 4 ? atoi(argv[4]) : 2),
                         MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                         MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "floor: cannot start on port %s\n", argv[1]);
        return 1;
    }
    sigdelset(&set, SIGPIPE);
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    free(cert);
    free(key);
    return 0;
}
