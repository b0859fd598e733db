/*
 * test_apid_parse.c — apid's pure parsers (apid/api_parse.c) on the inputs
 * that decide an HTTP status: Range headers (206/416/400), query values
 * (400), JSON bodies against a field spec (400), WebSocket frames (close
 * 1002).  apid is not one of the daemons' libraries: the file is included.
 */
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "../../apid/api_parse.c"

static int
range(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
	*a = *b = 12345;
	return api_range_parse(h, size, a, b);
}

static void
test_range_forms_give_first_and_last_byte(void)
{
	uint64_t a, b;

	T_EQ_INT(range("bytes=100-199", 700000, &a, &b), API_RANGE_OK);
	T_EQ_U64(a, 100); T_EQ_U64(b, 199);
	T_EQ_INT(range("bytes=699000-", 700000, &a, &b), API_RANGE_OK);
	T_EQ_U64(a, 699000); T_EQ_U64(b, 699999);
	T_EQ_INT(range("bytes=-10", 700000, &a, &b), API_RANGE_OK);
	T_EQ_U64(a, 699990); T_EQ_U64(b, 699999);
	/* A suffix longer than the file is the whole file; a last byte past the end is clamped. */
	T_EQ_INT(range("bytes=-900", 100, &a, &b), API_RANGE_OK);
	T_EQ_U64(a, 0); T_EQ_U64(b, 99);
	T_EQ_INT(range("bytes=90-5000", 100, &a, &b), API_RANGE_OK);
	T_EQ_U64(b, 99);
	T_EQ_INT(range("Bytes= 0-0 ", 1, &a, &b), API_RANGE_OK);
	T_EQ_U64(a, 0); T_EQ_U64(b, 0);
}

static void
test_range_outside_the_file_is_416(void)
{
	uint64_t a, b;

	T_EQ_INT(range("bytes=700000-", 700000, &a, &b), API_RANGE_UNSAT);
	T_EQ_INT(range("bytes=0-", 0, &a, &b), API_RANGE_UNSAT);
	T_EQ_INT(range("bytes=-0", 10, &a, &b), API_RANGE_UNSAT);
	T_EQ_INT(range("bytes=-5", 0, &a, &b), API_RANGE_UNSAT);
}

static void
test_range_malformed_or_several_is_400(void)
{
	static const char *const bad[] = { "bytes=1-2,5-6", "bytes=5-1", "items=0-1",
	    "bytes=x-", "bytes=-", "bytes=", "bytes=1", "bytes=+1-2", "bytes=1-2x",
	    "bytes=18446744073709551616-", "bytes=--1", "bytes= - " };
	uint64_t a, b;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (range(bad[i], 1000, &a, &b) != API_RANGE_BAD)
			T_FAIL("'%s' was not refused", bad[i]);
	T_EQ_INT(api_range_parse(NULL, 10, &a, &b), API_RANGE_NONE);
}

static void
test_uuid_and_hex_exact_forms_only(void)
{
	uint8_t id[16], h[32];
	char s[37];

	T_EQ_INT(api_parse_uuid("E4F880D5-499E-4CBC-80DA-75D8CA5A3603", id), 0);
	api_format_uuid(id, s);
	T_EQ_STR(s, "e4f880d5-499e-4cbc-80da-75d8ca5a3603");
	T_EQ_INT(api_parse_uuid("e4f880d5499e4cbc80da75d8ca5a3603", id), -1);
	T_EQ_INT(api_parse_uuid("e4f880d5-499e-4cbc-80da-75d8ca5a360g", id), -1);
	T_EQ_INT(api_parse_uuid("e4f880d5-499e-4cbc-80da-75d8ca5a36031", id), -1);
	T_EQ_INT(api_parse_uuid(NULL, id), -1);
	T_EQ_INT(api_parse_hex("00ff", h, 2), 0);
	T_EQ_INT(h[1], 0xff);
	T_EQ_INT(api_parse_hex("00f", h, 2), -1);
	T_EQ_INT(api_parse_hex("00fz", h, 2), -1);
	T_EQ_INT(api_parse_hex("00ff00", h, 2), -1);
}

static void
test_numbers_bools_dates(void)
{
	int64_t v;
	int b;
	char t[32];

	T_EQ_INT(api_parse_int("-1", -1, 10, &v), 0);
	T_EQ_INT(v, -1);
	T_EQ_INT(api_parse_int("11", -1, 10, &v), -1);
	T_EQ_INT(api_parse_int(" 1", 0, 10, &v), -1);
	T_EQ_INT(api_parse_int("1 ", 0, 10, &v), -1);
	T_EQ_INT(api_parse_int("", 0, 10, &v), -1);
	T_EQ_INT(api_parse_int("99999999999999999999", 0, INT64_MAX, &v), -1);
	T_EQ_INT(api_parse_bool("True", &b), 0);
	T_EQ_INT(b, 1);
	T_EQ_INT(api_parse_bool("F", &b), 0);
	T_EQ_INT(b, 0);
	T_EQ_INT(api_parse_bool("yes", &b), -1);
	T_EQ_INT(api_parse_date("2021-08-27 14:59:13", &v), 0);
	T_EQ_INT(v, 1630076353);
	api_format_time(v, t);
	T_EQ_STR(t, "2021-08-27T14:59:13Z");
	api_format_time(0, t);
	T_EQ_STR(t, "0001-01-01T00:00:00Z");
	T_EQ_INT(api_parse_date("2021-02-30 00:00:00", &v), -1);
	T_EQ_INT(api_parse_date("2021-08-27T14:59:13", &v), -1);
	T_EQ_INT(api_parse_date("2021-08-27 24:00:00", &v), -1);
}

