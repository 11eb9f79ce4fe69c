/*
 * The per-request region cJSON allocates from while the server handles a review: allocations come from
 * it and are taken back at once at the end, frees inside are no-ops, what leaves is copied out, other
 * threads and code outside a request keep malloc, and a Secret request's bytes are overwritten.
 */
#include <pthread.h>

#include "admission.h"
#include "arena.h"
#include "check.h"
#include "fake_lookup.h"

static const char *const doc = "{\"a\":[1,2,{\"b\":\"some text\"}],\"c\":null}";

static void outside_a_request_cjson_uses_malloc(void)
{
    cJSON *root;
    char *s;

    arena_install();
    root = cJSON_Parse(doc);
    CHECK(root && !arena_owns(root));
    s = cJSON_PrintUnformatted(root);
    CHECK(s && !arena_owns(s));
    CHECK(arena_export(s) == s);
    CHECK_INT(arena_used(), 0);
    free(s); /* plain malloc memory: free() is right for it */
    cJSON_Delete(root);
}

static void a_request_allocates_from_its_region_and_the_end_takes_it_back(void)
{
    cJSON *root, *again;
    char *s;

    arena_install();
    arena_begin();
    root = cJSON_Parse(doc);
    CHECK(root && arena_owns(root));
    s = cJSON_PrintUnformatted(root);
    CHECK(s && arena_owns(s));
    CHECK_STR(s, "{\"a\":[1,2,{\"b\":\"some text\"}],\"c\":null}");
    CHECK(arena_used() > 0);
    cJSON_free(s);     /* no-ops inside the region */
    cJSON_Delete(root);
    arena_end();
    CHECK_INT(arena_used(), 0);
    CHECK(!arena_owns(root));
    /* The next request starts where the last one did. */
    arena_begin();
    again = cJSON_Parse(doc);
    CHECK(again == root);
    arena_end();
    arena_end(); /* a second end is harmless */
}

static void large_allocations_get_blocks_of_their_own(void)
{
    char *small, *big, *after;

    arena_install();
    arena_begin();
    small = cJSON_malloc(100);
    big = cJSON_malloc((size_t)3 << 20);
    CHECK(small && big && arena_owns(small) && arena_owns(big));
    memset(big, 'x', (size_t)3 << 20);
    after = cJSON_malloc(100);
    CHECK(after && arena_owns(after));
    CHECK(arena_used() >= ((size_t)3 << 20) + 200);
    arena_end();
    arena_begin();
    CHECK(cJSON_malloc(100) == small); /* the big block went back, the first one is kept */
    arena_end();
}

static void export_copies_out_what_outlives_the_request(void)
{
    char *s, *out;
    cJSON *root;

    arena_install();
    arena_begin();
    root = cJSON_Parse(doc);
    s = cJSON_PrintUnformatted(root);
    out = arena_export(s);
    CHECK(out && out != s && !arena_owns(out));
    arena_end();
    CHECK_STR(out, "{\"a\":[1,2,{\"b\":\"some text\"}],\"c\":null}");
    free(out);
    CHECK(arena_export(NULL) == NULL);
}

/* The bytes a request left in the region, as the next request of the same size sees them. */
static int leftover_is_zero(int secret)
{
    char *p, *q;
    int zero = 1;
    size_t i;

    arena_begin();
    if (secret)
        arena_mark_secret();
    p = cJSON_malloc(64);
    memset(p, 's', 64);
    arena_end();
    arena_begin();
    q = cJSON_malloc(64);
    CHECK(q == p);
    for (i = 0; i < 64; i++)
        zero &= q[i] == 0;
    arena_end();
    return zero;
}

static void a_secret_request_is_wiped_at_its_end(void)
{
    arena_install();
    CHECK(!leftover_is_zero(0)); /* without the mark the bytes stay: the check below can fail */
    CHECK(leftover_is_zero(1));
}

static void *other_thread(void *arg)
{
    void *mine;
    int ok;

    arena_begin();
    mine = cJSON_malloc(32);
    ok = arena_owns(mine) && !arena_owns(arg);
    arena_end();
    return ok ? mine : NULL;
}

static void each_thread_has_its_own_region(void)
{
    pthread_t t;
    void *theirs = NULL, *mine;

    arena_install();
    arena_begin();
    mine = cJSON_malloc(32);
    CHECK(pthread_create(&t, NULL, other_thread, mine) == 0);
    pthread_join(t, &theirs);
    CHECK(theirs != NULL && theirs != mine);
    CHECK(arena_owns(mine));
    arena_end();
}

/* A Secret review through the whole pipeline in a region: the answer leaves it, the rest is wiped. */
static void a_secret_review_in_a_region(void)
{
    struct world w;
    struct canary_lookup l;
    struct admission_result r;
    char *old, *new, *body = NULL;

    arena_install();
    world_init(&w, "validate/secret.json");
    old = cJSON_PrintUnformatted(w.old_obj);
    new = cJSON_PrintUnformatted(w.new_obj);
    CHECK(asprintf(&body, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
                          "{\"uid\":\"u-1\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Secret\"},"
                          "\"namespace\":\"test\",\"name\":\"podinfo-secret\",\"operation\":\"UPDATE\","
                          "\"userInfo\":{\"username\":\"alice\"},\"object\":%s,\"oldObject\":%s}}", new, old) > 0);
    l = fake_lookup_of(&w.fake);
    arena_begin();
    admission_handle(ADMISSION_VALIDATE, body, strlen(body), &w.cfg, &l, &r);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !arena_owns(r.body));
    CHECK(arena_owns(r.log));
    admission_result_free(&r);
    arena_end();
    free(body);
    free(old);
    free(new);
    world_free(&w);
}

TEST_MAIN("arena",
          TEST(outside_a_request_cjson_uses_malloc),
          TEST(a_request_allocates_from_its_region_and_the_end_takes_it_back),
          TEST(large_allocations_get_blocks_of_their_own),
          TEST(export_copies_out_what_outlives_the_request),
          TEST(a_secret_request_is_wiped_at_its_end),
          TEST(each_thread_has_its_own_region),
          TEST(a_secret_review_in_a_region))
