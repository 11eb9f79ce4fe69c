/*
 * Serving credentials for GnuTLS (inside libmicrohttpd), reloaded when the PEM files change (see
 * tls_creds.h). A swap happens under a mutex the per-handshake callback also takes; the previous set
 * is kept on a retired list until no handshake can still use it.
 */
#include "tls_creds.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "certs.h"
#include "log.h"
#include "monotime.h"

/* Certificates in one chain; real chains have two or three. */
#define CHAIN_MAX 8
/* A certificate chain or key is a few KiB; the limit only stops a wrong path (a log, a device). */
#define CERT_FILE_MAX (1024 * 1024)

struct creds {
    gnutls_pcert_st pcert[CHAIN_MAX];
    unsigned int npcert;
    gnutls_privkey_t key;
    gnutls_x509_trust_list_t client_ca; /* NULL: no client certificate asked for */
    long not_after;
    double retired_at;  /* monotonic seconds: a wall-clock jump must not free credentials early */
    struct creds *next; /* retired list */
};

/* What identifies a version of a file: replaced (inode), rewritten (size, mtime). */
struct file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

static struct {
    pthread_mutex_t lock; /* guards current (the callback reads it on every handshake) */
    struct creds *current;
    struct creds *retired;
    char *cert_file, *key_file, *ca_file;
    struct file_id cert_id, key_id, ca_id;
} tc = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void creds_free(struct creds *c)
{
    unsigned int i;

    if (!c)
        return;
    for (i = 0; i < c->npcert; i++)
        gnutls_pcert_deinit(&c->pcert[i]);
    if (c->key)
        gnutls_privkey_deinit(c->key);
    if (c->client_ca)
        gnutls_x509_trust_list_deinit(c->client_ca, 1);
    free(c);
}

static int read_pem(const char *path, struct buf *b, char *err, size_t errlen)
{
    if (buf_read_file(b, path) == 0)
        return 0;
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
}

