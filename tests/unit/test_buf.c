/* The bounded buffer every reader and writer of the project uses. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"

static void append_keeps_data_nul_terminated(void)
{
    struct buf b = BUF_INIT(64);

    CHECK_INT(buf_append(&b, "abc", 3), 0);
    CHECK_INT(buf_append(&b, "", 0), 0);
    CHECK_INT(buf_printf(&b, "-%d-", 42), 0);
    CHECK_STR(b.data, "abc-42-");
    CHECK_INT(b.len, 7);
    buf_free(&b);
    CHECK(b.data == NULL && b.len == 0 && b.max == 64);
}

static void append_past_the_limit_fails_and_changes_nothing(void)
{
    struct buf b = BUF_INIT(8);

    CHECK_INT(buf_append(&b, "12345678", 8), 0);
    errno = 0;
    CHECK_INT(buf_append(&b, "9", 1), -1);
    CHECK_INT(errno, EFBIG);
    CHECK_STR(b.data, "12345678");
    errno = 0;
    CHECK_INT(buf_printf(&b, "%s", "x"), -1);
    CHECK_INT(errno, EFBIG);
    CHECK_INT(b.len, 8);
    CHECK(b.cap <= 9); /* never allocates past the limit and its NUL */
    buf_wipe(&b);
    CHECK(b.data == NULL);
}

static void huge_sizes_do_not_overflow(void)
{
    struct buf b = BUF_INIT((size_t)-1);

    CHECK_INT(buf_append(&b, "a", 1), 0);
    errno = 0;
    CHECK_INT(buf_append(&b, "a", (size_t)-1), -1); /* len + n would wrap */
    CHECK(errno == EFBIG || errno == ENOMEM);
    CHECK_STR(b.data, "a");
    buf_free(&b);
}

static void read_stream_reads_everything_and_respects_the_limit(void)
{
    struct buf b = BUF_INIT(1 << 20), small = BUF_INIT(100);
    FILE *f = tmpfile();
    int i;

    for (i = 0; i < 20000; i++)
        fputs("0123456789", f);
    rewind(f);
    CHECK_INT(buf_read_stream(&b, f), 0);
    CHECK_INT(b.len, 200000);
    CHECK_INT(strlen(b.data), 200000);
    rewind(f);
    errno = 0;
    CHECK_INT(buf_read_stream(&small, f), -1);
    CHECK_INT(errno, EFBIG);
    fclose(f);
    buf_free(&b);
    buf_free(&small);
}

static void read_file_reports_a_missing_file(void)
{
    struct buf b = BUF_INIT(100);
    char *p;

    errno = 0;
    CHECK_INT(buf_read_file(&b, "tests/fixtures/does-not-exist"), -1);
    CHECK_INT(errno, ENOENT);
    p = buf_detach(&b); /* an empty buffer detaches as "" */
    CHECK_STR(p, "");
    free(p);
}

static void cap_for_tells_the_allocation_before_it_is_made(void)
{
    struct buf b = BUF_INIT(5000);

    CHECK_INT(buf_cap_for(&b, 10), 1024); /* the first allocation */
    CHECK_INT(buf_append(&b, "0123456789", 10), 0);
    CHECK_INT(b.cap, 1024);
    CHECK_INT(buf_cap_for(&b, 100), 1024); /* fits: no growth */
    CHECK_INT(buf_cap_for(&b, 1500), 2048);
    CHECK_INT(buf_cap_for(&b, 4000), 4096);
    CHECK_INT(buf_cap_for(&b, 4500), 5001); /* doubling stops at the limit and its NUL */
    CHECK_INT(buf_cap_for(&b, 4991), 0);    /* past the limit */
    CHECK_INT(buf_cap_for(&b, (size_t)-1), 0);
    buf_free(&b);
}

static void reserve_total_allocates_exactly_once(void)
{
    struct buf b = BUF_INIT(100000);
    char chunk[1000];
    int i;

    memset(chunk, 'x', sizeof(chunk));
    CHECK_INT(buf_reserve_total(&b, 30000), 0);
    CHECK_INT(b.cap, 30001);
    for (i = 0; i < 30; i++)
        CHECK_INT(buf_append(&b, chunk, sizeof(chunk)), 0);
    CHECK_INT(b.cap, 30001); /* the declared length never grew it */
    CHECK_INT(b.len, 30000);
    CHECK_INT(buf_reserve_total(&b, 10), 0); /* smaller than held: nothing changes */
    CHECK_INT(b.cap, 30001);
    errno = 0;
    CHECK_INT(buf_reserve_total(&b, 100001), -1);
    CHECK_INT(errno, EFBIG);
    buf_wipe(&b);
}

TEST_MAIN("buf",
          TEST(cap_for_tells_the_allocation_before_it_is_made),
          TEST(reserve_total_allocates_exactly_once),
          TEST(append_keeps_data_nul_terminated),
          TEST(append_past_the_limit_fails_and_changes_nothing),
          TEST(huge_sizes_do_not_overflow),
          TEST(read_stream_reads_everything_and_respects_the_limit),
          TEST(read_file_reports_a_missing_file))
