/*
 * Certificate loading and rotation (tls_creds.c) with temporary files: the served pair changes when the
 * files are replaced by a matching pair, never to a half-rotated one, and a missing file is a clear error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "tls_creds.h"

static char dir[] = "/tmp/mg-tls-XXXXXX";
static char cert_path[64], key_path[64];

/* Copy fixture tls/<name> to path through a temporary name and a rename, as a rotation does. */
static void install(const char *name, const char *path)
{
    char rel[64], tmp[96];
    size_t len;
    char *text;
    FILE *f;

    snprintf(rel, sizeof(rel), "tls/%s", name);
    text = fixture_text(rel, &len);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    f = fopen(tmp, "wb");
    CHECK(f && fwrite(text, 1, len, f) == len);
    if (f)
        fclose(f);
    CHECK(rename(tmp, path) == 0);
    free(text);
}

/* notAfter of a fixture certificate, read by OpenSSL independently of tls_creds. */
static long not_after_of(const char *name)
{
    char rel[64];
    size_t len;
    char *text;
    BIO *b;
    X509 *x;
    struct tm tm;
    long t = -1;

    snprintf(rel, sizeof(rel), "tls/%s", name);
    text = fixture_text(rel, &len);
    b = BIO_new_mem_buf(text, (int)len);
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
        t = (long)timegm(&tm);
    X509_free(x);
    BIO_free(b);
    free(text);
    return t;
}

static void setup(void)
{
    /* The fixtures differ in notAfter, so which pair is served can be told apart. */
    CHECK(not_after_of("a.crt") != not_after_of("b.crt"));
    CHECK(mkdtemp(dir) != NULL);
    snprintf(cert_path, sizeof(cert_path), "%s/tls.crt", dir);
    snprintf(key_path, sizeof(key_path), "%s/tls.key", dir);
}

static void served_chain_is_the_loaded_pair(void)
{
    gnutls_pcert_st *pcert = NULL;
    gnutls_privkey_t key = NULL;
    unsigned int n = 0;
    char err[256] = "";

    install("a.crt", cert_path);
    install("a.key", key_path);
    CHECK_INT(tls_creds_open(cert_path, key_path, NULL, err, sizeof(err)), 0);
    CHECK_INT(tls_creds_not_after(), not_after_of("a.crt"));
    CHECK_INT(tls_creds_callback(NULL, NULL, 0, NULL, 0, &pcert, &n, &key), 0);
    CHECK(pcert != NULL && n >= 1 && key != NULL);
    /* Nothing changed: nothing swapped. */
    CHECK_INT(tls_creds_poll(), 0);
    tls_creds_close();
}

static void renewed_pair_is_served_after_the_next_poll(void)
{
    char err[256] = "";

    install("a.crt", cert_path);
    install("a.key", key_path);
    CHECK_INT(tls_creds_open(cert_path, key_path, NULL, err, sizeof(err)), 0);
    install("b.crt", cert_path);
    install("b.key", key_path);
    CHECK_INT(tls_creds_poll(), 1);
    CHECK_INT(tls_creds_not_after(), not_after_of("b.crt"));
    tls_creds_close();
}

/* Mid-rotation the certificate is new and the key old: keep serving the old pair, then take the new
 * one once the key arrives. */
static void half_rotated_pair_is_never_served(void)
{
    char err[256] = "";

    install("a.crt", cert_path);
    install("a.key", key_path);
    CHECK_INT(tls_creds_open(cert_path, key_path, NULL, err, sizeof(err)), 0);
    install("b.crt", cert_path);
    CHECK_INT(tls_creds_poll(), 0);
    CHECK_INT(tls_creds_not_after(), not_after_of("a.crt"));
    install("b.key", key_path);
    CHECK_INT(tls_creds_poll(), 1);
    CHECK_INT(tls_creds_not_after(), not_after_of("b.crt"));
    tls_creds_close();
}

static void missing_or_mismatched_files_fail_with_a_reason(void)
{
    char err[256] = "", missing[96];

    snprintf(missing, sizeof(missing), "%s/none.crt", dir);
    CHECK_INT(tls_creds_open(missing, key_path, NULL, err, sizeof(err)), -1);
    CHECK(strstr(err, "none.crt") != NULL);
    install("a.crt", cert_path);
    install("b.key", key_path);
    CHECK_INT(tls_creds_open(cert_path, key_path, NULL, err, sizeof(err)), -1);
    CHECK(strstr(err, "does not match") != NULL);
}

static void cleanup(void)
{
    unlink(cert_path);
    unlink(key_path);
    rmdir(dir);
}

TEST_MAIN("tls_creds", TEST(setup), TEST(served_chain_is_the_loaded_pair),
          TEST(renewed_pair_is_served_after_the_next_poll), TEST(half_rotated_pair_is_never_served),
          TEST(missing_or_mismatched_files_fail_with_a_reason), TEST(cleanup))
