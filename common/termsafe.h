/*
 * termsafe.h — strings that came from outside the process (the network, a
 * chain, a file name, a daemon's reply) made safe for a terminal or for
 * JSON.  Any peer can put bytes into a file name; printed raw, ESC and C1
 * sequences would clear a user's screen or forge table lines.
 */
#ifndef PEERNET_TERMSAFE_H
#define PEERNET_TERMSAFE_H

#include <stddef.h>

/*
 * For a terminal: C0 controls, DEL, C1 controls (U+0080..U+009F), the
 * Unicode line/paragraph separators and bidi overrides are written as
 * escapes (\n, \t, \r, \x1b, \u009b, \u202e); a byte that is not part of
 * valid UTF-8 as \xNN.  Everything else is copied.  out is always
 * NUL-terminated (if cap > 0) and never ends inside an escape or a
 * character; returns the length written.  len (size_t)-1: strlen(s).
 */
size_t		 ts_escape(char *out, size_t cap, const char *s, size_t len);
/*
 * ts_escape into one of TS_NBUF rotating static buffers: for printf
 * arguments, at most TS_NBUF of them per call.  Not thread-safe.
 */
#define TS_NBUF		16
#define TS_BUFSZ	8192
const char	*ts_str(const char *s);
const char	*ts_strn(const char *s, size_t len);
/*
 * For JSON (which escapes controls itself but must be valid UTF-8): a copy
 * where every byte that is not part of valid UTF-8 becomes U+FFFD.  out
 * NUL-terminated, truncated on a character boundary; returns the length.
 */
size_t		 ts_utf8(char *out, size_t cap, const char *s, size_t len);
/* 1 when s (len bytes) holds anything ts_escape would change. */
int		 ts_unsafe(const char *s, size_t len);

#endif
