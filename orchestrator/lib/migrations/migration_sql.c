/*
 * migration_sql.c — parsing dbmate-format .sql migrations into their up and down sections, and
 * drover's optional pre-check section (-- migrate:check, see docs/safety.md).
 * Markers are whole lines starting at column 1, as in dbmate; the checks here are stricter
 * than dbmate wherever a typo would otherwise run down statements as part of up.
 */
#include "drover/migration.h"
#include "drover/util.h"
#include "sqlsplit_impl.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum MarkerKind {
    MARKER_NONE = 0,
    MARKER_UP,
    MARKER_DOWN,
    MARKER_CHECK,
} MarkerKind;

/* A "-- migrate:..." line: which marker, and where its options start. */
typedef struct Marker {
    MarkerKind kind;
    const char *options; /* text after the marker word, up to the end of the line */
    size_t options_len;
} Marker;

/* A parse in progress: the input, the migration being filled, where its bodies start. */
typedef struct SqlParser {
    const char *path;
    const char *text;
    Migration *m;
    DroverError *err;
    size_t up_body;   /* offset of the up section's body, valid once m->up.line > 0 */
    size_t down_body; /* same for down */
    size_t check_body; /* same for check */
    size_t marks[3];  /* offsets of the marker lines seen, in file order: where bodies end */
    size_t nmarks;
} SqlParser;

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool is_inline_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * skip_blank_and_comments returns the offset of the first character in s[0..len) that is
 * neither whitespace nor inside a "--" or block comment, or len. An unterminated block
 * comment runs to the end. Block comments do not nest here: a nested one leaves a stray
 * "*" "/" behind, which counts as a statement, so emptiness is never over-reported.
 */
static size_t skip_blank_and_comments(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (is_blank(s[i])) {
            i++;
        } else if (s[i] == '-' && i + 1 < len && s[i + 1] == '-') {
            while (i < len && s[i] != '\n')
                i++;
        } else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
            i += 2;
            while (i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/'))
                i++;
            i = i < len ? i + 2 : len;
        } else {
            return i;
        }
    }
    return len;
}

bool mig_section_is_empty(const MigSection *s)
{
    if (!s || !s->sql)
        return true;
    size_t len = strlen(s->sql);
    return skip_blank_and_comments(s->sql, len) == len;
}

