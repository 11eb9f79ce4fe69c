/*
 * The file-system side of `manual-gate mutate`: finding manifest files, atomic in-place writes (a
 * reader, a GitOps controller or an interrupted run never sees half a file), and diffs by the system's
 * `diff -u` (diffutils is part of every Debian system, the image's included), run without a shell.
 */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Directories nest this deep at most in a walk: a bound against loops through bind mounts. */
#define WALK_DEPTH_MAX 64

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_name(char ***paths, size_t *n, size_t *cap, const char *path)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        char **p = realloc(*paths, c * sizeof(*p));

        if (!p)
            return -1;
        *paths = p;
        *cap = c;
    }
    if (!((*paths)[*n] = strdup(path)))
        return -1;
    (*n)++;
    return 0;
}

static int add_path(struct files_list *list, const char *path)
{
    return add_name(&list->paths, &list->n, &list->cap, path);
}

/* names (sorted) holds "Chart.yaml": the directory is a Helm chart. */
static int is_chart(const struct files_list *names)
{
    return bsearch(&(const char *){"Chart.yaml"}, names->paths, names->n, sizeof(*names->paths), by_name) != NULL;
}

static int is_manifest_name(const char *name)
{
    size_t n = strlen(name);

    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) || (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

static int walk(struct files_list *list, const char *dir, int depth, char *err, size_t errlen);

/* One entry of a directory being walked, at path: a directory is walked (a chart's templates/ is recorded
 * as skipped instead), a manifest file is listed, anything else is left out. 0, or -1 with err set. */
static int walk_entry(struct files_list *list, const struct files_list *names, const char *name, const char *path,
                      int depth, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return 0; /* removed while walking */
    if (S_ISDIR(st.st_mode) && strcmp(name, "templates") == 0 && is_chart(names)) {
        if (add_name(&list->skipped, &list->nskipped, &list->capskipped, path) == 0)
            return 0;
    } else if (S_ISDIR(st.st_mode)) {
        if (depth < WALK_DEPTH_MAX)
            return walk(list, path, depth + 1, err, errlen);
        snprintf(err, errlen, "%s: directories nest deeper than %d", path, WALK_DEPTH_MAX);
        return -1;
    } else if (!is_manifest_name(name) || stat(path, &st) != 0 || !S_ISREG(st.st_mode) || add_path(list, path) == 0) {
        return 0;
    }
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int walk(struct files_list *list, const char *dir, int depth, char *err, size_t errlen)
{
    struct files_list names = {0};
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX];
    size_t i;
    int rc = -1;

    if (!d) {
        snprintf(err, errlen, "cannot read directory %s: %s", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && add_path(&names, e->d_name) < 0) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    qsort(names.paths, names.n, sizeof(*names.paths), by_name);
    for (i = 0; i < names.n; i++) {
        /* "." is left out, as Go's filepath.Join does: `mutate .` names apps/x.yaml, not ./apps/x.yaml. */
        if ((size_t)snprintf(path, sizeof(path), "%s%s%s", strcmp(dir, ".") == 0 ? "" : dir,
                             strcmp(dir, ".") == 0 || dir[strlen(dir) - 1] == '/' ? "" : "/", names.paths[i]) >=
            sizeof(path)) {
            snprintf(err, errlen, "path too long in %s", dir);
            goto done;
        }
        if (walk_entry(list, &names, names.paths[i], path, depth, err, errlen) < 0)
            goto done;
    }
    rc = 0;
done:
    files_list_free(&names);
    closedir(d);
    return rc;
}

int files_collect(struct files_list *list, const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (strcmp(path, "-") != 0 && stat(path, &st) < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (strcmp(path, "-") != 0 && S_ISDIR(st.st_mode))
        return walk(list, path, 0, err, errlen);
    if (add_path(list, path) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void files_list_free(struct files_list *list)
{
    size_t i;

    for (i = 0; i < list->n; i++)
        free(list->paths[i]);
    for (i = 0; i < list->nskipped; i++)
        free(list->skipped[i]);
    free(list->paths);
    free(list->skipped);
    memset(list, 0, sizeof(*list));
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int files_write_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
    char real[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 32];
    struct stat st;
    int fd = -1;

    tmp[0] = '\0';
    if (!realpath(path, real) || stat(real, &st) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s", real);
    snprintf(tmp, sizeof(tmp), "%s/.%s.mg-XXXXXX", dirname(dir), basename(real));
    if ((fd = mkstemp(tmp)) < 0) {
        tmp[0] = '\0';
        goto fail;
    }
    /* The owner is kept where the user may set it (root); otherwise the file becomes the writer's, as
     * with any editor that saves by rename. */
    if (fchmod(fd, st.st_mode & 07777) < 0 || (fchown(fd, st.st_uid, st.st_gid) < 0 && errno != EPERM))
        goto fail;
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0)
        goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, real) < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    if (tmp[0])
        unlink(tmp);
    return -1;
}

/* Write text to a new temporary file; its path in tmp (of PATH_MAX). 0 or -1. */
static int temp_file(char *tmp, const char *text, size_t len)
{
    const char *dir = getenv("TMPDIR");
    int fd;

    snprintf(tmp, PATH_MAX, "%s/manual-gate-diff.XXXXXX", dir && *dir ? dir : "/tmp");
    if ((fd = mkstemp(tmp)) < 0) {
        tmp[0] = '\0';
        return -1;
    }
    if (write_all(fd, text, len) < 0) {
        close(fd);
        return -1;
    }
    return close(fd);
}

int files_diff(const char *name, const char *old_text, size_t old_len, const char *new_text, size_t new_len,
               char *err, size_t errlen)
{
    char old_path[PATH_MAX] = "", new_path[PATH_MAX] = "", a[PATH_MAX + 3], b[PATH_MAX + 3];
    char prog[] = "diff", unified[] = "-u", label[] = "--label";
    char *argv[] = {prog, unified, label, a, label, b, old_path, new_path, NULL};
    pid_t pid;
    int status, rc = -1, e;

    /* a/ and b/ as git writes them, so that `git apply` takes the diff of a relative path. */
    snprintf(a, sizeof(a), name[0] == '/' ? "%s.orig" : "a/%s", name);
    snprintf(b, sizeof(b), name[0] == '/' ? "%s" : "b/%s", name);
    if (temp_file(old_path, old_text, old_len) < 0 || temp_file(new_path, new_text, new_len) < 0) {
        snprintf(err, errlen, "cannot write a temporary file for the diff: %s", strerror(errno));
        goto done;
    }
    fflush(stdout);
    if ((e = posix_spawnp(&pid, "diff", NULL, NULL, argv, environ)) != 0) {
        snprintf(err, errlen, "cannot run diff: %s", strerror(e));
        goto done;
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            snprintf(err, errlen, "cannot wait for diff: %s", strerror(errno));
            goto done;
        }
    /* diff exits 0 (same), 1 (different) or 2 (trouble). */
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
        snprintf(err, errlen, "diff failed (status %d)", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        goto done;
    }
    rc = 0;
done:
    if (old_path[0])
        unlink(old_path);
    if (new_path[0])
        unlink(new_path);
    return rc;
}
