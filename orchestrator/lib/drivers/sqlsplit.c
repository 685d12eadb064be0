/*
 * sqlsplit.c — a small lexer that finds statement boundaries the way each dialect's own
 * client does (psql for PostgreSQL, the mariadb client without DELIMITER, sqlite3_complete
 * for SQLite). It only recognises what can hide a ';': strings, quoted identifiers,
 * comments and, per dialect, dollar quotes, parentheses and compound bodies.
 */
#include "sqlsplit_impl.h"

#include "drover/util.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* What the lexer knows about the statement being scanned. */
typedef struct Stmt {
    bool started;
    size_t start;    /* offset of the first real character */
    size_t real_end; /* offset just past the last real (non-blank, non-comment) character */
    int paren_depth; /* psql: ';' inside parentheses does not end a statement */
    /* psql's BEGIN ATOMIC heuristic: first letters of the leading CREATE [OR REPLACE]
     * FUNCTION|PROCEDURE words, and the BEGIN/CASE ... END nesting seen after them. */
    char lead[4];
    size_t nwords;
    int begin_depth;
    /* sqlite3_complete: CREATE [TEMP|TEMPORARY] TRIGGER bodies end at "END ;" only. */
    bool sqlite_trigger;
    bool last_word_end;
} Stmt;

typedef struct Lexer {
    const char *s;
    size_t n;
    size_t i;
    DbDialect d;
    Stmt st;
    SqlStatement *out;
    size_t nout;
    size_t cap;
    size_t line_pos; /* line counting resumes from here: statements come in order */
    int line;
} Lexer;

static bool is_word_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c >= 0x80;
}

static bool is_word_char(unsigned char c)
{
    return is_word_start(c) || c == '$';
}

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char at(const Lexer *lx, size_t k)
{
    return lx->i + k < lx->n ? lx->s[lx->i + k] : '\0';
}

static void mark_real(Lexer *lx, size_t from)
{
    if (!lx->st.started) {
        lx->st.started = true;
        lx->st.start = from;
    }
    lx->st.real_end = lx->i;
}

static void emit(Lexer *lx)
{
    if (!lx->st.started)
        goto reset;
    for (; lx->line_pos < lx->st.start; lx->line_pos++)
        if (lx->s[lx->line_pos] == '\n')
            lx->line++;
    if (lx->nout == lx->cap) {
        lx->cap = lx->cap ? lx->cap * 2 : 8;
        lx->out = xrealloc(lx->out, lx->cap * sizeof *lx->out);
    }
    lx->out[lx->nout++] = (SqlStatement){
        .offset = lx->st.start,
        .len = lx->st.real_end - lx->st.start,
        .line = lx->line,
    };
reset:
    memset(&lx->st, 0, sizeof lx->st);
}

/* skip_to_eol consumes a line comment, leaving the newline to the caller's blank skipping. */
static void skip_to_eol(Lexer *lx)
{
    while (lx->i < lx->n && lx->s[lx->i] != '\n')
        lx->i++;
}

/* skip_block_comment consumes a comment starting at its opening slash-star; PostgreSQL
 * nests them, MySQL and SQLite do not. An unterminated comment runs to the end. */
static void skip_block_comment(Lexer *lx, bool nested)
{
    int depth = 0;
    while (lx->i < lx->n) {
        if (at(lx, 0) == '/' && at(lx, 1) == '*' && (nested || depth == 0)) {
            depth++;
            lx->i += 2;
        } else if (at(lx, 0) == '*' && at(lx, 1) == '/') {
            lx->i += 2;
            if (--depth == 0)
                return;
        } else {
            lx->i++;
        }
    }
}

/* MySQL: "-- " starts a comment only when followed by a blank or control character. */
static bool mysql_dash_comment(const Lexer *lx)
{
    unsigned char c = (unsigned char)at(lx, 2);
    return at(lx, 0) == '-' && at(lx, 1) == '-' && (c <= ' ' || c == 0x7f);
}

