/*
 * Node positions from libyaml's events. libyaml counts its marks in characters, not bytes (a byte-order
 * mark is not counted; "\r\n" counts two), so each mark is turned into a byte offset by walking the
 * UTF-8 text from the last mark converted: events come in text order, so the walk is linear.
 */
#include "yamltree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yamlscalar.h"

/* The loader's bound (yamlio.c): a deeper input is refused there before positions are asked for. */
#define YAMLTREE_DEPTH_MAX 100

struct frame {
    size_t node;
    size_t last;  /* last child so far, YAMLTREE_NONE */
    int want_key; /* a mapping that expects a key next */
};

struct builder {
    struct yamltree *t;
    struct frame stack[YAMLTREE_DEPTH_MAX];
    int depth;
    size_t doc;          /* index of the open document */
    const unsigned char *s;
    size_t base;         /* bytes of a byte-order mark */
    size_t ch, byte;     /* the last converted mark: character index and its byte offset */
    int ascii;           /* no byte above 0x7f: characters are bytes */
};

/* Byte length of the UTF-8 character starting with lead. */
static size_t utf8_width(unsigned char lead)
{
    return lead < 0x80 ? 1 : lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
}

static size_t byte_of(struct builder *b, size_t index)
{
    size_t len = b->t->len;

    if (b->ascii)
        return b->base + index < len ? b->base + index : len;
    while (b->ch < index && b->byte < len) {
        b->byte += utf8_width(b->s[b->byte]);
        b->ch++;
    }
    while (b->ch > index && b->byte > b->base) {
        b->byte--;
        while (b->byte > b->base && (b->s[b->byte] & 0xc0) == 0x80)
            b->byte--;
        b->ch--;
    }
    return b->byte < len ? b->byte : len;
}

static size_t add_node(struct builder *b, const yaml_event_t *ev, enum yamltree_kind kind)
{
    struct yamltree *t = b->t;
    struct yamltree_node *n;

    if (t->nnodes == t->node_cap) {
        size_t cap = t->node_cap ? t->node_cap * 2 : 64;
        struct yamltree_node *p = realloc(t->nodes, cap * sizeof(*p));

        if (!p)
            return YAMLTREE_NONE;
        t->nodes = p;
        t->node_cap = cap;
    }
    n = &t->nodes[t->nnodes];
    memset(n, 0, sizeof(*n));
    n->kind = (unsigned char)kind;
    n->start = byte_of(b, ev->start_mark.index);
    n->end = byte_of(b, ev->end_mark.index);
    n->line = ev->start_mark.line + 1;
    n->column = ev->start_mark.column;
    n->first = n->next = YAMLTREE_NONE;
    return t->nnodes++;
}

/* Hang node under the open collection (or make it the document's root). */
static void attach(struct builder *b, size_t node)
{
    struct yamltree *t = b->t;
    struct frame *f;

    if (b->depth == 0) {
        t->docs[b->doc].root = node;
        return;
    }
    f = &b->stack[b->depth - 1];
    if (f->last == YAMLTREE_NONE)
        t->nodes[f->node].first = node;
    else
        t->nodes[f->last].next = node;
    f->last = node;
    t->nodes[f->node].count++;
    if (t->nodes[f->node].kind == YAMLTREE_MAPPING)
        f->want_key = !f->want_key;
}

static int in_key_position(const struct builder *b)
{
    return b->depth > 0 && b->stack[b->depth - 1].want_key;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    const char *text = (const char *)ev->data.scalar.value;
    struct yamltree_doc *d = &b->t->docs[b->doc];
    size_t node = add_node(b, ev, YAMLTREE_SCALAR);
    struct yamltree_node *n;

    if (node == YAMLTREE_NONE)
        return -1;
    n = &b->t->nodes[node];
    n->style = (unsigned char)ev->data.scalar.style;
    if (ev->data.scalar.anchor)
        n->props |= YAMLTREE_ANCHOR | YAMLTREE_ANCHOR_BELOW;
    if (ev->data.scalar.tag)
        n->props |= YAMLTREE_TAG;
    if (in_key_position(b)) {
        if (!(n->key = strdup(text)))
            return -1;
        if (n->style == YAML_PLAIN_SCALAR_STYLE)
            d->plain_keys++;
        else
            d->quoted_keys++;
        if (n->style == YAML_PLAIN_SCALAR_STYLE && strcmp(text, "<<") == 0)
            b->t->nodes[b->stack[b->depth - 1].node].props |= YAMLTREE_MERGE;
    } else if (n->style == YAML_SINGLE_QUOTED_SCALAR_STYLE) {
        d->single_quoted++;
    } else if (n->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
        d->double_quoted++;
    } else if (n->style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag &&
               yamlscalar_plain_kind(text, NULL) == YAMLSCALAR_STRING) {
        d->plain_strings++;
    }
    attach(b, node);
    return 0;
}

