/*
 * Text tables for the operator commands, as kubectl prints them: upper-case titles, columns padded with
 * spaces, two spaces between columns. On a terminal narrower than the table, the columns that matter
 * least are dropped first; colour is optional and never counts toward the width.
 *
 * Memory: table_new returns a table the caller releases with table_free; cell texts are copied.
 */
#ifndef MG_TABLE_H
#define MG_TABLE_H

#include "buf.h"

#define TABLE_MAX_COLS 16

/* ANSI colours for cells (NULL: none). */
#define TABLE_RED "\033[31m"
#define TABLE_GREEN "\033[32m"
#define TABLE_YELLOW "\033[33m"

struct table_col {
    const char *title;
    int keep; /* on a narrow terminal, columns with the lowest keep go first; 0 = never dropped */
};

struct table;

/* A table with these columns (at most TABLE_MAX_COLS; cols must outlive it). NULL when out of memory. */
struct table *table_new(const struct table_col *cols, int ncols);
/* Leave a column out of the output. */
void table_hide(struct table *t, int col);
/* Start a new row; cells left unset are "". 0, or -1 when out of memory. */
int table_add_row(struct table *t) __attribute__((warn_unused_result));
/* Set a cell of the last row (cut to 255 bytes), with a colour or NULL. */
void table_set(struct table *t, int col, const char *colour, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Append the table to out; colour: use the cells' colours; width: the terminal's columns (0: no limit).
 * 0, or -1 when out grows beyond its limit. */
int table_render(const struct table *t, int colour, int width, struct buf *out) __attribute__((warn_unused_result));
void table_free(struct table *t);

#endif
