/*
 * api_parse.c — the parsers of what HTTP clients send apid: query values
 * (hex IDs, UUIDs, integers, booleans, dates), the Range header and JSON
 * bodies against a declared field spec.  Pure functions: no MHD, no I/O, so
 * tests/fuzz/fuzz_apid_*.c drive them directly.  Every input is bounded and
 * checked before use; nothing here trusts a length it did not count.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apid.h"
#include "hex.h"

int
api_parse_hex(const char *s, uint8_t *out, size_t n)
{
	if (s == NULL || strlen(s) != 2 * n)
		return -1;
	return hex_decode(out, n, s) == (long)n ? 0 : -1;
}

int
api_parse_uuid(const char *s, uint8_t out[16])
{
	size_t i, o = 0;
	int hi, lo;

	/* Go's uuid.Parse also takes urn:uuid: and {} forms; clients send this one. */
	if (s == NULL || strlen(s) != 36)
		return -1;
	for (i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			i++;
			continue;
		}
		if ((hi = hex_nibble(s[i])) < 0 ||
		    (lo = hex_nibble(s[i + 1])) < 0)
			return -1;
		out[o++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return o == 16 ? 0 : -1;
}

void
api_format_uuid(const uint8_t id[16], char out[37])
{
	static const char hx[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hx[id[i] >> 4];
		out[o++] = hx[id[i] & 15];
	}
	out[o] = '\0';
}

int
api_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
api_parse_bool(const char *s, int *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < 6; i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int
api_digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int
api_parse_date(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct tm tm;
	int y, mo, d, h, mi, se;

	if (s == NULL || strlen(s) != 19 || s[4] != '-' || s[7] != '-' ||
	    s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
	    api_digits(s, 4, &y) || api_digits(s + 5, 2, &mo) ||
	    api_digits(s + 8, 2, &d) || api_digits(s + 11, 2, &h) ||
	    api_digits(s + 14, 2, &mi) || api_digits(s + 17, 2, &se))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || se > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = (int64_t)timegm(&tm);
	return 0;
}

void
api_format_time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	/* Go's zero time for "no date", as the reference prints it. */
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		strcpy(out, "0001-01-01T00:00:00Z");
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A decimal without sign; -1 when empty, not digits, or above UINT64_MAX. */
static int
api_range_num(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int
api_range_parse(const char *hdr, uint64_t size, uint64_t *first, uint64_t *last)
{
	const char *p, *dash, *end;
	uint64_t a, b;

	if (hdr == NULL)
		return API_RANGE_NONE;
	/* The unit is case-insensitive (RFC 9110 §14.1); blanks around the set. */
	if (strncasecmp(hdr, "bytes=", 6) != 0)
		return API_RANGE_BAD;
	p = hdr + 6;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	/* One range only: the reference answers 400 to a multi-range request. */
	if (memchr(p, ',', (size_t)(end - p)) != NULL)
		return API_RANGE_BAD;
	if ((dash = memchr(p, '-', (size_t)(end - p))) == NULL)
		return API_RANGE_BAD;
	if (dash == p) {
		/* bytes=-N: the last N bytes. */
		if (api_range_num(dash + 1, (size_t)(end - dash - 1), &b) != 0)
			return API_RANGE_BAD;
		if (b == 0 || size == 0)
			return API_RANGE_UNSAT;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return API_RANGE_OK;
	}
	if (api_range_num(p, (size_t)(dash - p), &a) != 0)
		return API_RANGE_BAD;
	if (dash + 1 == end)
		b = UINT64_MAX;		/* bytes=A-: to the end */
	else if (api_range_num(dash + 1, (size_t)(end - dash - 1), &b) != 0 || b < a)
		return API_RANGE_BAD;
	if (a >= size)
		return API_RANGE_UNSAT;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return API_RANGE_OK;
}

json_t *
api_json_parse(const uint8_t *body, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;

	if (len == 0) {
		snprintf(err, errlen, "empty request body (JSON expected)");
		return NULL;
	}
	/* Depth is bounded by jansson (JSON_PARSER_MAX_DEPTH, 2048). */
	j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		snprintf(err, errlen, "malformed JSON at byte %d: %s", je.position,
		    je.text);
	return j;
}

int
api_json_check(const json_t *root, const struct api_jfield *spec, size_t n,
    char *err, size_t errlen)
{
	const json_t *v;
	size_t i;
	int ok;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "a JSON object was expected");
		return -1;
	}
	for (i = 0; i < n; i++) {
		v = json_object_get(root, spec[i].name);
		if (v == NULL || json_is_null(v)) {
			if (spec[i].required) {
				snprintf(err, errlen, "field '%s' is missing", spec[i].name);
				return -1;
			}
			continue;
		}
		switch (spec[i].type) {
		case API_J_STRING:	ok = json_is_string(v); break;
		case API_J_INT:		ok = json_is_integer(v); break;
		case API_J_BOOL:	ok = json_is_boolean(v); break;
		case API_J_ARRAY:	ok = json_is_array(v); break;
		case API_J_OBJECT:	ok = json_is_object(v); break;
		default:		ok = 0; break;
		}
		if (!ok) {
			snprintf(err, errlen, "field '%s' must be %s", spec[i].name,
			    spec[i].type == API_J_STRING ? "a string" :
			    spec[i].type == API_J_INT ? "an integer" :
			    spec[i].type == API_J_BOOL ? "a boolean" :
			    spec[i].type == API_J_ARRAY ? "an array" : "an object");
			return -1;
		}
	}
	return 0;
}

