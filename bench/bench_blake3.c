/*
 * bench_blake3.c — BLAKE3 throughput on 1 MiB inputs, one thread, for each
 * implementation the CPU supports, against `b3sum --num-threads 1` (the
 * official Rust implementation) hashing the same data in the same run.
 *
 * Prints a table (lines starting with '#') and one line:
 *   BENCH blake3 <MB/s> MB/s limit=<b3sum MB/s> ratio=<ours/b3sum>
 * MB = 10^6 bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blake3.h"

#define INPUT_LEN	(1024 * 1024)
#define FILE_MIB	256
#define B3SUM_RUNS	5

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Hashes buf over and over for about `secs` seconds; returns MB/s. */
static double
rate(const uint8_t *buf, double secs)
{
	uint8_t out[BLAKE3_OUT_LEN];
	double t0, t;
	size_t n = 0, i, batch = 16;
	volatile uint8_t sink = 0;

	/* Warm up caches and the CPU's clock. */
	for (i = 0; i < 8; i++)
		blake3_hash(buf, INPUT_LEN, out);
	t0 = now();
	do {
		for (i = 0; i < batch; i++) {
			blake3_hash(buf, INPUT_LEN, out);
			sink ^= out[0];
		}
		n += batch;
		t = now() - t0;
	} while (t < secs);
	(void)sink;
	return (double)n * INPUT_LEN / t / 1e6;
}

/* Best MB/s of `b3sum --num-threads 1` over a FILE_MIB MiB file of buf. */
static double
b3sum_rate(const uint8_t *buf)
{
	char dir[] = "/tmp/peernet-bench-b3.XXXXXX", path[256], cmd[512];
	double best = 0, t0, t;
	FILE *f;
	int i, ok = 1;

	if (system("command -v b3sum >/dev/null 2>&1") != 0)
		return 0;
	if (mkdtemp(dir) == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/data", dir);
	f = fopen(path, "wb");
	if (f == NULL)
		ok = 0;
	for (i = 0; ok && i < FILE_MIB; i++)
		if (fwrite(buf, 1, INPUT_LEN, f) != INPUT_LEN)
			ok = 0;
	if (f != NULL && fclose(f) != 0)
		ok = 0;
	snprintf(cmd, sizeof(cmd),
	    "b3sum --num-threads 1 --no-names '%s' >/dev/null", path);
	for (i = 0; ok && i < B3SUM_RUNS; i++) {
		t0 = now();
		if (system(cmd) != 0) {
			ok = 0;
			break;
		}
		t = now() - t0;
		if ((double)FILE_MIB * INPUT_LEN / t / 1e6 > best)
			best = (double)FILE_MIB * INPUT_LEN / t / 1e6;
	}
	unlink(path);
	rmdir(dir);
	return ok ? best : 0;
}

int
main(void)
{
	static const char *const impls[] = { "portable", "sse41", "avx2" };
	uint8_t *buf;
	double r, ours, limit;
	size_t i;

	buf = malloc(INPUT_LEN);
	if (buf == NULL)
		return 1;
	for (i = 0; i < INPUT_LEN; i++)
		buf[i] = (uint8_t)((i * 31 + 7) % 251);

	limit = b3sum_rate(buf);
	printf("# %-10s %10s %10s %8s\n", "impl", "input", "MB/s", "ratio");
	for (i = 0; i < sizeof(impls) / sizeof(impls[0]); i++) {
		if (blake3_force_impl(impls[i]) != 0) {
			printf("# %-10s %10s %10s %8s\n", impls[i], "1 MiB",
			    "n/a", "-");
			continue;
		}
		r = rate(buf, 0.7);
		printf("# %-10s %10s %10.0f %8.2f\n", impls[i], "1 MiB", r,
		    limit > 0 ? r / limit : 0);
	}
	blake3_force_impl(NULL);
	ours = rate(buf, 1.5);
	printf("# %-10s %10s %10.0f %8s (best %d runs, %d MiB file)\n",
	    "b3sum -j1", "256 MiB", limit, "1.00", B3SUM_RUNS, FILE_MIB);
	printf("# dispatcher chose %s\n", blake3_impl_name());
	if (limit <= 0) {
		printf("# b3sum is not installed: no limit measured\n");
		printf("BENCH blake3 %.0f MB/s limit=0 ratio=0\n", ours);
	} else
		printf("BENCH blake3 %.0f MB/s limit=%.0f ratio=%.2f\n", ours,
		    limit, ours / limit);
	free(buf);
	return 0;
}
