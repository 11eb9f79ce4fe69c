/*
 * Column tables with kubectl's look, fitted to the terminal by dropping the least useful columns.
 */
#include "table.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_CELL_MAX 256
#define TABLE_GAP 2

struct cell {
    char text[TABLE_CELL_MAX];
    const char *colour;
};

struct table {
    const struct table_col *cols;
    int ncols;
    int hidden[TABLE_MAX_COLS];
    int nrows;
    int cap;
    struct cell (*rows)[TABLE_MAX_COLS];
};

struct table *table_new(const struct table_col *cols, int ncols)
{
    struct table *t;

    if (ncols < 1 || ncols > TABLE_MAX_COLS || !(t = calloc(1, sizeof(*t))))
        return NULL;
    t->cols = cols;
    t->ncols = ncols;
    return t;
}

void table_hide(struct table *t, int col)
{
    if (col >= 0 && col < t->ncols)
        t->hidden[col] = 1;
}

int table_add_row(struct table *t)
{
    if (t->nrows == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        void *p = realloc(t->rows, (size_t)cap * sizeof(*t->rows));

        if (!p)
            return -1;
        t->rows = p;
        t->cap = cap;
    }
    memset(t->rows[t->nrows], 0, sizeof(*t->rows));
    t->nrows++;
    return 0;
}

void table_set(struct table *t, int col, const char *colour, const char *fmt, ...)
{
    struct cell *c;
    va_list ap;

    if (t->nrows == 0 || col < 0 || col >= t->ncols)
        return;
    c = &t->rows[t->nrows - 1][col];
    va_start(ap, fmt);
    vsnprintf(c->text, sizeof(c->text), fmt, ap);
    va_end(ap);
    c->colour = colour;
}

/* Widths of every column; returns the width of the whole table with the columns in shown. */
static int measure(const struct table *t, const int *shown, int *widths)
{
    int c, r, total = 0, n = 0;

    for (c = 0; c < t->ncols; c++) {
        widths[c] = (int)strlen(t->cols[c].title);
        for (r = 0; r < t->nrows; r++)
            if ((int)strlen(t->rows[r][c].text) > widths[c])
                widths[c] = (int)strlen(t->rows[r][c].text);
        if (shown[c]) {
            total += widths[c];
            n++;
        }
    }
    return total + (n > 0 ? (n - 1) * TABLE_GAP : 0);
}

/* Drop the least useful columns until the table fits width. */
static void fit(const struct table *t, int width, int *shown, int *widths)
{
    int c;

    for (c = 0; c < t->ncols; c++)
        shown[c] = !t->hidden[c];
    while (width > 0 && measure(t, shown, widths) > width) {
        int drop = -1;

        for (c = 0; c < t->ncols; c++)
            if (shown[c] && t->cols[c].keep > 0 && (drop < 0 || t->cols[c].keep < t->cols[drop].keep))
                drop = c;
        if (drop < 0)
            break;
        shown[drop] = 0;
    }
    measure(t, shown, widths);
}

static int render_row(const struct table *t, const struct cell *row, const char *const *titles, const int *shown,
                      const int *widths, int colour, struct buf *out)
{
    int c, last = t->ncols - 1, rc = 0;

    while (last > 0 && !shown[last])
        last--;
    for (c = 0; c <= last && rc == 0; c++) {
        const char *text = row ? row[c].text : titles[c];
        const char *col = row && colour ? row[c].colour : NULL;
        int pad = c == last ? 0 : widths[c] - (int)strlen(text) + TABLE_GAP;

        if (!shown[c])
            continue;
        rc = buf_printf(out, "%s%s%s%*s", col ? col : "", text, col ? "\033[0m" : "", pad, "");
    }
    return rc ? rc : buf_append(out, "\n", 1);
}

int table_render(const struct table *t, int colour, int width, struct buf *out)
{
    int shown[TABLE_MAX_COLS], widths[TABLE_MAX_COLS], r, rc;
    const char *titles[TABLE_MAX_COLS];

    for (r = 0; r < t->ncols; r++)
        titles[r] = t->cols[r].title;
    fit(t, width, shown, widths);
    rc = render_row(t, NULL, titles, shown, widths, colour, out);
    for (r = 0; r < t->nrows && rc == 0; r++)
        rc = render_row(t, t->rows[r], titles, shown, widths, colour, out);
    return rc;
}

void table_free(struct table *t)
{
    if (!t)
        return;
    free(t->rows);
    free(t);
}
