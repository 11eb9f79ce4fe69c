/*
 * Where every node of a YAML stream lies in its text: byte ranges, lines and columns, styles, anchors,
 * tags and merge keys, from libyaml's event marks. yamlio.c says what a document means; this says where
 * each part of it is written, so that a change can be spliced into the original bytes (yamlsplice.c)
 * and an error can name a line.
 *
 * Nodes are kept in one array in document order and refer to each other by index. A mapping's
 * children alternate key and value nodes.
 *
 * Memory: yamltree_parse fills a struct yamltree that owns its arrays and key texts; yamltree_free releases
 * them. The tree borrows the input text, which must outlive it.
 */
#ifndef MG_YAMLTREE_H
#define MG_YAMLTREE_H

#include <stddef.h>

#define YAMLTREE_NONE ((size_t)-1)

enum yamltree_kind { YAMLTREE_SCALAR, YAMLTREE_MAPPING, YAMLTREE_SEQUENCE, YAMLTREE_ALIAS };

/* Node properties (struct yamltree_node.props). */
#define YAMLTREE_ANCHOR 1        /* has an &anchor */
#define YAMLTREE_TAG 2           /* has an explicit tag */
#define YAMLTREE_MERGE 4         /* a mapping holding a "<<" merge key */
#define YAMLTREE_FLOW 8          /* a flow-style collection: [..] or {..} */
#define YAMLTREE_ANCHOR_BELOW 16 /* the node or a node inside it has an anchor */

struct yamltree_node {
    size_t start, end; /* bytes [start, end) of the input; a block collection ends where its last node does */
    size_t line;       /* 1-based line of start */
    size_t column;     /* 0-based column of start, in characters */
    size_t first;      /* first child, YAMLTREE_NONE if none */
    size_t next;       /* next sibling, YAMLTREE_NONE if none */
    size_t count;      /* number of children */
    char *key;         /* a scalar in key position: its text (owned); NULL otherwise */
    unsigned char kind;  /* enum yamltree_kind */
    unsigned char style; /* a scalar's yaml_scalar_style_t */
    unsigned char props; /* YAMLTREE_* flags */
};

struct yamltree_doc {
    size_t root;     /* YAMLTREE_NONE when the document holds no node */
    size_t line;     /* 1-based line where the document starts */
    /* String values (not keys) by how they are written: what new strings should look like. */
    size_t plain_strings, single_quoted, double_quoted;
    size_t plain_keys, quoted_keys; /* and keys */
};

struct yamltree {
    struct yamltree_node *nodes;
    size_t nnodes, node_cap;
    struct yamltree_doc *docs; /* every document of the stream, empty ones included */
    size_t ndocs, doc_cap;
    const char *text;       /* the input (borrowed) */
    size_t len;
    int crlf;               /* the first line break of the input is "\r\n" */
};

/* Read the positions of every node of buf into t (zeroed or freed before). 0, or -1 with a one-line
 * reason in err (t is then empty). UTF-8 input only; a byte-order mark is allowed. */
int yamltree_parse(struct yamltree *t, const char *buf, size_t len, char *err, size_t errlen);
/* Release what yamltree_parse allocated; t is empty again. Safe on a zeroed tree. */
void yamltree_free(struct yamltree *t);
/* The value node under key in mapping node m; YAMLTREE_NONE when m is no mapping or has no such key
 * written in it (a key merged in with "<<" is not found). */
size_t yamltree_get(const struct yamltree *t, size_t m, const char *key);
/* Item i of sequence node s; YAMLTREE_NONE when s is no sequence or has fewer items. */
size_t yamltree_item(const struct yamltree *t, size_t s, size_t i);

/* Positions in the text. A line break is "\n", "\r\n" or "\r". */
/* 1 when c is '\n' or '\r'. */
int yamltree_is_break(char c);
/* The start of the line p is on. */
size_t yamltree_line_start(const struct yamltree *t, size_t p);
/* 1 when only spaces come before p on its line. */
int yamltree_indent_only(const struct yamltree *t, size_t p);
/* 1 when p sits just after a line break (a block scalar's end takes in its last one). */
int yamltree_after_break(const struct yamltree *t, size_t p);
/* Past the line break at p ("\r\n" counts as one); p itself at the text's end. */
size_t yamltree_past_break(const struct yamltree *t, size_t p);
/* The start of the line after the one p ends (p itself when it is after a break; the text's end when
 * no line follows). */
size_t yamltree_next_line(const struct yamltree *t, size_t p);
/* The start of the line before the one that starts at p (0 at the text's start). */
size_t yamltree_previous_line(const struct yamltree *t, size_t p);
/* 1 when the line from p holds only spaces and tabs (or, with comments, a comment). */
int yamltree_line_blank(const struct yamltree *t, size_t p, int comments);
/* Where a node's own text ends: a block collection at its last node's end, a block scalar before the
 * blank lines after it that are not part of its value. */
size_t yamltree_content_end(const struct yamltree *t, size_t node);

#endif
