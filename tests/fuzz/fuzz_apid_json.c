/*
 * fuzz_apid_json.c — libFuzzer target for apid's JSON body helper
 * (api_json_parse + api_json_check in apid/api_parse.c) with the field
 * spec of POST /search, the largest body apid reads so far.
 *
 * Properties: whatever passes the check is an object whose declared fields
 * are absent, null, or of their declared JSON type; whatever fails leaves a
 * non-empty reason (the 400's text); nothing leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../apid/api_parse.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct api_jfield spec[] = {
	{ "term", API_J_STRING, 0 }, { "timeout", API_J_INT, 0 },
	{ "maxresults", API_J_INT, 0 }, { "datefrom", API_J_STRING, 0 },
	{ "dateto", API_J_STRING, 0 }, { "sort", API_J_INT, 0 },
	{ "terminate", API_J_ARRAY, 0 }, { "filetype", API_J_INT, 0 },
	{ "fileformat", API_J_INT, 0 }, { "sizemin", API_J_INT, 0 },
	{ "sizemax", API_J_INT, 0 }, { "node", API_J_STRING, 1 },
	{ "flag", API_J_BOOL, 0 }, { "obj", API_J_OBJECT, 0 },
};
#define NSPEC	(sizeof(spec) / sizeof(spec[0]))

/*
 * The oracle says it in other terms than api_json_check (by jansson's
 * type tag, each tag to the one spec type it satisfies), so that the two
 * do not share a mistake.
 */
static int
oracle_type_ok(int want, const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:	return want == API_J_STRING;
	case JSON_INTEGER:	return want == API_J_INT;
	case JSON_TRUE:
	case JSON_FALSE:	return want == API_J_BOOL;
	case JSON_ARRAY:	return want == API_J_ARRAY;
	case JSON_OBJECT:	return want == API_J_OBJECT;
	default:		return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	json_t *j, *v;
	size_t i;

	err[0] = '\0';
	if ((j = api_json_parse(data, size, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	err[0] = '\0';
	if (api_json_check(j, spec, NSPEC, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		json_decref(j);
		return 0;
	}
	if (!json_is_object(j))
		abort();
	for (i = 0; i < NSPEC; i++) {
		v = json_object_get(j, spec[i].name);
		if ((v == NULL || json_is_null(v)) ? spec[i].required :
		    !oracle_type_ok(spec[i].type, v))
			abort();
	}
	json_decref(j);
	return 0;
}
