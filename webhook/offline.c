/*
 * The `mutate` command: the paths are expanded into files, each file is rewritten as the cluster would
 * store it (rewrite.c), and the verb decides what happens to the result: printed (the default), written
 * in place (-w), listed (--check), shown as a diff (--diff). A file is never written when any of its
 * Canaries is refused, so a denied Canary never looks completed. Messages go to stderr, results to
 * stdout.
 */
#include "offline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "files.h"
#include "rewrite.h"

/* Far above any manifest set a repository keeps in one file; bounds what a file or "-" may hold. */
#define OFFLINE_INPUT_MAX (64u * 1024 * 1024)
/* Room for an error naming a path (PATH_MAX) and its reason. */
#define ERR_MAX 4400

/* Exit codes, in rising order of weight: the highest one met wins. */
enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_TROUBLE = 2 };

struct run {
    const struct offline_options *opt;
    const struct policy_config *cfg;
    int exit_code;
    int would_change;
    int printed;      /* files printed so far (default verb) */
};

static void raise_exit(struct run *run, int code)
{
    if (code > run->exit_code)
        run->exit_code = code;
}

static int read_input(const char *path, struct buf *in)
{
    int rc;

    if (strcmp(path, "-") == 0)
        rc = buf_read_stream(in, stdin);
    else
        rc = buf_read_file(in, path);
    if (rc != 0)
        fprintf(stderr, "manual-gate mutate: cannot read %s: %s\n", path,
                errno == EFBIG ? "larger than the 64 MiB input limit" : strerror(errno));
    return rc;
}

/* The default verb: the result on stdout, documents of several files kept apart by "---". */
static int print_result(struct run *run, const struct rewrite_result *r)
{
    if (run->printed++ && r->len && strncmp(r->text, "---", 3) != 0 && fputs("---\n", stdout) == EOF)
        return -1;
    return fwrite(r->text, 1, r->len, stdout) == r->len ? 0 : -1;
}

static void act(struct run *run, const char *path, const char *name, const struct buf *in,
                const struct rewrite_result *r)
{
    const struct offline_options *opt = run->opt;
    char err[ERR_MAX];

    if (!opt->write && !opt->check && !opt->diff) {
        if (print_result(run, r) < 0) {
            fprintf(stderr, "manual-gate mutate: cannot write the result: %s\n", strerror(errno));
            raise_exit(run, EXIT_TROUBLE);
        }
        return;
    }
    if (!r->changed)
        return;
    run->would_change = 1;
    if (opt->diff && files_diff(name, in->data ? in->data : "", in->len, r->text, r->len, err, sizeof(err)) < 0) {
        fprintf(stderr, "manual-gate mutate: %s: %s\n", name, err);
        raise_exit(run, EXIT_TROUBLE);
        return;
    }
    if (opt->write && files_write_atomic(path, r->text, r->len, err, sizeof(err)) < 0) {
        fprintf(stderr, "manual-gate mutate: %s\n", err);
        raise_exit(run, EXIT_TROUBLE);
        return;
    }
    if (opt->check || (opt->write && !opt->diff))
        printf("%s\n", name);
}

static void mutate_path(struct run *run, const char *path)
{
    struct buf in = BUF_INIT(OFFLINE_INPUT_MAX);
    struct rewrite_result r;
    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;

    if (read_input(path, &in) != 0) {
        raise_exit(run, EXIT_TROUBLE);
        goto done;
    }
    switch (rewrite_file(name, in.data ? in.data : "", in.len, run->cfg, stderr, &r)) {
    case REWRITE_OK:
        act(run, path, name, &in, &r);
        break;
    case REWRITE_REFUSED:
        raise_exit(run, EXIT_REFUSED);
        break;
    case REWRITE_ERROR:
        raise_exit(run, EXIT_TROUBLE);
        break;
    }
    rewrite_result_free(&r);
done:
    buf_free(&in);
}

int offline_mutate(const char *const *paths, int npaths, const struct offline_options *opt,
                   const struct policy_config *cfg)
{
    struct run run = {opt, cfg, EXIT_OK, 0, 0};
    struct files_list files = {0};
    char err[ERR_MAX];
    size_t i;
    int p;

    for (p = 0; p < npaths; p++) {
        if (strcmp(paths[p], "-") == 0 && opt->write) {
            fprintf(stderr, "manual-gate mutate: -w cannot write to stdin\n");
            files_list_free(&files);
            return EXIT_TROUBLE;
        }
        if (files_collect(&files, paths[p], err, sizeof(err)) < 0) {
            fprintf(stderr, "manual-gate mutate: %s\n", err);
            raise_exit(&run, EXIT_TROUBLE);
        }
    }
    /* Said, not an error: a chart's templates are rendered first (helm template), then checked. */
    for (i = 0; i < files.nskipped; i++)
        fprintf(stderr, "manual-gate mutate: %s: skipped, Helm templates are YAML only once rendered "
                        "(helm template CHART | manual-gate mutate -)\n", files.skipped[i]);
    for (i = 0; i < files.n; i++)
        mutate_path(&run, files.paths[i]);
    files_list_free(&files);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "manual-gate mutate: cannot write the result: %s\n", strerror(errno));
        raise_exit(&run, EXIT_TROUBLE);
    }
    if (opt->check && run.would_change)
        raise_exit(&run, EXIT_REFUSED);
    return run.exit_code;
}
