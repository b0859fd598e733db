/*
 * tvec.h — reading the reference's known-answer vectors (tests/vectors,
 * or $PEERNET_VECTORS) from unit tests and benchmarks, with jansson.
 */
#ifndef PEERNET_TVEC_H
#define PEERNET_TVEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Loads vectors/<file>; NULL (and a message on stderr) when missing. */
json_t	*tvec_load(const char *file);
/* tvec_load into v, or the test case fails (T_FAIL of t.h). */
#define T_VECTORS(v, file) do {						\
	if (((v) = tvec_load(file)) == NULL)				\
		T_FAIL("%s missing", (file));				\
} while (0)
/* Hex field `key` of obj decoded into a malloc'd buffer; *len set. NULL if absent/bad. */
uint8_t	*tvec_hex(json_t *obj, const char *key, size_t *len);
/* Same, into a caller's buffer that must hold exactly `want` bytes; -1 on mismatch. */
int	 tvec_hex_exact(json_t *obj, const char *key, uint8_t *out, size_t want);
/* One hex field of a vector: key, the buffer and its exact length. */
struct tvec_hex_field {
	const char	*key;
	uint8_t		*out;
	size_t		 len;
};
/*
 * tvec_hex_exact of each of the n fields of obj: NULL, or the key of the
 * first that is missing or not of its length.
 */
const char *tvec_hex_fields(json_t *obj, const struct tvec_hex_field *f,
	    size_t n);
/* Hex text of exactly 2 * want digits into out; -1 otherwise (or hex NULL). */
int	 tvec_unhex(const char *hex, uint8_t *out, size_t want);
/* A UUID "11111111-2222-4333-8444-555555555555" into 16 bytes; -1 if bad. */
int	 tvec_uuid(const char *s, uint8_t out[16]);
/* The vectors' "pattern_N": byte i = (i*31 + 7) mod 251. */
void	 tvec_pattern(uint8_t *buf, size_t n);
/* Integer or string field as u64 (0 if missing). */
uint64_t tvec_u64(json_t *obj, const char *key);
const char *tvec_str(json_t *obj, const char *key);
/*
 * fn of each element of arr in order, until the test case fails (t.h):
 * how many ran without failing.
 */
size_t	 tvec_each(json_t *arr, void (*fn)(json_t *row));
/* The element of arr whose "name" is name; NULL if none. */
json_t	*tvec_named(json_t *arr, const char *name);
/* The first of the "packets" of the case named name in arr; NULL if none. */
json_t	*tvec_case_packet(json_t *arr, const char *name);
/* secp256k1's group order n, big-endian: a private key or r out of range. */
extern const uint8_t tvec_curve_n[32];

#endif
