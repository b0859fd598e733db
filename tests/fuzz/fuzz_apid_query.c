/*
 * fuzz_apid_query.c — libFuzzer target for apid's query-string value
 * parsers (apid/api_parse.c): hex IDs and hashes, UUIDs, integers, Go
 * booleans and search dates, i.e. every query value a route reads (MHD
 * splits and percent-decodes the query; the values are ours to check).
 *
 * Properties: a parsed UUID formats back to the input in lower case; a
 * parsed hex value is the input's bytes; a parsed integer lies in its
 * bounds and prints back to an equivalent decimal; a parsed date is
 * within years 0..9999 and formats (RFC 3339) with the same date and time.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../apid/api_parse.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t id[16], h[33];
	char s[64], out[37], t[32];
	int64_t v, d;
	size_t i;
	int b;
	char *in;

	if ((in = malloc(size + 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (api_parse_uuid(in, id) == 0) {
		api_format_uuid(id, out);
		for (i = 0; i < 36; i++)
			if (tolower((unsigned char)in[i]) != out[i])
				abort();
	}
	if (api_parse_hex(in, h, 32) == 0) {
		for (i = 0; i < 32; i++) {
			snprintf(s, sizeof(s), "%02x", h[i]);
			if (tolower((unsigned char)in[2 * i]) != s[0] ||
			    tolower((unsigned char)in[2 * i + 1]) != s[1])
				abort();
		}
	}
	(void)api_parse_hex(in, h, 33);
	if (api_parse_int(in, -1, 65535, &v) == 0) {
		if (v < -1 || v > 65535)
			abort();
		snprintf(s, sizeof(s), "%" PRId64, v);
		if (strtoll(in, NULL, 10) != v)
			abort();
	}
	if (api_parse_int(in, INT64_MIN, INT64_MAX, &v) == 0 &&
	    strtoll(in, NULL, 10) != v)
		abort();
	if (api_parse_bool(in, &b) == 0 && b != 0 && b != 1)
		abort();
	if (api_parse_date(in, &d) == 0) {
		api_format_time(d, t);
		/* "YYYY-MM-DD hh:mm:ss" -> "YYYY-MM-DDThh:mm:ssZ", year >= 1970 */
		if (d > 0 && (memcmp(t, in, 10) != 0 || memcmp(t + 11, in + 11, 8) != 0))
			abort();
	}
	free(in);
	return 0;
}
