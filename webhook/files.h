/*
 * Files for the offline commands: which files a list of paths names (directories walked for manifest
 * files), writing a file in place atomically, and a unified diff of two texts.
 *
 * Memory: files_collect appends malloc'd paths to a struct files_list that files_list_free releases.
 */
#ifndef MG_FILES_H
#define MG_FILES_H

#include <stddef.h>

struct files_list {
    char **paths;
    size_t n, cap;
    /* Directories a walk left out because they hold Helm templates (below). */
    char **skipped;
    size_t nskipped, capskipped;
};

/* Append path to list: a directory is walked (in name order, not following symbolic links to
 * directories, skipping names that start with '.') for *.yaml, *.yml and *.json; anything else is taken
 * as named. The templates/ directory of a Helm chart (a directory with a Chart.yaml) is not walked but
 * recorded in list->skipped: its files are Go templates, YAML only once rendered. 0, or -1 with the
 * reason in err (a path that does not exist, an unreadable directory). */
int files_collect(struct files_list *list, const char *path, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Release the list; it is empty again. */
void files_list_free(struct files_list *list);
/* Replace the file at path (through a symbolic link: its target) with data, atomically: a temporary
 * file in the same directory with the old file's mode, synced, then renamed over it. 0, or -1 with the
 * reason in err; the old file is then unchanged. */
int files_write_atomic(const char *path, const char *data, size_t len, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Print `diff -u` of old and new, labelled a/name and b/name, on stdout (diff run with an argument
 * vector, no shell). 0, or -1 with the reason in err. */
int files_diff(const char *name, const char *old_text, size_t old_len, const char *new_text, size_t new_len,
               char *err, size_t errlen) __attribute__((warn_unused_result));

#endif
