/*
 * Per-request memory for cJSON: between arena_begin and arena_end, every cJSON allocation of the calling
 * thread (parse, build, print) comes from that thread's region by bumping a pointer, cJSON's frees are
 * no-ops, and arena_end takes it all back at once. cJSON's allocation hooks are process-wide, so
 * arena_install routes them through a per-thread pointer: a thread outside a request (the cache, the
 * Events queue, the operator commands) gets malloc and free as before.
 *
 * Memory: nothing allocated through cJSON between begin and end may be used after arena_end, nor handed
 * to another thread, nor freed with free() (use cJSON_free / cJSON_Delete). What must outlive the request
 * is copied out with arena_export. The region keeps its first block between requests and returns the
 * rest to the system.
 */
#ifndef MG_ARENA_H
#define MG_ARENA_H

#include <stddef.h>

/* Route cJSON's allocations through the arena hooks. Once, before any thread starts. */
void arena_install(void);
/* Start a request on this thread: cJSON allocates from its region until arena_end. */
void arena_begin(void);
/* The request carried secret data: arena_end overwrites every byte handed out before reusing them. */
void arena_mark_secret(void);
/* End the request: the region is reset (wiped first when marked secret). A no-op without arena_begin. */
void arena_end(void);
/* s itself when it is not in this thread's region; else a malloc'd copy (the caller frees it with free),
 * or NULL when out of memory. NULL stays NULL. */
char *arena_export(char *s);
/* 1 when p is in this thread's region (freeing it is a no-op). */
int arena_owns(const void *p);
/* Bytes handed out in this thread's current request (0 outside one). */
size_t arena_used(void);

#endif
