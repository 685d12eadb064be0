/*
 * util.h — the few string helpers every module needs: allocation that aborts on OOM, one
 * growable string buffer, one growable list of owned strings. Nothing else; JSON is jansson's.
 */
#ifndef DROVER_UTIL_H
#define DROVER_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);              /* xstrdup(NULL) == NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* A growable NUL-terminated buffer. data is never NULL after sb_init. */
typedef struct StrBuf {
    char *data;
    size_t len;
    size_t cap;
} StrBuf;

void sb_init(StrBuf *sb);
void sb_append(StrBuf *sb, const char *s);
void sb_appendn(StrBuf *sb, const char *s, size_t n);
void sb_appendc(StrBuf *sb, char c);
void sb_appendf(StrBuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_reset(StrBuf *sb);
char *sb_detach(StrBuf *sb); /* hands the string to the caller; sb_init before reusing sb */
void sb_free(StrBuf *sb);

/* A growable array of owned strings. */
typedef struct StrList {
    char **items;
    size_t n;
    size_t cap;
} StrList;

#define STRLIST_INIT {0}
void sl_push(StrList *l, const char *s);       /* pushes a copy */
void sl_push_owned(StrList *l, char *s);       /* takes ownership */
bool sl_contains(const StrList *l, const char *s);
void sl_sort(StrList *l);                      /* byte order (strcmp) */
void sl_free(StrList *l);                      /* frees items, resets to STRLIST_INIT */

/* Path helpers. */
bool path_is_absolute(const char *p);
char *path_join(const char *dir, const char *rel);  /* rel returned copied when absolute */
char *path_dirname(const char *p);                  /* "." when there is no slash */
const char *path_basename(const char *p);

/* FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) of n bytes: a fast,
 * stable, non-cryptographic hash for keys and fingerprints. */
uint64_t fnv1a64(const void *data, size_t n);

/* Reads a whole file; returns NULL and sets errno on failure. *len may be NULL. */
char *file_read_all(const char *path, size_t *len);

#endif