/* skip_comment consumes one comment at the cursor. MySQL's executable comments and hints
 * reach the server as code, so they count as real text there and are not skipped here. */
static bool skip_comment(Lexer *lx)
{
    char c0 = at(lx, 0), c1 = at(lx, 1);
    bool line_comment = lx->d == DB_MYSQL ? (mysql_dash_comment(lx) || c0 == '#')
                                           : (c0 == '-' && c1 == '-');
    if (line_comment) {
        skip_to_eol(lx);
        return true;
    }
    if (c0 == '/' && c1 == '*') {
        if (lx->d == DB_MYSQL && (at(lx, 2) == '!' || at(lx, 2) == '+'))
            return false;
        skip_block_comment(lx, lx->d == DB_POSTGRES);
        return true;
    }
    return false;
}

/* skip_quoted consumes text opened by the character at the cursor and closed by `close`,
 * where a doubled closer stands for itself; with `backslash` a backslash escapes the next
 * byte (MySQL strings, PostgreSQL E'' strings). Unterminated text runs to the end. */
static void skip_quoted(Lexer *lx, char close, bool backslash)
{
    lx->i++;
    while (lx->i < lx->n) {
        char c = lx->s[lx->i];
        if (backslash && c == '\\') {
            lx->i += lx->i + 1 < lx->n ? 2 : 1;
        } else if (c == close) {
            lx->i++;
            if (at(lx, 0) != close)
                return;
            lx->i++;
        } else {
            lx->i++;
        }
    }
}

/* dollar_tag_len returns the length of a $tag$ or $$ delimiter at p, 0 when there is none. */
static size_t dollar_tag_len(const char *p, size_t avail)
{
    if (avail < 2 || p[0] != '$')
        return 0;
    size_t k = 1;
    if (is_word_start((unsigned char)p[k]) && !(p[k] >= '0' && p[k] <= '9')) {
        while (k < avail && is_word_start((unsigned char)p[k]))
            k++;
    }
    return k < avail && p[k] == '$' ? k + 1 : 0;
}

static bool skip_dollar_quote(Lexer *lx)
{
    size_t tag = dollar_tag_len(lx->s + lx->i, lx->n - lx->i);
    if (tag == 0)
        return false;
    const char *delim = lx->s + lx->i;
    lx->i += tag;
    while (lx->i < lx->n) {
        if (lx->s[lx->i] == '$' && lx->n - lx->i >= tag && memcmp(lx->s + lx->i, delim, tag) == 0) {
            lx->i += tag;
            return true;
        }
        lx->i++;
    }
    return true;
}

static bool word_is(const char *w, size_t len, const char *kw)
{
    return strlen(kw) == len && strncasecmp(w, kw, len) == 0;
}

/* psql_track_word mirrors psqlscan.l: inside CREATE [OR REPLACE] FUNCTION|PROCEDURE, a
 * SQL-standard body (BEGIN ATOMIC ... END) keeps its semicolons. */
static void psql_track_word(Stmt *st, const char *w, size_t len)
{
    static const char *const lead_words[] = {"create", "function", "procedure", "or", "replace"};
    if (w[0] >= '0' && w[0] <= '9')
        return; /* a number, not an identifier */
    if (st->nwords < sizeof st->lead) {
        for (size_t k = 0; k < sizeof lead_words / sizeof *lead_words; k++)
            if (word_is(w, len, lead_words[k]))
                st->lead[st->nwords] = lead_words[k][0];
    }
    st->nwords++;
    const char *l = st->lead;
    bool routine = l[0] == 'c' && (l[1] == 'f' || l[1] == 'p' ||
                                   (l[1] == 'o' && l[2] == 'r' && (l[3] == 'f' || l[3] == 'p')));
    if (!routine || st->paren_depth != 0)
        return;
    if (word_is(w, len, "begin"))
        st->begin_depth++;
    else if (word_is(w, len, "case") && st->begin_depth >= 1)
        st->begin_depth++;
    else if (word_is(w, len, "end") && st->begin_depth > 0)
        st->begin_depth--;
}

