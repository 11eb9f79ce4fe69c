/*
 * Certificate inspection with OpenSSL: before the server serves a certificate/key pair (at start and
 * on every rotation) it checks that the key matches the certificate and reads its validity, so a
 * half-written or mismatched pair is never swapped in.
 */
#ifndef MG_CERTS_H
#define MG_CERTS_H

#include <stddef.h>

/* Check a PEM certificate chain and PEM private key: both parse, the key belongs to the first
 * certificate. On success returns 0 and sets *not_after (Unix seconds); else -1 with a reason in err. */
int certs_check_pair(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len, long *not_after,
                     char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
