/* t.c — the unit-test harness (see t.h). */
#define _GNU_SOURCE	/* nftw */
#include <dirent.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ident.h"
#include "t.h"

int	 t_case_failed;
int	 t_case_skipped;
char	 t_case_why[512];

static const char *t_suite = "test";
static int t_npass, t_nfail, t_nskip;

void
t_set_suite(const char *argv0)
{
	const char *s = strrchr(argv0, '/');

	t_suite = s ? s + 1 : argv0;
	/*
	 * A line out as soon as it is printed: a suite that hangs and is
	 * killed (tests/run.sh's timeout) still shows the cases it passed
	 * and its last "# " lines, not an empty pipe buffer.
	 */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

int
t_suite_crypto(const char *argv0)
{
	t_set_suite(argv0);
	return ident_crypto_init() != 0 ? -1 : 0;
}

void
t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t_case_failed)
		return;
	t_case_failed = 1;
	n = snprintf(t_case_why, sizeof(t_case_why), "%s:%d: ", file, line);
	if (n < 0 || (size_t)n >= sizeof(t_case_why))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(t_case_why + n, sizeof(t_case_why) - (size_t)n, fmt, ap);
	va_end(ap);
}

void
t_skip(const char *fmt, ...)
{
	va_list ap;

	t_case_skipped = 1;
	va_start(ap, fmt);
	vsnprintf(t_case_why, sizeof(t_case_why), fmt, ap);
	va_end(ap);
}

void
t_run(const char *name, void (*fn)(void))
{
	t_case_failed = t_case_skipped = 0;
	t_case_why[0] = '\0';
	fn();
	if (t_case_failed) {
		printf("FAIL: %s/%s: %s\n", t_suite, name, t_case_why);
		t_nfail++;
	} else if (t_case_skipped) {
		printf("SKIP: %s/%s: %s\n", t_suite, name, t_case_why);
		t_nskip++;
	} else {
		printf("PASS: %s/%s\n", t_suite, name);
		t_npass++;
	}
	fflush(stdout);
}

int
t_done(void)
{
	printf("# %s: %d passed, %d failed, %d skipped\n", t_suite, t_npass,
	    t_nfail, t_nskip);
	return t_nfail ? 1 : 0;
}

const char *
t_memdiff(const uint8_t *a, const uint8_t *b, size_t n)
{
	static char msg[128];
	size_t i;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	snprintf(msg, sizeof(msg), "first difference at byte %zu (%02x vs %02x)",
	    i, i < n ? a[i] : 0, i < n ? b[i] : 0);
	return msg;
}

uint64_t
t_rnd(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

void
t_rnd_bytes(uint64_t *state, uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)t_rnd(state);
}

uint64_t
t_xorshift(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

void
t_rnd_hi(uint64_t (*next)(uint64_t *), uint64_t *state, uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(next(state) >> 32);
}

int
t_tmpdir(char *dir, size_t cap, const char *name)
{
	snprintf(dir, cap, "/tmp/%s.XXXXXX", name);
	if (mkdtemp(dir) != NULL)
		return 0;
	dir[0] = '\0';
	return -1;
}

static int
t_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

void
t_rmtree(char *dir)
{
	if (dir[0] != '\0')
		(void)nftw(dir, t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	dir[0] = '\0';
}

void
t_unlink_db(const char *path)
{
	char p[4096];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

int
t_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

int64_t
t_clock(void *now)
{
	return *(const int64_t *)now;
}

double
t_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
t_ident_fill(struct ident *id, uint8_t b)
{
	uint8_t priv[32];

	memset(priv, b, sizeof(priv));
	return ident_from_priv(id, priv);
}

#define T_BENCH_SLICES		60
#define T_BENCH_SLICE_SEC	0.025

/* Runs fn for one slice; adds calls and seconds. */
static void
t_bench_slice(void (*fn)(void), double *calls, double *secs)
{
	double t0 = t_seconds(), t;
	unsigned i, n = 0;

	do {
		for (i = 0; i < 32; i++)
			fn();
		n += 32;
		t = t_seconds();
	} while (t - t0 < T_BENCH_SLICE_SEC);
	*calls += n;
	*secs += t - t0;
}

void
t_bench_alternate(const char *name, const char *unit, double per_call,
    void (*fn)(void), void (*limit)(void))
{
	double c1 = 0, s1 = 0, c2 = 0, s2 = 0, r1, r2;
	int i;

	for (i = 0; i < T_BENCH_SLICES; i++) {
		t_bench_slice(limit, &c2, &s2);
		t_bench_slice(fn, &c1, &s1);
	}
	r1 = c1 / s1 * per_call;
	r2 = c2 / s2 * per_call;
	printf("BENCH %s %.0f %s limit=%.0f ratio=%.3f\n", name, r1, unit, r2,
	    r1 / r2);
	fflush(stdout);
}

int
t_truncations_fail(const char *file, int line, const uint8_t *msg, size_t n,
    int (*dec)(const uint8_t *, size_t), int trailing_rc)
{
	uint8_t *big;
	size_t k;
	int rc;

	for (k = 0; k < n; k++)
		if (dec(msg, k) == 0) {
			t_fail(file, line, "prefix of %zu bytes (of %zu) decoded",
			    k, n);
			return -1;
		}
	if ((big = malloc(n + 1)) == NULL) {
		t_fail(file, line, "out of memory");
		return -1;
	}
	memcpy(big, msg, n);
	big[n] = 0;
	rc = dec(big, n + 1);
	free(big);
	if (rc != trailing_rc) {
		t_fail(file, line, "with a trailing byte: %d, expected %d", rc,
		    trailing_rc);
		return -1;
	}
	return 0;
}