/* sqlite_track_word mirrors sqlite3_complete's CREATE [TEMP] TRIGGER detection. */
static void sqlite_track_word(Stmt *st, const char *w, size_t len)
{
    size_t pos = st->nwords++;
    if (pos == 0)
        st->lead[0] = word_is(w, len, "create") ? 'c' : 0;
    else if (pos == 1 && st->lead[0] == 'c' && (word_is(w, len, "temp") || word_is(w, len, "temporary")))
        st->lead[1] = 't';
    else if (st->lead[0] == 'c' && (pos == 1 || (pos == 2 && st->lead[1] == 't')) &&
             word_is(w, len, "trigger"))
        st->sqlite_trigger = true;
    st->last_word_end = word_is(w, len, "end");
}

static void scan_word(Lexer *lx)
{
    size_t from = lx->i;
    while (lx->i < lx->n && is_word_char((unsigned char)lx->s[lx->i]))
        lx->i++;
    if (lx->d == DB_POSTGRES)
        psql_track_word(&lx->st, lx->s + from, lx->i - from);
    else if (lx->d == DB_SQLITE)
        sqlite_track_word(&lx->st, lx->s + from, lx->i - from);
}

static bool semicolon_ends_statement(const Lexer *lx)
{
    if (lx->d == DB_POSTGRES)
        return lx->st.paren_depth == 0 && lx->st.begin_depth == 0;
    if (lx->d == DB_SQLITE && lx->st.sqlite_trigger)
        return lx->st.last_word_end;
    return true;
}

/* scan_quote consumes a string or quoted identifier at the cursor, if there is one. */
static bool scan_quote(Lexer *lx)
{
    char c = at(lx, 0);
    switch (lx->d) {
    case DB_POSTGRES:
        if ((c == 'e' || c == 'E') && at(lx, 1) == '\'') {
            lx->i++;
            skip_quoted(lx, '\'', true);
            return true;
        }
        if (c == '\'' || c == '"') {
            skip_quoted(lx, c, false);
            return true;
        }
        return c == '$' && skip_dollar_quote(lx);
    case DB_MYSQL:
        if (c == '\'' || c == '"') {
            skip_quoted(lx, c, true);
            return true;
        }
        if (c == '`') {
            skip_quoted(lx, c, false);
            return true;
        }
        return false;
    case DB_SQLITE:
        if (c == '\'' || c == '"' || c == '`') {
            skip_quoted(lx, c, false);
            return true;
        }
        if (c == '[') {
            skip_quoted(lx, ']', false);
            return true;
        }
        return false;
    }
    return false;
}

/* scan_token consumes one real token and keeps the per-statement bookkeeping. */
static void scan_token(Lexer *lx)
{
    size_t from = lx->i;
    char c = at(lx, 0);
    if (lx->d == DB_MYSQL && c == '/' && at(lx, 1) == '*') {
        skip_block_comment(lx, false);
    } else if (scan_quote(lx)) {
        /* consumed */
    } else if (is_word_start((unsigned char)c)) {
        scan_word(lx);
    } else {
        if (c == '(')
            lx->st.paren_depth++;
        else if (c == ')' && lx->st.paren_depth > 0)
            lx->st.paren_depth--;
        lx->i++;
        if (lx->d == DB_SQLITE)
            lx->st.last_word_end = false;
    }
    mark_real(lx, from);
}

size_t sql_split(const char *script, DbDialect d, SqlStatement **out)
{
    Lexer lx = {.s = script, .n = strlen(script), .d = d, .line = 1};
    while (lx.i < lx.n) {
        unsigned char c = (unsigned char)lx.s[lx.i];
        if (is_blank(c)) {
            lx.i++;
        } else if (skip_comment(&lx)) {
            /* comments are never part of a statement's boundaries */
        } else if (c == ';' && semicolon_ends_statement(&lx)) {
            lx.i++;
            emit(&lx);
        } else {
            scan_token(&lx);
        }
    }
    emit(&lx);
    *out = lx.out;
    return lx.nout;
}