static void
test_json_body_checked_against_spec(void)
{
	static const struct api_jfield spec[] = {
		{ "term", API_J_STRING, 1 }, { "timeout", API_J_INT, 0 },
		{ "terminate", API_J_ARRAY, 0 },
	};
	char err[256];
	json_t *j;

#define BODY(s)	(j = api_json_parse((const uint8_t *)(s), strlen(s), err, sizeof(err)))
	T_ASSERT(BODY("{\"term\":\"a\",\"timeout\":5,\"extra\":[1]}") != NULL);
	T_EQ_INT(api_json_check(j, spec, 3, err, sizeof(err)), 0);
	json_decref(j);
	T_ASSERT(BODY("{\"term\":\"a\",\"timeout\":\"5\"}") != NULL);
	T_EQ_INT(api_json_check(j, spec, 3, err, sizeof(err)), -1);
	T_EQ_STR(err, "field 'timeout' must be an integer");
	json_decref(j);
	T_ASSERT(BODY("{\"timeout\":5}") != NULL);
	T_EQ_INT(api_json_check(j, spec, 3, err, sizeof(err)), -1);
	T_EQ_STR(err, "field 'term' is missing");
	json_decref(j);
	T_ASSERT(BODY("[\"term\"]") != NULL);
	T_EQ_INT(api_json_check(j, spec, 3, err, sizeof(err)), -1);
	json_decref(j);
	T_ASSERT(BODY("{\"term\":\"a\",\"term\":\"b\"}") == NULL);
	T_ASSERT(BODY("") == NULL);
	T_EQ_STR(err, "empty request body (JSON expected)");
#undef BODY
}

static void
test_ws_frames_masked_whole_minimal(void)
{
	/* A masked ping "hi", mask 01 02 03 04. */
	static const uint8_t ping[] = { 0x89, 0x82, 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2 };
	static const uint8_t unmasked[] = { 0x81, 0x02, 'h', 'i' };
	static const uint8_t rsv[] = { 0xc1, 0x80, 0, 0, 0, 0 };
	static const uint8_t long_ping[] = { 0x89, 0xfe, 0, 126 };
	static const uint8_t frag_close[] = { 0x08, 0x80, 0, 0, 0, 0 };
	static const uint8_t nonminimal[] = { 0x81, 0xfe, 0, 5, 0, 0, 0, 0, 1, 2, 3, 4, 5 };
	struct api_ws_frame f;
	uint8_t out[8], hdr[API_WS_HDR_MAX];
	size_t k;

	T_EQ_INT(api_ws_parse(ping, sizeof(ping), &f), (long)sizeof(ping));
	T_EQ_INT(f.opcode, API_WS_PING);
	api_ws_unmask(&f, out);
	T_EQ_MEM(out, "hi", 2);
	for (k = 0; k < sizeof(ping); k++)
		T_EQ_INT(api_ws_parse(ping, k, &f), 0);
	T_EQ_INT(api_ws_parse(unmasked, sizeof(unmasked), &f), -1);
	T_EQ_INT(api_ws_parse(rsv, sizeof(rsv), &f), -1);
	T_EQ_INT(api_ws_parse(long_ping, sizeof(long_ping), &f), -1);
	T_EQ_INT(api_ws_parse(frag_close, sizeof(frag_close), &f), -1);
	T_EQ_INT(api_ws_parse(nonminimal, sizeof(nonminimal), &f), -1);
	T_EQ_INT(api_ws_header(hdr, API_WS_TEXT, 125), 2);
	T_EQ_INT(api_ws_header(hdr, API_WS_TEXT, 126), 4);
	T_EQ_INT(hdr[1], 126);
	T_EQ_INT(api_ws_header(hdr, API_WS_TEXT, 65536), 10);
	T_EQ_INT(hdr[0], 0x81);
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	T_RUN(test_range_forms_give_first_and_last_byte);
	T_RUN(test_range_outside_the_file_is_416);
	T_RUN(test_range_malformed_or_several_is_400);
	T_RUN(test_uuid_and_hex_exact_forms_only);
	T_RUN(test_numbers_bools_dates);
	T_RUN(test_json_body_checked_against_spec);
	T_RUN(test_ws_frames_masked_whole_minimal);
	return t_done();
}
