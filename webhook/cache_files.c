/*
 * The Canary cache's file source (--canaries PATH, a file or a directory tree of *.yaml, *.yml, *.json,
 * as `kubectl get canaries -A -o yaml` prints): read at start (a start that cannot read them fails), read
 * again when their mtimes, sizes or inodes change; a read that fails keeps the Canaries read last.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "cache_index.h"
#include "cache_source.h"
#include "files.h"
#include "log.h"
#include "obj.h"
#include "yamlio.h"

/* Files under --canaries are manifests; anything larger is a mistake. */
#define FILE_MAX ((size_t)64 << 20)
#define FILES_MAX 10000
#define FILE_POLL_MS 1000L

struct files_source {
    char *path;
    uint64_t sig; /* files_signature of what was read last */
};


/* The files PATH stands for, in name order: itself, or the *.yaml, *.yml, *.json below a directory (hidden
 * names skipped: a mounted ConfigMap keeps its real files under "..data" and links to them). 0, or -1
 * with a reason in err. */
static int files_of(const char *path, struct files_list *list, char *err, size_t errlen)
{
    memset(list, 0, sizeof(*list));
    if (files_collect(list, path, err, errlen) != 0) {
        files_list_free(list);
        return -1;
    }
    if (list->n > FILES_MAX) {
        snprintf(err, errlen, "%s: more than %d files", path, FILES_MAX);
        files_list_free(list);
        return -1;
    }
    return 0;
}

/* A fingerprint of PATH and its files: changes when one is added, removed, replaced or written. */
static uint64_t files_signature(const char *path)
{
    uint64_t h = 1469598103934665603ULL;
    struct files_list files;
    char err[256];
    struct stat st;
    long v[5];
    size_t i, j;

    if (files_of(path, &files, err, sizeof(err)) != 0)
        return 0;
    for (i = 0; i <= files.n; i++) {
        memset(v, 0, sizeof(v));
        if (stat(i < files.n ? files.paths[i] : path, &st) == 0) {
            v[0] = (long)st.st_ino;
            v[1] = (long)st.st_size;
            v[2] = (long)st.st_mtim.tv_sec;
            v[3] = st.st_mtim.tv_nsec;
            v[4] = (long)st.st_dev;
        }
        for (j = 0; j < sizeof(v); j++)
            h = (h ^ ((const unsigned char *)v)[j]) * 1099511628211ULL;
    }
    files_list_free(&files);
    return h;
}

static int file_read_into(struct cache_index *idx, const char *file, char *err, size_t errlen)
{
    struct buf text = BUF_INIT(FILE_MAX);
    char yerr[256] = "";
    cJSON *docs = NULL, *doc;
    int rc = 0;

    if (buf_read_file(&text, file) != 0) {
        snprintf(err, errlen, "%s: %s", file, errno == EFBIG ? "larger than the file limit" : strerror(errno));
        buf_free(&text);
        return -1;
    }
    docs = yamlio_parse(text.data, text.len, yerr, sizeof(yerr));
    buf_free(&text);
    if (!docs) {
        snprintf(err, errlen, "%s: %s", file, yerr);
        return -1;
    }
    /* A document is a List of Canaries (as `kubectl get canaries -A -o yaml` prints) or one object. */
    cJSON_ArrayForEach(doc, docs) {
        const cJSON *items = obj_get(doc, "items");
        const char *kind = obj_string(doc, "kind");

        if ((cJSON_IsArray(items) && cache_index_put_items(idx, items) < 0) ||
            (!cJSON_IsArray(items) && kind && strcmp(kind, "Canary") == 0 && cache_index_put(idx, doc) < 0)) {
            snprintf(err, errlen, "%s: out of memory", file);
            rc = -1;
            break;
        }
    }
    cJSON_Delete(docs);
    return rc;
}

/* Read every file into a new index and swap it in; on any error keep the current one. */
static int files_load(struct files_source *fs, struct cache *c, char *err, size_t errlen)
{
    struct cache_index *idx = cache_index_new();
    struct files_list files = {0};
    size_t i;
    int rc = -1;

    if (!idx) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (files_of(fs->path, &files, err, errlen) != 0)
        goto out;
    for (i = 0; i < files.n; i++)
        if (file_read_into(idx, files.paths[i], err, errlen) != 0)
            goto out;
    log_info("cache: read %ld Canaries from %zu file(s) under %s", cache_index_count(idx), files.n, fs->path);
    cache_publish(c, idx, "", 1);
    idx = NULL;
    rc = 0;
out:
    cache_index_free(idx);
    files_list_free(&files);
    cache_give_back();
    return rc;
}

static void files_run(struct cache *c, void *state)
{
    struct files_source *fs = state;
    char err[512];
    uint64_t sig;

    while (!cache_sleep(c, FILE_POLL_MS)) {
        sig = files_signature(fs->path);
        if (sig == fs->sig)
            continue;
        /* Remember the fingerprint even when the read fails: a broken file is reported once, and
         * read again when it is written next. */
        fs->sig = sig;
        if (files_load(fs, c, err, sizeof(err)) != 0)
            log_warn("cache: keeping the last Canaries read: %s", err);
    }
}

static int files_wanted(const struct cache_config *cfg)
{
    return cfg->canaries_path && cfg->canaries_path[0];
}

static int files_open(struct cache *c, const struct cache_config *cfg, void **state, char *err, size_t errlen)
{
    struct files_source *fs = calloc(1, sizeof(*fs));

    if (!fs || !(fs->path = strdup(cfg->canaries_path))) {
        free(fs);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fs->sig = files_signature(fs->path);
    if (files_load(fs, c, err, errlen) != 0) {
        free(fs->path);
        free(fs);
        return -1;
    }
    *state = fs;
    return 0;
}

static void files_interrupt(void *state)
{
    (void)state; /* files_run sleeps on the cache's stop condition */
}

static void files_close(void *state)
{
    struct files_source *fs = state;

    if (!fs)
        return;
    free(fs->path);
    free(fs);
}

const struct cache_source cache_source_files = {
    "files", files_wanted, files_open, files_run, files_interrupt, files_close,
};
