/* tvec.c — known-answer vector helpers for tests (see tvec.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "t.h"
#include "tvec.h"

json_t *
tvec_load(const char *file)
{
	const char *dir = getenv("PEERNET_VECTORS");
	char path[1024];
	json_error_t err;
	json_t *j;

	if (dir == NULL)
		dir = "tests/vectors";
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	j = json_load_file(path, 0, &err);
	if (j == NULL)
		fprintf(stderr, "tvec: %s:%d: %s\n", path, err.line, err.text);
	return j;
}

uint8_t *
tvec_hex(json_t *obj, const char *key, size_t *len)
{
	const char *s = json_string_value(json_object_get(obj, key));
	uint8_t *out;
	long n;

	if (s == NULL)
		return NULL;
	out = malloc(strlen(s) / 2 + 1);
	if (out == NULL)
		return NULL;
	n = hex_decode(out, strlen(s) / 2 + 1, s);
	if (n < 0) {
		free(out);
		return NULL;
	}
	*len = (size_t)n;
	return out;
}

int
tvec_unhex(const char *hex, uint8_t *out, size_t want)
{
	if (hex == NULL || strlen(hex) != 2 * want)
		return -1;
	return hex_decode(out, want, hex) == (long)want ? 0 : -1;
}

int
tvec_hex_exact(json_t *obj, const char *key, uint8_t *out, size_t want)
{
	return tvec_unhex(json_string_value(json_object_get(obj, key)), out,
	    want);
}

const char *
tvec_hex_fields(json_t *obj, const struct tvec_hex_field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tvec_hex_exact(obj, f[i].key, f[i].out, f[i].len) != 0)
			return f[i].key;
	return NULL;
}

int
tvec_uuid(const char *s, uint8_t out[16])
{
	char hex[33];
	size_t i, n = 0;

	if (s == NULL)
		return -1;
	for (i = 0; s[i] != '\0' && n < 32; i++)
		if (s[i] != '-')
			hex[n++] = s[i];
	hex[n] = '\0';
	return tvec_unhex(hex, out, 16);
}

void
tvec_pattern(uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)((i * 31 + 7) % 251);
}

uint64_t
tvec_u64(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v))
		return (uint64_t)json_real_value(v);
	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 0);
	return 0;
}

const char *
tvec_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

size_t
tvec_each(json_t *arr, void (*fn)(json_t *row))
{
	json_t *row;
	size_t i, n = 0;

	json_array_foreach(arr, i, row) {
		fn(row);
		if (t_case_failed)
			break;
		n++;
	}
	return n;
}

json_t *
tvec_named(json_t *arr, const char *name)
{
	json_t *c;
	size_t i;

	json_array_foreach(arr, i, c)
		if (strcmp(tvec_str(c, "name"), name) == 0)
			return c;
	return NULL;
}

json_t *
tvec_case_packet(json_t *arr, const char *name)
{
	json_t *c = tvec_named(arr, name);

	return json_array_get(json_object_get(c, "packets"), 0);
}

const uint8_t tvec_curve_n[32] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
	0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
	0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};
