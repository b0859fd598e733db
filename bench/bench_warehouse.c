/*
 * bench_warehouse.c — create throughput of the warehouse for a 300 MB file
 * (streamed in 1 MiB chunks, size announced: hash + merkle tree while
 * writing, fsync, rename, companion), against the limit of the same disk in
 * the same run: plain write(2) of the same bytes to a file + fsync, no
 * hashing.  The root is under $TMPDIR (or /tmp): the real disk, not tmpfs.
 *
 * Prints a table (lines starting with '#') and one line:
 *   BENCH warehouse_create <MB/s> MB/s limit=<write+fsync MB/s> ratio=<r>
 * MB = 10^6 bytes.  Each figure is the best of RUNS runs.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blake3.h"
#include "merkle.h"
#include "t.h"
#include "warehouse.h"

#define CHUNK		(1024 * 1024)
#define FILE_BYTES	300000000ULL
#define RUNS		3

/* Chunk k of run r: random-looking bytes, different per run (no dedup). */
static void
fill(uint8_t *buf, const uint8_t *base, uint64_t k, int r)
{
	memcpy(buf, base, CHUNK);
	memcpy(buf, &k, sizeof(k));
	memcpy(buf + sizeof(k), &r, sizeof(r));
}

static double
run_wh(struct wh *wh, const uint8_t *base, uint8_t *buf, int r, uint64_t announce)
{
	struct wh_writer *w;
	uint8_t hash[32];
	uint64_t off, k, size;
	size_t n;
	double t0, t;
	int dedup;

	t0 = t_seconds();
	if (wh_write_begin(wh, announce, &w) != WH_OK)
		return -1;
	for (off = 0, k = 0; off < FILE_BYTES; off += n, k++) {
		n = FILE_BYTES - off < CHUNK ? (size_t)(FILE_BYTES - off) : CHUNK;
		fill(buf, base, k, r);
		if (wh_write_data(w, buf, n) != WH_OK) {
			wh_write_abort(w);
			return -1;
		}
	}
	if (wh_write_commit(w, hash, &size, &dedup) != WH_OK || dedup)
		return -1;
	t = t_seconds() - t0;
	(void)wh_delete(wh, hash);
	return (double)FILE_BYTES / t / 1e6;
}

static double
run_plain(const char *dir, const uint8_t *base, uint8_t *buf, int r)
{
	char path[600];
	uint64_t off, k;
	size_t n;
	double t0, t;
	int fd;

	snprintf(path, sizeof(path), "%s/plain", dir);
	t0 = t_seconds();
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	for (off = 0, k = 0; off < FILE_BYTES; off += n, k++) {
		n = FILE_BYTES - off < CHUNK ? (size_t)(FILE_BYTES - off) : CHUNK;
		fill(buf, base, k, r);
		if (write(fd, buf, n) != (ssize_t)n) {
			close(fd);
			return -1;
		}
	}
	if (fsync(fd) == -1 || close(fd) == -1)
		return -1;
	t = t_seconds() - t0;
	unlink(path);
	return (double)FILE_BYTES / t / 1e6;
}

/* blake3 + merkle builder in memory: the CPU part of a create. */
static double
run_hash(const uint8_t *base, uint8_t *buf, int r)
{
	struct merkle_builder *mb;
	uint64_t off, k, fs = merkle_fragment_size(FILE_BYTES);
	uint8_t root[32], fh[32], *exp;
	size_t n, explen;
	double t0, t;

	if (merkle_export_size(FILE_BYTES, fs, &explen) != MERKLE_OK ||
	    (exp = malloc(explen)) == NULL || (mb = malloc(sizeof(*mb))) == NULL)
		return -1;
	t0 = t_seconds();
	merkle_builder_init(mb, FILE_BYTES, fs, exp, explen);
	for (off = 0, k = 0; off < FILE_BYTES; off += n, k++) {
		n = FILE_BYTES - off < CHUNK ? (size_t)(FILE_BYTES - off) : CHUNK;
		fill(buf, base, k, r);
		merkle_builder_update(mb, buf, n);
	}
	merkle_builder_final(mb, root, fh);
	t = t_seconds() - t0;
	free(exp);
	free(mb);
	return (double)FILE_BYTES / t / 1e6;
}

static void
best(double *b, double v)
{
	if (v > *b)
		*b = v;
}

int
main(void)
{
	char dir[512], root[600], err[256], cmd[700];
	uint8_t *base, *buf;
	double known = 0, unknown = 0, plain = 0, hash = 0;
	struct wh *wh;
	size_t i;
	int r;

	snprintf(dir, sizeof(dir), "%s/wh-bench-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(root, sizeof(root), "%s/warehouse", dir);
	if (wh_open(&wh, root, err, sizeof(err)) != WH_OK) {
		fprintf(stderr, "wh_open: %s\n", err);
		return 1;
	}
	base = malloc(CHUNK);
	buf = malloc(CHUNK);
	if (base == NULL || buf == NULL)
		return 1;
	srand(1);
	for (i = 0; i < CHUNK; i++)
		base[i] = (uint8_t)(rand() >> 7);
	for (r = 0; r < RUNS; r++) {
		best(&plain, run_plain(dir, base, buf, 100 + r));
		best(&known, run_wh(wh, base, buf, 200 + r, FILE_BYTES));
		best(&unknown, run_wh(wh, base, buf, 300 + r, 0));
		best(&hash, run_hash(base, buf, 400 + r));
	}
	wh_close(wh);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	printf("# %-36s %10s %8s\n", "what (300 MB, 1 MiB chunks)", "MB/s", "ratio");
	printf("# %-36s %10.0f %8.2f\n", "write + fsync, no hashing (limit)", plain, 1.0);
	printf("# %-36s %10.0f %8.2f\n", "warehouse create, size announced", known,
	    known / plain);
	printf("# %-36s %10.0f %8.2f\n", "warehouse create, size unknown", unknown,
	    unknown / plain);
	printf("# %-36s %10.0f %8s\n", "blake3 + merkle in memory (CPU)", hash, "-");
	printf("# blake3 implementation: %s\n", blake3_impl_name());
	printf("BENCH warehouse_create %.0f MB/s limit=%.0f ratio=%.2f\n", known, plain,
	    known / plain);
	free(base);
	free(buf);
	return known > 0 && plain > 0 ? 0 : 1;
}
