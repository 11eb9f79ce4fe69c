/*
 * The per-request region (see arena.h). Blocks come straight from mmap, so a large request's blocks are
 * returned whole to the system at the end of it; the first block of each thread is kept for the next
 * request. Under AddressSanitizer the free parts of a block and a gap after each allocation are poisoned,
 * so a use after arena_end, or past the end of an allocation, is still reported.
 */
#include "arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cjson/cJSON.h>

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_GAP 16
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define ARENA_GAP 0
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ARENA_ALIGN 16
/* The block kept between requests: a 9 KB review's tree and answer fit in it several times over. */
#define ARENA_FIRST ((size_t)256 << 10)

struct block {
    struct block *next;
    size_t size, used; /* size of the whole mapping; used counts from its start, header included */
};

struct arena {
    struct block *head; /* the newest block; the first one is last in the list */
    int secret;
};

static pthread_key_t arena_key;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static _Thread_local struct arena *arena_cur; /* this thread's arena while a request runs, else NULL */
static _Thread_local struct arena *arena_mine;

#define HEADER ((sizeof(struct block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

static struct block *block_new(size_t size)
{
    struct block *b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (b == MAP_FAILED)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = HEADER;
    POISON((char *)b + HEADER, size - HEADER);
    return b;
}

static void block_free(struct block *b)
{
    UNPOISON(b, b->size);
    munmap(b, b->size);
}

static void arena_destroy(void *p)
{
    struct arena *a = p;
    struct block *b, *next;

    for (b = a ? a->head : NULL; b; b = next) {
        next = b->next;
        block_free(b);
    }
    free(a);
}

static void key_create(void)
{
    pthread_key_create(&arena_key, arena_destroy);
}

static int in_block(const struct block *b, const void *p)
{
    return (const char *)p >= (const char *)b && (const char *)p < (const char *)b + b->size;
}

static int owns(const struct arena *a, const void *p)
{
    const struct block *b;

    for (b = a->head; b; b = b->next)
        if (in_block(b, p))
            return 1;
    return 0;
}

static void *arena_alloc(struct arena *a, size_t n)
{
    size_t need = (n + ARENA_GAP + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1), size;
    struct block *b = a->head;
    char *p;

    if (need < n)
        return NULL;
    if (b->size - b->used < need) {
        size = b->size * 2;
        while (size - HEADER < need && size < SIZE_MAX / 2)
            size *= 2;
        if (size - HEADER < need || !(b = block_new(size)))
            return NULL;
        b->next = a->head;
        a->head = b;
    }
    p = (char *)b + b->used;
    b->used += need;
    UNPOISON(p, n);
    return p;
}

static void *hook_malloc(size_t n)
{
    struct arena *a = arena_cur;

    return a ? arena_alloc(a, n) : malloc(n);
}

static void hook_free(void *p)
{
    struct arena *a = arena_cur;

    if (p && !(a && owns(a, p)))
        free(p);
}

void arena_install(void)
{
    cJSON_Hooks hooks = {hook_malloc, hook_free};

    pthread_once(&arena_once, key_create);
    cJSON_InitHooks(&hooks);
}

void arena_begin(void)
{
    struct arena *a = arena_mine;

    pthread_once(&arena_once, key_create);
    if (!a) {
        if (!(a = calloc(1, sizeof(*a))) || !(a->head = block_new(ARENA_FIRST))) {
            free(a);
            return; /* no region: cJSON falls back to malloc */
        }
        pthread_setspecific(arena_key, a);
        arena_mine = a;
    }
    a->secret = 0;
    arena_cur = a;
}

void arena_mark_secret(void)
{
    if (arena_cur)
        arena_cur->secret = 1;
}

void arena_end(void)
{
    struct arena *a = arena_cur;
    struct block *b, *next;

    if (!a)
        return;
    arena_cur = NULL;
    for (b = a->head; b; b = next) {
        next = b->next;
        if (a->secret) {
            UNPOISON((char *)b + HEADER, b->used - HEADER);
            explicit_bzero((char *)b + HEADER, b->used - HEADER);
        }
        if (next) {
            block_free(b);
        } else {
            POISON((char *)b + HEADER, b->size - HEADER);
            b->used = HEADER;
            a->head = b;
        }
    }
    a->secret = 0;
}

char *arena_export(char *s)
{
    struct arena *a = arena_cur;

    if (!s || !a || !owns(a, s))
        return s;
    return strdup(s);
}

int arena_owns(const void *p)
{
    return p && arena_cur && owns(arena_cur, p);
}

size_t arena_used(void)
{
    const struct block *b;
    size_t n = 0;

    for (b = arena_cur ? arena_cur->head : NULL; b; b = b->next)
        n += b->used - HEADER;
    return n;
}