long
api_ws_parse(const uint8_t *buf, size_t len, struct api_ws_frame *f)
{
	uint64_t plen;
	size_t hlen = 2, i;

	if (len < 2)
		return 0;
	f->fin = buf[0] >> 7;
	f->opcode = buf[0] & 0x0f;
	/* No extension was negotiated: the reserved bits must be 0. */
	if (buf[0] & 0x70)
		return -1;
	switch (f->opcode) {
	case API_WS_CONT: case API_WS_TEXT: case API_WS_BINARY:
		break;
	case API_WS_CLOSE: case API_WS_PING: case API_WS_PONG:
		/* Control frames: whole, at most 125 bytes (RFC 6455 §5.5). */
		if (!f->fin || (buf[1] & 0x7f) > 125)
			return -1;
		break;
	default:
		return -1;
	}
	/* A client masks every frame (§5.1). */
	if (!(buf[1] & 0x80))
		return -1;
	plen = buf[1] & 0x7f;
	if (plen == 126) {
		if (len < 4)
			return 0;
		plen = (uint64_t)buf[2] << 8 | buf[3];
		if (plen < 126)
			return -1;	/* not the minimal encoding */
		hlen = 4;
	} else if (plen == 127) {
		if (len < 10)
			return 0;
		for (plen = 0, i = 2; i < 10; i++)
			plen = plen << 8 | buf[i];
		if (plen >> 63 || plen < 65536)
			return -1;
		hlen = 10;
	}
	if (plen > API_WS_PAYLOAD_MAX)
		return -1;
	if (len < hlen + 4)
		return 0;
	memcpy(f->mask, buf + hlen, 4);
	hlen += 4;
	if (len - hlen < plen)
		return 0;
	f->payload = buf + hlen;
	f->len = (size_t)plen;
	return (long)(hlen + plen);
}

void
api_ws_unmask(const struct api_ws_frame *f, uint8_t *out)
{
	size_t i;

	for (i = 0; i < f->len; i++)
		out[i] = f->payload[i] ^ f->mask[i & 3];
}

size_t
api_ws_header(uint8_t out[API_WS_HDR_MAX], int opcode, uint64_t len)
{
	size_t i;

	out[0] = (uint8_t)(0x80 | (opcode & 0x0f));	/* FIN, one frame */
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len < 65536) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}
