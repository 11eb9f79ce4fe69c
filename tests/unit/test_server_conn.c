/* The shared body budget, the open-files limit and the listen address of the HTTPS server. */
#include <arpa/inet.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>

#include "check.h"
#include "server_conn.h"

static void budget_gives_what_it_has_and_takes_back_everything(void)
{
    size_t a = 0, b = 0, c = 0;

    server_conn_configure(10, 120, 1000);
    CHECK_INT(server_conn_body_take(&a, 600), 0);
    CHECK_INT(a, 600);
    CHECK_INT(server_conn_body_take(&b, 500), -1); /* 1100 > 1000: refused, nothing taken */
    CHECK_INT(b, 0);
    CHECK_INT(server_conn_body_take(&b, 400), 0);
    CHECK_INT(server_conn_body_in_use(), 1000);
    CHECK_INT(server_conn_body_take(&a, 500), 0); /* already holds more: no change */
    CHECK_INT(server_conn_body_take(&a, 601), -1); /* growing by one byte does not fit */
    CHECK_INT(a, 600);
    server_conn_body_give_back(&a);
    CHECK_INT(a, 0);
    CHECK_INT(server_conn_body_take(&c, 600), 0);
    CHECK_INT(server_conn_body_take(&c, (size_t)-1), -1); /* no wrap-around */
    server_conn_body_give_back(&b);
    server_conn_body_give_back(&c);
    CHECK_INT(server_conn_body_in_use(), 0);
}

struct taker {
    int granted, over;
};

static void *take_and_give(void *arg)
{
    struct taker *t = arg;
    size_t held;
    int i;

    for (i = 0; i < 100000; i++) {
        held = 0;
        if (server_conn_body_take(&held, 7) == 0) {
            t->granted++;
            t->over += server_conn_body_in_use() > 20;
            server_conn_body_give_back(&held);
        }
    }
    return NULL;
}

static void budget_is_exact_under_contention(void)
{
    pthread_t t[4];
    struct taker tk[4];
    int i;

    memset(tk, 0, sizeof(tk));
    server_conn_configure(10, 120, 20); /* at most two bodies of 7 at once */
    for (i = 0; i < 4; i++)
        CHECK_INT(pthread_create(&t[i], NULL, take_and_give, &tk[i]), 0);
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(server_conn_body_in_use(), 0);
    /* Which thread gets the room is up to the scheduler; that the budget is never passed is not. */
    CHECK(tk[0].granted + tk[1].granted + tk[2].granted + tk[3].granted > 0);
    for (i = 0; i < 4; i++)
        CHECK_INT(tk[i].over, 0);
}

static void fd_limit_is_raised_and_connections_fit_under_it(void)
{
    struct rlimit rl;

    CHECK_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
    CHECK_INT(server_conn_fit_fd_limit(64), 64);
    CHECK_INT(getrlimit(RLIMIT_NOFILE, &rl), 0);
    CHECK(rl.rlim_cur == rl.rlim_max); /* raised to the hard limit */
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1000000)
        CHECK(server_conn_fit_fd_limit(1000000) < rl.rlim_max); /* room left for other files */
}

static void listen_addresses_parse(void)
{
    struct sockaddr_storage addr;
    socklen_t len;
    int any;

    CHECK_INT(server_conn_parse_listen(":8443", &addr, &len, &any), 0);
    CHECK_INT(any, 1);
    CHECK_INT(server_conn_parse_listen("127.0.0.1:8443", &addr, &len, &any), 0);
    CHECK_INT(any, 0);
    CHECK_INT(addr.ss_family, AF_INET);
    CHECK_INT(server_conn_parse_listen("[::1]:8443", &addr, &len, &any), 0);
    CHECK_INT(addr.ss_family, AF_INET6);
    CHECK_INT(server_conn_parse_listen("127.0.0.1", &addr, &len, &any), -1);
    CHECK_INT(server_conn_parse_listen("127.0.0.1:", &addr, &len, &any), -1);
}

/* ":port" falls back to IPv4 any on a host without IPv6: the same port, no address. */
static void any_ipv4_keeps_the_port(void)
{
    struct sockaddr_storage addr;
    struct sockaddr_in *in = (struct sockaddr_in *)&addr;
    socklen_t len;
    int any;

    CHECK_INT(server_conn_parse_listen(":8081", &addr, &len, &any), 0);
    CHECK_INT(addr.ss_family, AF_INET6);
    server_conn_any_ipv4(&addr);
    CHECK_INT(addr.ss_family, AF_INET);
    CHECK_INT(ntohs(in->sin_port), 8081);
    CHECK_INT(in->sin_addr.s_addr, htonl(INADDR_ANY));
}

TEST_MAIN("server_conn",
          TEST(budget_gives_what_it_has_and_takes_back_everything),
          TEST(budget_is_exact_under_contention),
          TEST(fd_limit_is_raised_and_connections_fit_under_it),
          TEST(listen_addresses_parse),
          TEST(any_ipv4_keeps_the_port))