static int on_start(struct builder *b, const yaml_event_t *ev, enum yamltree_kind kind)
{
    int mapping = kind == YAMLTREE_MAPPING;
    const yaml_char_t *anchor = mapping ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    const yaml_char_t *tag = mapping ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    int flow = mapping ? ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                       : ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE;
    size_t node;
    struct frame *f;

    if (b->depth == YAMLTREE_DEPTH_MAX || (node = add_node(b, ev, kind)) == YAMLTREE_NONE)
        return -1;
    b->t->nodes[node].props = (unsigned char)((anchor ? YAMLTREE_ANCHOR | YAMLTREE_ANCHOR_BELOW : 0) |
                                              (tag ? YAMLTREE_TAG : 0) | (flow ? YAMLTREE_FLOW : 0));
    attach(b, node);
    f = &b->stack[b->depth++];
    f->node = node;
    f->last = YAMLTREE_NONE;
    f->want_key = mapping;
    return 0;
}

static void on_end(struct builder *b, const yaml_event_t *ev)
{
    struct frame *f = &b->stack[--b->depth];
    struct yamltree_node *n = &b->t->nodes[f->node];
    size_t c;

    /* libyaml ends a block collection at the next token, past comments and blank lines: the node's
     * own text ends with its last child. */
    if ((n->props & YAMLTREE_FLOW) || f->last == YAMLTREE_NONE)
        n->end = byte_of(b, ev->end_mark.index);
    else
        n->end = b->t->nodes[f->last].end;
    for (c = n->first; c != YAMLTREE_NONE; c = b->t->nodes[c].next)
        n->props |= b->t->nodes[c].props & YAMLTREE_ANCHOR_BELOW;
}

static int on_document(struct builder *b, const yaml_event_t *ev)
{
    struct yamltree *t = b->t;

    if (t->ndocs == t->doc_cap) {
        size_t cap = t->doc_cap ? t->doc_cap * 2 : 8;
        struct yamltree_doc *p = realloc(t->docs, cap * sizeof(*p));

        if (!p)
            return -1;
        t->docs = p;
        t->doc_cap = cap;
    }
    b->doc = t->ndocs++;
    memset(&t->docs[b->doc], 0, sizeof(t->docs[b->doc]));
    t->docs[b->doc].root = YAMLTREE_NONE;
    t->docs[b->doc].line = ev->start_mark.line + 1;
    b->depth = 0;
    return 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
    size_t node;

    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        return on_document(b, ev);
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_ALIAS_EVENT:
        if ((node = add_node(b, ev, YAMLTREE_ALIAS)) == YAMLTREE_NONE)
            return -1;
        attach(b, node);
        return 0;
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, YAMLTREE_SEQUENCE);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, YAMLTREE_MAPPING);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        on_end(b, ev);
        return 0;
    default:
        return 0;
    }
}

static void set_err(char *err, size_t errlen, const char *msg, size_t line)
{
    if (err && errlen)
        snprintf(err, errlen, "yaml: line %zu: %s", line, msg);
}

