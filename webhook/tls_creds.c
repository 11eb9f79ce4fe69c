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
    char *cert_file, *key_file;
    struct file_id cert_id, key_id;
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

static struct creds *creds_load(const char *cert_file, const char *key_file, char *err, size_t errlen)
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
        creds_import(c, &cert, &key, cert_file, key_file, err, errlen) != 0)
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

int tls_creds_open(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    if (!(tc.cert_file = strdup(cert_file)) || !(tc.key_file = strdup(key_file))) {
        snprintf(err, errlen, "out of memory");
        tls_creds_close();
        return -1;
    }
    file_id_of(cert_file, &tc.cert_id);
    file_id_of(key_file, &tc.key_id);
    if (!(tc.current = creds_load(cert_file, key_file, err, errlen))) {
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
    struct file_id cert_id, key_id;
    struct creds *c;
    char err[256];
    int swapped = 0;

    file_id_of(tc.cert_file, &cert_id);
    file_id_of(tc.key_file, &key_id);
    if (memcmp(&cert_id, &tc.cert_id, sizeof(cert_id)) != 0 || memcmp(&key_id, &tc.key_id, sizeof(key_id)) != 0) {
        if ((c = creds_load(tc.cert_file, tc.key_file, err, sizeof(err))) != NULL) {
            pthread_mutex_lock(&tc.lock);
            tc.current->retired_at = monotime_now();
            tc.current->next = tc.retired;
            tc.retired = tc.current;
            tc.current = c;
            pthread_mutex_unlock(&tc.lock);
            tc.cert_id = cert_id;
            tc.key_id = key_id;
            swapped = 1;
            log_info("serving the renewed certificate %s (valid until %ld)", tc.cert_file, c->not_after);
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

int tls_creds_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
                       unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    pthread_mutex_lock(&tc.lock);
    *pcert = tc.current->pcert;
    *pcert_length = tc.current->npcert;
    *pkey = tc.current->key;
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
    tc.cert_file = tc.key_file = NULL;
}
