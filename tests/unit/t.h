/*
 * t.h — the unit-test harness.  Each test binary runs its cases with T_RUN and
 * prints one line per case: "PASS: binary/case" or "FAIL: binary/case: why",
 * or "SKIP: binary/case: reason".  tests/run.sh counts those lines.
 */
#ifndef PEERNET_T_H
#define PEERNET_T_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int	 t_case_failed;
extern int	 t_case_skipped;
extern char	 t_case_why[512];

void	t_run(const char *name, void (*fn)(void));
void	t_fail(const char *file, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	t_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	t_done(void);	/* prints totals; returns the exit status */
void	t_set_suite(const char *argv0);	/* and stdout line-buffered */
/* t_set_suite, then libsodium and libsecp256k1 (ident_crypto_init): 0 or -1. */
int	t_suite_crypto(const char *argv0);

#define T_RUN(fn)	t_run(#fn, fn)

/*
 * A decoder given each proper prefix of msg[0..n) fails, and given msg and
 * one byte more returns trailing_rc; 0, or -1 (the case failed, with why).
 */
int	t_truncations_fail(const char *file, int line, const uint8_t *msg,
	    size_t n, int (*dec)(const uint8_t *, size_t), int trailing_rc);
#define T_TRUNCATIONS_FAIL(msg, n, dec, trailing_rc) do {		\
	if (t_truncations_fail(__FILE__, __LINE__, (msg), (size_t)(n),	\
	    (dec), (trailing_rc)) != 0)					\
		return;							\
} while (0)
/*
 * A codec's round trip: *a encoded by prefix##_encode into buf (an array,
 * its length into the long n), then decoded by prefix##_decode into *b:
 * the decoder's result, or -1000 when the encoder refused.
 */
#define T_TRIP(prefix, buf, a, b, n)					\
	((n) = prefix##_encode((buf), sizeof(buf), (a)),		\
	 (n) > 0 ? prefix##_decode((buf), (size_t)(n), (b)) : -1000)
/*
 * T_TRIP that keeps every field: *b (filled with 0xa5 first, so that a
 * field the decoder skips shows) encodes again to the very bytes of buf,
 * and dec refuses every proper prefix and returns trailing_rc for one byte
 * more (T_TRUNCATIONS_FAIL).  b must hold no pointer.
 */
#define T_TRIP_KEEPS(prefix, buf, a, b, n, dec, trailing_rc) do {	\
	static uint8_t _again[sizeof(buf)];				\
	memset((b), 0xa5, sizeof(*(b)));				\
	T_EQ_INT(T_TRIP(prefix, buf, a, b, n), 0);			\
	T_EQ_INT(prefix##_encode(_again, sizeof(_again), (b)), (n));	\
	T_EQ_MEM(_again, buf, (size_t)(n));				\
	T_TRUNCATIONS_FAIL(buf, n, dec, trailing_rc);			\
} while (0)
#define T_FAIL(...)	do { t_fail(__FILE__, __LINE__, __VA_ARGS__); return; } while (0)
#define T_SKIP(...)	do { t_skip(__VA_ARGS__); return; } while (0)
/*
 * Runs a helper that checks with the T_ macros (which return from the
 * helper only) and ends the calling case too when the helper failed.
 */
#define T_DO(call)	do { call; if (t_case_failed) return; } while (0)
/*
 * A table of type written in place, as the two arguments (rows, count) of
 * a helper that checks row by row: f(x, T_TABLE(struct row, { ... }, ...)).
 */
#define T_TABLE(type, ...)	(const type[]){ __VA_ARGS__ },		\
	sizeof((const type[]){ __VA_ARGS__ }) / sizeof(type)

#define T_ASSERT(c) do { if (!(c)) T_FAIL("assertion failed: %s", #c); } while (0)
#define T_EQ_INT(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) T_FAIL("%s == %lld, expected %s == %lld", #a, _a, #b, _b); \
} while (0)
#define T_EQ_U64(a, b) do {						\
	uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);		\
	if (_a != _b) T_FAIL("%s == %" PRIu64 ", expected %" PRIu64, #a, _a, _b); \
} while (0)
#define T_EQ_STR(a, b) do {						\
	const char *_a = (a), *_b = (b);				\
	if (_a == NULL || _b == NULL || strcmp(_a, _b) != 0)		\
		T_FAIL("%s == \"%s\", expected \"%s\"", #a, _a ? _a : "(null)", _b ? _b : "(null)"); \
} while (0)
#define T_EQ_MEM(a, b, n) do {						\
	size_t _n = (n);						\
	if (memcmp((a), (b), _n) != 0) {				\
		t_fail(__FILE__, __LINE__, "%s differs from %s (%zu bytes): %s", #a, #b, _n, \
		    t_memdiff((const uint8_t *)(a), (const uint8_t *)(b), _n)); \
		return;							\
	}								\
} while (0)

const char *t_memdiff(const uint8_t *a, const uint8_t *b, size_t n);

/*
 * Deterministic test data from a seed of the test file's own, so that a
 * failure reproduces: t_rnd is xorshift64*, t_rnd_bytes its low bytes,
 * t_rnd_hi its bits 32..39 as bytes; t_xorshift is plain xorshift64
 * (13, 7, 17), which older tests chose their seeds with.
 */
uint64_t t_rnd(uint64_t *state);
void	 t_rnd_bytes(uint64_t *state, uint8_t *p, size_t n);
uint64_t t_xorshift(uint64_t *state);
void	 t_rnd_hi(uint64_t (*next)(uint64_t *), uint64_t *state, uint8_t *p,
	    size_t n);


/* The monotonic clock in seconds, for benchmarks' rates. */
double	 t_seconds(void);
/*
 * A benchmark against its limit, measured in the same run: 60 slices of
 * 25 ms each of fn and of limit, alternating so that both meet the same
 * machine load; prints "BENCH name rate unit limit=rate ratio=r", a rate
 * being calls per second times per_call.
 */
/* A fixed identity: the private key of 32 bytes that are all b.  0 or -1. */
struct ident;
int	 t_ident_fill(struct ident *id, uint8_t b);
void	 t_bench_alternate(const char *name, const char *unit, double per_call,
	    void (*fn)(void), void (*limit)(void));
/* A clock the test sets: the int64_t that now points to. */
int64_t	 t_clock(void *now);

/*
 * A fresh directory /tmp/<name>.XXXXXX into dir (cap bytes); -1 (and dir
 * "") on failure.
 */
int	 t_tmpdir(char *dir, size_t cap, const char *name);
/* Removes dir and all below it, following no link; dir is "" afterwards. */
void	 t_rmtree(char *dir);
/* Removes an SQLite database path and its -wal and -shm files. */
void	 t_unlink_db(const char *path);
/* The entries of dir but "." and ".."; -1 if it cannot be read. */
int	 t_count_entries(const char *dir);

#endif