int yamltree_parse(struct yamltree *t, const char *buf, size_t len, char *err, size_t errlen)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    struct builder b;
    const char *nl = memchr(buf, '\n', len);
    size_t i;
    int done = 0, rc = 0;

    memset(t, 0, sizeof(*t));
    memset(&b, 0, sizeof(b));
    t->text = buf;
    t->len = len;
    t->crlf = nl && nl > buf && nl[-1] == '\r';
    b.t = t;
    b.s = (const unsigned char *)buf;
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        b.base = 3;
    else if (len >= 2 && (memcmp(buf, "\xff\xfe", 2) == 0 || memcmp(buf, "\xfe\xff", 2) == 0)) {
        set_err(err, errlen, "UTF-16 input is not supported: convert it to UTF-8", 1);
        return -1;
    }
    b.byte = b.base;
    b.ascii = 1;
    for (i = 0; i < len && b.ascii; i++)
        b.ascii = (unsigned char)buf[i] < 0x80;
    if (!yaml_parser_initialize(&parser)) {
        set_err(err, errlen, "out of memory", 1);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
    while (!done && rc == 0) {
        if (!yaml_parser_parse(&parser, &ev)) {
            set_err(err, errlen, parser.problem ? parser.problem : "syntax error", parser.problem_mark.line + 1);
            rc = -1;
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        if ((rc = on_event(&b, &ev)) < 0)
            set_err(err, errlen, b.depth == YAMLTREE_DEPTH_MAX ? "nested too deep" : "out of memory",
                    ev.start_mark.line + 1);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (rc < 0)
        yamltree_free(t);
    return rc;
}

void yamltree_free(struct yamltree *t)
{
    size_t i;

    for (i = 0; i < t->nnodes; i++)
        free(t->nodes[i].key);
    free(t->nodes);
    free(t->docs);
    memset(t, 0, sizeof(*t));
}

size_t yamltree_get(const struct yamltree *t, size_t m, const char *key)
{
    size_t k;

    if (m == YAMLTREE_NONE || t->nodes[m].kind != YAMLTREE_MAPPING)
        return YAMLTREE_NONE;
    for (k = t->nodes[m].first; k != YAMLTREE_NONE && t->nodes[k].next != YAMLTREE_NONE; k = t->nodes[t->nodes[k].next].next)
        if (t->nodes[k].key && strcmp(t->nodes[k].key, key) == 0)
            return t->nodes[k].next;
    return YAMLTREE_NONE;
}

size_t yamltree_item(const struct yamltree *t, size_t s, size_t i)
{
    size_t c;

    if (s == YAMLTREE_NONE || t->nodes[s].kind != YAMLTREE_SEQUENCE)
        return YAMLTREE_NONE;
    for (c = t->nodes[s].first; c != YAMLTREE_NONE && i > 0; c = t->nodes[c].next)
        i--;
    return c;
}

int yamltree_is_break(char c)
{
    return c == '\n' || c == '\r';
}

size_t yamltree_line_start(const struct yamltree *t, size_t p)
{
    while (p > 0 && !yamltree_is_break(t->text[p - 1]))
        p--;
    return p;
}

int yamltree_indent_only(const struct yamltree *t, size_t p)
{
    size_t q;

    for (q = yamltree_line_start(t, p); q < p; q++)
        if (t->text[q] != ' ')
            return 0;
    return 1;
}

int yamltree_after_break(const struct yamltree *t, size_t p)
{
    const char *s = t->text;

    return p > 0 && yamltree_is_break(s[p - 1]) && !(s[p - 1] == '\r' && p < t->len && s[p] == '\n');
}

size_t yamltree_past_break(const struct yamltree *t, size_t p)
{
    if (p >= t->len)
        return p;
    return p + (t->text[p] == '\r' && p + 1 < t->len && t->text[p + 1] == '\n' ? 2 : 1);
}

size_t yamltree_next_line(const struct yamltree *t, size_t p)
{
    const char *s = t->text;

    if (yamltree_after_break(t, p))
        return p;
    while (p < t->len && !yamltree_is_break(s[p]))
        p++;
    return yamltree_past_break(t, p);
}

size_t yamltree_previous_line(const struct yamltree *t, size_t p)
{
    if (p > 0 && t->text[p - 1] == '\n')
        p--;
    if (p > 0 && t->text[p - 1] == '\r')
        p--;
    return yamltree_line_start(t, p);
}

int yamltree_line_blank(const struct yamltree *t, size_t p, int comments)
{
    while (p < t->len && (t->text[p] == ' ' || t->text[p] == '\t'))
        p++;
    return p == t->len || yamltree_is_break(t->text[p]) || (comments && t->text[p] == '#');
}

size_t yamltree_content_end(const struct yamltree *t, size_t node)
{
    const struct yamltree_node *n = &t->nodes[node];
    size_t p, c;

    while ((n->kind == YAMLTREE_MAPPING || n->kind == YAMLTREE_SEQUENCE) && !(n->props & YAMLTREE_FLOW) && n->first != YAMLTREE_NONE) {
        for (c = n->first; t->nodes[c].next != YAMLTREE_NONE; c = t->nodes[c].next)
            ;
        n = &t->nodes[c];
    }
    p = n->end;
    /* A block scalar's end takes in the blank lines after it; they are part of its value only when it
     * keeps them ("|+"). */
    if (n->kind != YAMLTREE_SCALAR || (n->style != YAML_LITERAL_SCALAR_STYLE && n->style != YAML_FOLDED_SCALAR_STYLE) ||
        !yamltree_after_break(t, p) || memchr(t->text + n->start, '+', n->start + 3 < p ? 3 : 1))
        return p;
    while (yamltree_line_blank(t, yamltree_previous_line(t, p), 0) && yamltree_previous_line(t, p) > n->start)
        p = yamltree_previous_line(t, p);
    return p;
}