static int line_at(const char *text, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

/* utf8_sequence_len returns the length of the valid UTF-8 sequence at s, or 0 (overlong
 * forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_sequence_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

/* Returns the offset of the first byte that is not valid UTF-8, or SIZE_MAX. */
static size_t find_invalid_utf8(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (s[i]) {
        size_t n = utf8_sequence_len(s + i);
        if (n == 0)
            return i;
        i += n;
    }
    return SIZE_MAX;
}

static bool fail(SqlParser *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fail sets an input error at line of the file being parsed and returns false. */
static bool fail(SqlParser *ps, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *message = xvasprintf(fmt, ap);
    va_end(ap);
    error_set(ps->err, ERR_INPUT, "%s", message);
    error_set_location(ps->err, ps->path, line);
    free(message);
    return false;
}

static const char *marker_text(MarkerKind kind)
{
    return kind == MARKER_UP     ? "-- migrate:up"
           : kind == MARKER_DOWN ? "-- migrate:down"
                                 : "-- migrate:check";
}

/*
 * scan_marker recognises "--[spaces]migrate:WORD[ options]" on one line (without its '\n').
 * Returns false with the error set when the line is a marker in the wrong place or a marker
 * word other than up or down: such a line would otherwise be a harmless-looking comment that
 * silently merges two sections.
 */
static bool scan_marker(SqlParser *ps, const char *line, size_t len, int lineno, Marker *mk)
{
    mk->kind = MARKER_NONE;
    size_t i = 0;
    while (i < len && is_inline_space(line[i]))
        i++;
    size_t indent = i;
    if (len - i < 2 || memcmp(line + i, "--", 2) != 0)
        return true;
    i += 2;
    while (i < len && is_inline_space(line[i]))
        i++;
    if (len - i < 8 || memcmp(line + i, "migrate:", 8) != 0)
        return true;
    i += 8;
    size_t word = i;
    while (i < len && !is_inline_space(line[i]))
        i++;
    if (i == word)
        return true;
    char *w = xstrndup(line + word, i - word);
    bool ok = true;
    if (strcmp(w, "up") == 0)
        mk->kind = MARKER_UP;
    else if (strcmp(w, "down") == 0)
        mk->kind = MARKER_DOWN;
    else if (strcmp(w, "check") == 0)
        mk->kind = MARKER_CHECK;
    else
        ok = fail(ps, lineno, "unknown marker '-- migrate:%s'", w);
    free(w);
    if (ok && indent > 0)
        ok = fail(ps, lineno, "'%s' must start at column 1", marker_text(mk->kind));
    mk->options = line + i;
    mk->options_len = len - i;
    return ok;
}

/* parse_options applies "transaction:false|true" tokens to the section. */
static bool parse_options(SqlParser *ps, const Marker *mk, int lineno, MigSection *sec)
{
    const char *s = mk->options;
    size_t len = mk->options_len;
    size_t i = 0;
    while (i < len) {
        while (i < len && is_inline_space(s[i]))
            i++;
        size_t start = i;
        while (i < len && !is_inline_space(s[i]))
            i++;
        if (i == start)
            break;
        char *opt = xstrndup(s + start, i - start);
        bool known = true;
        if (mk->kind == MARKER_CHECK)
            known = fail(ps, lineno, "'-- migrate:check' takes no option ('%s')", opt);
        else if (strcmp(opt, "transaction:false") == 0)
            sec->transaction = false;
        else if (strcmp(opt, "transaction:true") == 0)
            sec->transaction = true;
        else
            known = fail(ps, lineno, "unknown option '%s' on '%s'", opt, marker_text(mk->kind));
        free(opt);
        if (!known)
            return false;
    }
    return true;
}

static bool on_up_marker(SqlParser *ps, size_t next, int lineno)
{
    if (ps->m->up.line > 0)
        return fail(ps, lineno, "duplicate '-- migrate:up' marker");
    ps->m->up.line = lineno;
    ps->up_body = next;
    return true;
}

static bool on_down_marker(SqlParser *ps, size_t next, int lineno)
{
    if (ps->m->down.line > 0)
        return fail(ps, lineno, "duplicate '-- migrate:down' marker");
    if (ps->m->up.line == 0)
        return fail(ps, lineno, "'-- migrate:down' before '-- migrate:up'");
    ps->m->down.line = lineno;
    ps->down_body = next;
    return true;
}

/* on_check_marker: the pre-check may stand before up (read first, run first) or after it. */
static bool on_check_marker(SqlParser *ps, size_t next, int lineno)
{
    if (ps->m->check.line > 0)
        return fail(ps, lineno, "duplicate '-- migrate:check' marker");
    ps->m->check.line = lineno;
    ps->check_body = next;
    return true;
}

/* on_marker: nothing but comments may come before the first marker; each marker's line ends
 * the section before it. */
static bool on_marker(SqlParser *ps, const Marker *mk, size_t pos, size_t next, int lineno)
{
    if (ps->nmarks == 0) {
        size_t stmt = skip_blank_and_comments(ps->text, pos);
        if (stmt < pos)
            return fail(ps, line_at(ps->text, stmt), "statement before '%s'",
                        marker_text(mk->kind));
    }
    bool ok = mk->kind == MARKER_UP     ? on_up_marker(ps, next, lineno)
              : mk->kind == MARKER_DOWN ? on_down_marker(ps, next, lineno)
                                        : on_check_marker(ps, next, lineno);
    if (ok)
        ps->marks[ps->nmarks++] = pos;
    return ok;
}

/* section_end: where the section whose body starts at body ends (the next marker line). */
static size_t section_end(const SqlParser *ps, size_t body)
{
    for (size_t i = 0; i < ps->nmarks; i++)
        if (ps->marks[i] >= body)
            return ps->marks[i];
    return strlen(ps->text);
}

/* scan_lines walks the text line by line and records where each marker is. */
static bool scan_lines(SqlParser *ps)
{
    const char *text = ps->text;
    size_t pos = 0;
    int lineno = 1;
    while (text[pos]) {
        const char *nl = strchr(text + pos, '\n');
        size_t len = nl ? (size_t)(nl - (text + pos)) : strlen(text + pos);
        size_t next = nl ? pos + len + 1 : pos + len;
        Marker mk;
        if (!scan_marker(ps, text + pos, len, lineno, &mk))
            return false;
        if (mk.kind != MARKER_NONE && !on_marker(ps, &mk, pos, next, lineno))
            return false;
        MigSection *sec = mk.kind == MARKER_UP     ? &ps->m->up
                          : mk.kind == MARKER_DOWN ? &ps->m->down
                                                   : &ps->m->check;
        if (mk.kind != MARKER_NONE && !parse_options(ps, &mk, lineno, sec))
            return false;
        pos = next;
        lineno++;
    }
    return true;
}

/* word_is: the statement at s starts with the keyword w (any case), followed by a non-word
 * character. */
static bool word_is(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len >= n && strncasecmp(s, w, n) == 0 &&
           (len == n || !(isalnum((unsigned char)s[n]) || s[n] == '_'));
}

/* after_word: the position of the next word after the word of n bytes at pos. */
static size_t after_word(const char *s, size_t len, size_t pos, size_t n)
{
    pos += n;
    return pos + skip_blank_and_comments(s + pos, len - pos);
}

/* ends_transaction: a statement that begins or ends a transaction of its own (ROLLBACK TO a
 * savepoint and MariaDB's BEGIN NOT ATOMIC block do not). */
static bool ends_transaction(const char *s, size_t len)
{
    if (word_is(s, len, "ROLLBACK")) {
        size_t p = after_word(s, len, 0, 8);
        if (word_is(s + p, len - p, "WORK"))
            p = after_word(s, len, p, 4);
        else if (word_is(s + p, len - p, "TRANSACTION"))
            p = after_word(s, len, p, 11);
        return !word_is(s + p, len - p, "TO");
    }
    if (word_is(s, len, "BEGIN")) {
        size_t p = after_word(s, len, 0, 5);
        return !word_is(s + p, len - p, "NOT");
    }
    if (word_is(s, len, "START")) {
        size_t p = after_word(s, len, 0, 5);
        return word_is(s + p, len - p, "TRANSACTION");
    }
    return word_is(s, len, "COMMIT") || word_is(s, len, "END") || word_is(s, len, "ABORT");
}

/* has_word: the keyword w (any case) stands as a word somewhere in s[0..len). */
static bool has_word(const char *s, size_t len, const char *w)
{
    for (size_t i = 0; i < len; i++)
        if ((i == 0 || !(isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_')) &&
            word_is(s + i, len - i, w))
            return true;
    return false;
}

/* opens_trigger_body: CREATE [TEMP] TRIGGER ... BEGIN, a SQLite (or MariaDB) trigger whose body
 * the PostgreSQL splitter cuts at its inner ';' up to a statement that is its END. PostgreSQL's
 * own triggers have no BEGIN. */
static bool opens_trigger_body(const char *s, size_t len)
{
    if (!word_is(s, len, "CREATE"))
        return false;
    size_t p = after_word(s, len, 0, 6);
    if (word_is(s + p, len - p, "TEMP"))
        p = after_word(s, len, p, 4);
    else if (word_is(s + p, len - p, "TEMPORARY"))
        p = after_word(s, len, p, 9);
    return word_is(s + p, len - p, "TRIGGER") && has_word(s + p, len - p, "BEGIN");
}

/* check_no_transaction_control refuses, in a section drover runs inside a transaction, a
 * statement that begins or ends one: it would commit part of the migration behind drover's
 * back (and its SequelizeMeta row apart from it). transaction:false exists for that. A
 * trigger's BEGIN ... END body is the trigger's, not a transaction. */
static bool check_no_transaction_control(SqlParser *ps, const MigSection *sec, size_t body,
                                         const char *marker)
{
    if (!sec->transaction || !sec->sql)
        return true;
    SqlStatement *st = NULL;
    size_t n = sql_split(sec->sql, DB_POSTGRES, &st);
    bool ok = true, in_trigger = false;
    for (size_t i = 0; i < n && ok; i++) {
        const char *text = sec->sql + st[i].offset;
        if (in_trigger) {
            in_trigger = !(word_is(text, st[i].len, "END") &&
                           after_word(text, st[i].len, 0, 3) >= st[i].len);
            continue;
        }
        in_trigger = opens_trigger_body(text, st[i].len);
        if (in_trigger || !ends_transaction(text, st[i].len))
            continue;
        int kw = (int)strcspn(text, " \t\r\n;");
        ok = fail(ps, line_at(ps->text, body + st[i].offset),
                  "'%.*s' in the '%s' section, which drover runs in a transaction of its own",
                  kw, text, marker);
        error_set_hint(ps->err, "remove it, or mark the section '%s transaction:false' to run "
                                "it without drover's transaction", marker);
    }
    free(st);
    return ok;
}

static void reset_section(MigSection *s)
{
    free(s->sql);
    s->sql = NULL;
    s->line = 0;
    s->transaction = true;
}

/* check_precheck: a pre-check is one query; the section keeps just its text (no comments, no
 * ';'), which every server runs as one statement. */
static bool check_precheck(SqlParser *ps)
{
    MigSection *c = &ps->m->check;
    if (c->line == 0)
        return true;
    if (mig_section_is_empty(c))
        return fail(ps, c->line, "empty '-- migrate:check' section");
    SqlStatement *st = NULL;
    size_t n = sql_split(c->sql, DB_POSTGRES, &st);
    if (n == 1) {
        char *query = xstrndup(c->sql + st[0].offset, st[0].len);
        free(c->sql);
        c->sql = query;
    }
    free(st);
    if (n != 1) {
        fail(ps, c->line, "'-- migrate:check' holds %zu statements; it must be one query", n);
        error_set_hint(ps->err, "write one query that returns no rows (or one true value) when "
                                "the migration may run, e.g. SELECT 1 FROM users WHERE email IS "
                                "NULL LIMIT 1");
        return false;
    }
    return true;
}

bool mig_parse_sql(const char *path, const char *text, Migration *m, DroverError *err)
{
    reset_section(&m->up);
    reset_section(&m->down);
    reset_section(&m->check);
    SqlParser ps = {.path = path, .text = text, .m = m, .err = err};
    bool ok = false;
    size_t bad = find_invalid_utf8(text);
    if (bad != SIZE_MAX) {
        fail(&ps, line_at(text, bad), "file is not valid UTF-8");
        goto out;
    }
    if (!scan_lines(&ps))
        goto out;
    if (m->up.line == 0) {
        fail(&ps, 0, "missing '-- migrate:up' section");
        goto out;
    }
    m->up.sql = xstrndup(text + ps.up_body, section_end(&ps, ps.up_body) - ps.up_body);
    if (m->down.line > 0)
        m->down.sql = xstrndup(text + ps.down_body, section_end(&ps, ps.down_body) - ps.down_body);
    if (m->check.line > 0)
        m->check.sql = xstrndup(text + ps.check_body,
                                section_end(&ps, ps.check_body) - ps.check_body);
    if (mig_section_is_empty(&m->up)) {
        fail(&ps, m->up.line, "empty '-- migrate:up' section");
        goto out;
    }
    if (!check_no_transaction_control(&ps, &m->up, ps.up_body, "-- migrate:up") ||
        !check_no_transaction_control(&ps, &m->down, ps.down_body, "-- migrate:down") ||
        !check_precheck(&ps))
        goto out;
    ok = true;
out:
    if (!ok) {
        reset_section(&m->up);
        reset_section(&m->down);
        reset_section(&m->check);
    }
    return ok;
}
