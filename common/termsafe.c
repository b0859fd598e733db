/*
 * termsafe.c — see termsafe.h.  One decoder of UTF-8 serves the terminal
 * escaping and the JSON repair, so both agree on what is valid.
 */
#include <stdio.h>
#include <string.h>

#include "termsafe.h"

/*
 * Length of the valid UTF-8 sequence at s (1..4) and its code point, or 0
 * if the bytes there are not one (overlong, surrogate, > U+10FFFF,
 * truncated).
 */
static size_t
ts_decode(const unsigned char *s, size_t left, unsigned *cp)
{
	unsigned c = s[0], v;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
	} else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* Code points a terminal or a reader could be fooled by. */
static int
ts_bad_cp(unsigned cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	    cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

size_t
ts_escape(char *out, size_t cap, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[16];
	size_t i = 0, o = 0, n, el;
	unsigned cp;

	if (cap == 0)
		return 0;
	if (s == NULL)
		s = "", p = (const unsigned char *)s, len = 0;
	if (len == (size_t)-1)
		len = strlen(s);
	while (i < len) {
		n = ts_decode(p + i, len - i, &cp);
		if (n == 0) {
			snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
			n = 1;
		} else if (ts_bad_cp(cp)) {
			if (cp == '\n')
				strcpy(esc, "\\n");
			else if (cp == '\t')
				strcpy(esc, "\\t");
			else if (cp == '\r')
				strcpy(esc, "\\r");
			else if (cp < 0x80)
				snprintf(esc, sizeof(esc), "\\x%02x", cp);
			else
				snprintf(esc, sizeof(esc), "\\u%04x", cp);
		} else {
			if (o + n >= cap)
				break;
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
			continue;
		}
		el = strlen(esc);
		if (o + el >= cap)
			break;
		memcpy(out + o, esc, el);
		o += el;
		i += n;
	}
	out[o] = '\0';
	return o;
}

const char *
ts_strn(const char *s, size_t len)
{
	static char bufs[TS_NBUF][TS_BUFSZ];
	static unsigned next;
	char *b = bufs[next++ % TS_NBUF];

	ts_escape(b, TS_BUFSZ, s, len);
	return b;
}

const char *
ts_str(const char *s)
{
	return ts_strn(s, (size_t)-1);
}

size_t
ts_utf8(char *out, size_t cap, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, n;
	unsigned cp;

	if (cap == 0)
		return 0;
	if (len == (size_t)-1)
		len = strlen(s);
	while (i < len) {
		n = ts_decode(p + i, len - i, &cp);
		if (n == 0) {
			if (o + 3 >= cap)
				break;
			memcpy(out + o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			o += 3;
			i++;
			continue;
		}
		if (o + n >= cap)
			break;
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return o;
}

int
ts_unsafe(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	unsigned cp;

	while (i < len) {
		if ((n = ts_decode(p + i, len - i, &cp)) == 0 || ts_bad_cp(cp))
			return 1;
		i += n;
	}
	return 0;
}
