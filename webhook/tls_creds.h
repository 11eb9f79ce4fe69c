/*
 * The serving certificate, hot-reloaded: loaded from PEM files (the pair checked with OpenSSL first, so a
 * half-rotated pair, new certificate and old key, is never served), handed to GnuTLS per handshake
 * through tls_creds_callback, and swapped when the files change. libmicrohttpd's certificate callback
 * has no context pointer, so there is one set of credentials per process.
 *
 * Memory: tls_creds_open allocates the credentials, tls_creds_close frees them and every retired set.
 * Credentials a handshake may still use are kept for TLS_CREDS_RETIRE_SECONDS after a swap.
 */
#ifndef MG_TLS_CREDS_H
#define MG_TLS_CREDS_H

#include <stddef.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

/* A handshake fetches the credentials at its start and may use them until it ends; handshakes are bounded
 * by the server's request deadline (at most its 120 s idle timeout), so retired credentials live at least
 * this long. */
#define TLS_CREDS_RETIRE_SECONDS 130

/* Load cert_file and key_file and make them the served pair; with client_ca (a PEM CA bundle, or NULL), every
 * handshake requires a client certificate that chains to it, and the bundle is reloaded with the pair.
 * 0, or -1 with a reason in err. */
int tls_creds_open(const char *cert_file, const char *key_file, const char *client_ca, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Check the files; when they changed and load as a matching pair, serve them from the next handshake on
 * (a pair that does not load yet, mid-rotation, is retried at the next call). Frees credentials retired
 * long enough ago. 1 when a new pair was swapped in, 0 otherwise. Call about once a second. */
int tls_creds_poll(void);
/* notAfter of the served certificate, in Unix seconds. */
long tls_creds_not_after(void);
/* The GnuTLS certificate retrieval callback for MHD_OPTION_HTTPS_CERT_CALLBACK. */
int tls_creds_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                       const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
                       unsigned int *pcert_length, gnutls_privkey_t *pkey);
/* Free every set of credentials (after the server stopped: no handshake is running). */
void tls_creds_close(void);

#endif