/* Import a checked PEM pair into GnuTLS credentials. 0, or -1 with a reason in err. */
static int creds_import(struct creds *c, const struct buf *cert, const struct buf *key, const char *cert_file,
                        const char *key_file, char *err, size_t errlen)
{
    gnutls_datum_t cd = {(unsigned char *)cert->data, (unsigned int)cert->len};
    gnutls_datum_t kd = {(unsigned char *)key->data, (unsigned int)key->len};
    int rc;

    c->npcert = CHAIN_MAX;
    rc = gnutls_pcert_list_import_x509_raw(c->pcert, &c->npcert, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0) {
        c->npcert = 0;
        snprintf(err, errlen, "%s: %s", cert_file, gnutls_strerror(rc));
        return -1;
    }
    if ((rc = gnutls_privkey_init(&c->key)) < 0 ||
        (rc = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        snprintf(err, errlen, "%s: %s", key_file, gnutls_strerror(rc));
        return -1;
    }
    return 0;
}

/* The CAs that client certificates must chain to. 0, or -1 with a reason in err. */
static int client_ca_load(struct creds *c, const char *ca_file, char *err, size_t errlen)
{
    struct buf pem = BUF_INIT(CERT_FILE_MAX);
    gnutls_datum_t d;
    int rc;

    if (read_pem(ca_file, &pem, err, errlen) != 0)
        return -1;
    d.data = (unsigned char *)pem.data;
    d.size = (unsigned int)pem.len;
    if ((rc = gnutls_x509_trust_list_init(&c->client_ca, 0)) >= 0)
        rc = gnutls_x509_trust_list_add_trust_mem(c->client_ca, &d, NULL, GNUTLS_X509_FMT_PEM, 0, 0);
    buf_free(&pem);
    if (rc <= 0) {
        snprintf(err, errlen, "%s: %s", ca_file, rc < 0 ? gnutls_strerror(rc) : "no PEM certificate in it");
        return -1;
    }
    return 0;
}

static struct creds *creds_load(const char *cert_file, const char *key_file, const char *ca_file, char *err,
                                size_t errlen)
{
    struct buf cert = BUF_INIT(CERT_FILE_MAX), key = BUF_INIT(CERT_FILE_MAX);
    struct creds *c = NULL;

    key.wipe = 1;
    if (read_pem(cert_file, &cert, err, errlen) != 0 || read_pem(key_file, &key, err, errlen) != 0)
        goto fail;
    if (!(c = calloc(1, sizeof(*c)))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* OpenSSL checks the pair first, so a half-rotated pair (new cert, old key) is never served. */
    if (certs_check_pair(cert.data, cert.len, key.data, key.len, &c->not_after, err, errlen) != 0 ||
        creds_import(c, &cert, &key, cert_file, key_file, err, errlen) != 0 ||
        (ca_file && client_ca_load(c, ca_file, err, errlen) != 0))
        goto fail;
    buf_wipe(&key);
    buf_free(&cert);
    return c;
fail:
    buf_wipe(&key);
    buf_free(&cert);
    creds_free(c);
    return NULL;
}

static void file_id_of(const char *path, struct file_id *id)
{
    struct stat st;

    memset(id, 0, sizeof(*id));
    if (stat(path, &st) == 0) {
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        id->size = st.st_size;
        id->mtime = st.st_mtim;
    }
}

int tls_creds_open(const char *cert_file, const char *key_file, const char *client_ca, char *err, size_t errlen)
{
    if (!(tc.cert_file = strdup(cert_file)) || !(tc.key_file = strdup(key_file)) ||
        (client_ca && !(tc.ca_file = strdup(client_ca)))) {
        snprintf(err, errlen, "out of memory");
        tls_creds_close();
        return -1;
    }
    file_id_of(cert_file, &tc.cert_id);
    file_id_of(key_file, &tc.key_id);
    if (client_ca)
        file_id_of(client_ca, &tc.ca_id);
    if (!(tc.current = creds_load(cert_file, key_file, client_ca, err, errlen))) {
        tls_creds_close();
        return -1;
    }
    return 0;
}

static void retire_old(int all)
{
    double now = monotime_now();
    struct creds **pp, *c;

    for (pp = &tc.retired; *pp;) {
        c = *pp;
        if (all || now - c->retired_at > TLS_CREDS_RETIRE_SECONDS) {
            *pp = c->next;
            creds_free(c);
        } else {
            pp = &c->next;
        }
    }
}

int tls_creds_poll(void)
{
    struct file_id cert_id, key_id, ca_id;
    struct creds *c;
    char err[256];
    int swapped = 0;

    file_id_of(tc.cert_file, &cert_id);
    file_id_of(tc.key_file, &key_id);
    memset(&ca_id, 0, sizeof(ca_id));
    if (tc.ca_file)
        file_id_of(tc.ca_file, &ca_id);
    if (memcmp(&cert_id, &tc.cert_id, sizeof(cert_id)) != 0 || memcmp(&key_id, &tc.key_id, sizeof(key_id)) != 0 ||
        memcmp(&ca_id, &tc.ca_id, sizeof(ca_id)) != 0) {
        if ((c = creds_load(tc.cert_file, tc.key_file, tc.ca_file, err, sizeof(err))) != NULL) {
            pthread_mutex_lock(&tc.lock);
            tc.current->retired_at = monotime_now();
            tc.current->next = tc.retired;
            tc.retired = tc.current;
            tc.current = c;
            pthread_mutex_unlock(&tc.lock);
            tc.cert_id = cert_id;
            tc.key_id = key_id;
            tc.ca_id = ca_id;
            swapped = 1;
            log_info("serving the renewed certificate %s (valid until %ld)%s", tc.cert_file, c->not_after,
                     tc.ca_file ? " with the client CA file as it is now" : "");
        } else {
            log_warn("certificate files changed but cannot be loaded yet, still serving the previous one: %s", err);
        }
    }
    retire_old(0);
    return swapped;
}

long tls_creds_not_after(void)
{
    long t;

    pthread_mutex_lock(&tc.lock);
    t = tc.current ? tc.current->not_after : 0;
    pthread_mutex_unlock(&tc.lock);
    return t;
}

/* GnuTLS calls this once the client's certificate has arrived (the handshake fails without one): it must
 * chain to the client CA and be meant for TLS clients. 0 to go on, -1 to end the handshake. */
static int verify_client(gnutls_session_t session)
{
    gnutls_typed_vdata_st purpose = {GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT, 0};
    gnutls_x509_crt_t chain[CHAIN_MAX];
    const gnutls_datum_t *peers;
    unsigned int n = 0, i, status = 1;
    int ok = 1;

    peers = gnutls_certificate_get_peers(session, &n);
    if (!peers || n == 0)
        return -1;
    if (n > CHAIN_MAX)
        n = CHAIN_MAX;
    for (i = 0; i < n && ok; i++) {
        if (gnutls_x509_crt_init(&chain[i]) < 0)
            break;
        ok = gnutls_x509_crt_import(chain[i], &peers[i], GNUTLS_X509_FMT_DER) >= 0;
    }
    if (ok && i == n) {
        pthread_mutex_lock(&tc.lock);
        if (!tc.current->client_ca ||
            gnutls_x509_trust_list_verify_crt2(tc.current->client_ca, chain, n, &purpose, 1, 0, &status, NULL) < 0)
            status = 1;
        pthread_mutex_unlock(&tc.lock);
    }
    while (i-- > 0)
        gnutls_x509_crt_deinit(chain[i]);
    if (status != 0)
        log_debug("client certificate refused (GnuTLS verification status 0x%x)", status);
    return status == 0 ? 0 : -1;
}

int tls_creds_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
                       unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    pthread_mutex_lock(&tc.lock);
    *pcert = tc.current->pcert;
    *pcert_length = tc.current->npcert;
    *pkey = tc.current->key;
    if (tc.current->client_ca) {
        /* Called before the server's handshake messages are written, so the certificate request goes out. */
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_verify_function(session, verify_client);
    }
    pthread_mutex_unlock(&tc.lock);
    return 0;
}

void tls_creds_close(void)
{
    retire_old(1);
    creds_free(tc.current);
    tc.current = NULL;
    free(tc.cert_file);
    free(tc.key_file);
    free(tc.ca_file);
    tc.cert_file = tc.key_file = tc.ca_file = NULL;
    memset(&tc.ca_id, 0, sizeof(tc.ca_id));
}
