/*
 * OpenSSL-side checks of the serving certificate. GnuTLS (inside libmicrohttpd) does the serving;
 * OpenSSL answers "is this pair usable, and until when" independently of it.
 */
#include "certs.h"

#include <stdio.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

int certs_check_pair(const char *cert_pem, size_t cert_len, const char *key_pem, size_t key_len, long *not_after,
                     char *err, size_t errlen)
{
    BIO *cb = BIO_new_mem_buf(cert_pem, (int)cert_len), *kb = BIO_new_mem_buf(key_pem, (int)key_len);
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    struct tm tm;
    int rc = -1;

    if (!cb || !kb) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    if (!cert) {
        snprintf(err, errlen, "certificate is not a PEM X.509 certificate");
        goto done;
    }
    key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    if (!key) {
        snprintf(err, errlen, "key is not an unencrypted PEM private key");
        goto done;
    }
    if (X509_check_private_key(cert, key) != 1) {
        snprintf(err, errlen, "key does not match the certificate");
        goto done;
    }
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) {
        snprintf(err, errlen, "certificate has an unreadable notAfter");
        goto done;
    }
    *not_after = (long)timegm(&tm);
    rc = 0;
done:
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}
