/*
 * fuzz_apid_range.c — libFuzzer target for apid's Range header parser
 * (api_range_parse in apid/api_parse.c), what any local HTTP client sends
 * to /file/read, /file/view and /warehouse/read.
 *
 * Input: 8 bytes of file size (LE; also tried as a small size so that
 * satisfiable ranges are common), then the header text.  Properties:
 * API_RANGE_OK gives first <= last < size (so a non-empty 206 within the
 * file); a header without "bytes=" is never OK; a header with a comma is
 * always BAD (one range only); NONE only for a missing header.
 * apid is not part of the fuzz build (common sources only): the pure
 * parser is included.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../apid/api_parse.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const char *hdr, uint64_t fsize)
{
	uint64_t a = 0, b = 0;
	int rc = api_range_parse(hdr, fsize, &a, &b);

	if (rc == API_RANGE_OK && !(a <= b && b < fsize))
		abort();
	if (rc == API_RANGE_NONE)
		abort();	/* a header is present */
	if (rc == API_RANGE_OK && strncasecmp(hdr, "bytes=", 6) != 0)
		abort();
	if (strchr(hdr, ',') != NULL && rc != API_RANGE_BAD)
		abort();
	if (rc != API_RANGE_OK && rc != API_RANGE_BAD && rc != API_RANGE_UNSAT)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t fsize = 0;
	char *hdr;
	size_t i;

	if (size < 8)
		return 0;
	for (i = 0; i < 8; i++)
		fsize |= (uint64_t)data[i] << (8 * i);
	if ((hdr = malloc(size - 8 + 1)) == NULL)
		return 0;
	memcpy(hdr, data + 8, size - 8);
	hdr[size - 8] = '\0';	/* MHD hands us a C string: stops at a NUL */
	check(hdr, fsize);
	check(hdr, fsize % 4096);
	check(hdr, UINT64_MAX);
	if (api_range_parse(NULL, fsize, &fsize, &fsize) != API_RANGE_NONE)
		abort();
	free(hdr);
	return 0;
}
