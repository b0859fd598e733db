/*
 * bench_warehouse.c — create throughput of the warehouse for a 300 MB file
 * (streamed in 1 MiB chunks, size announced: hash + merkle tree while
 * writing, fsync, rename, companion), against the limit of the same disk in
 * the same run: plain write(2) of the same bytes to a file + fsync, no
 * hashing.  The root is under $TMPDIR (or /tmp): the real disk, not tmpfs.
 *
 * Prints a table (lines starting with '#') and two lines:
 *   BENCH warehouse_create <MB/s> MB/s limit=<write+fsync MB/s> ratio=<r>
 *   BENCH warehouse_hash <MB/s> MB/s limit=<b3sum -j1 MB/s> ratio=<r>
 * The second is the CPU part alone: the file hash and the merkle leaves of
 * the same 300 MB in memory (blake3_split_hasher: each byte after the
 * first fragment is compressed twice, docs/data.md §4.2 leaves cannot be
 * read off the file's BLAKE3 tree), against `b3sum --num-threads 1` on the
 * written file (in the page cache), the limit of bench/warehouse_add.sh.
 * The table also shows the receiver's hashing per byte (run_recv).
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

/* b3sum --num-threads 1 on path (MB/s of FILE_BYTES), 0 if it failed. */
static double
run_b3sum(const char *path)
{
	char cmd[700];
	double t0, t;

	snprintf(cmd, sizeof(cmd), "b3sum --num-threads 1 '%s' >/dev/null 2>&1",
	    path);
	t0 = t_seconds();
	if (system(cmd) != 0)
		return 0;
	t = t_seconds() - t0;
	return (double)FILE_BYTES / t / 1e6;
}

static double
run_plain(const char *dir, const uint8_t *base, uint8_t *buf, int r,
    double *b3)
{
	char path[600];
	uint64_t off, k;
	size_t n;
	double t0, t;
	int fd;

	*b3 = 0;
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
	*b3 = run_b3sum(path);
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

/*
 * The hashing a downloading node does per received byte (today's design):
 * netd checks each 256 KiB fragment against the peer's leaf (one BLAKE3),
 * storaged keeps the file hash and the leaves (the split hasher), both
 * from memory — no I/O, the CPU part of a receive.
 */
static double
run_recv(const uint8_t *base, uint8_t *buf, int r)
{
	blake3_split_hasher sh;
	uint64_t off, k, fs = merkle_fragment_size(FILE_BYTES);
	uint8_t leaf[32], fh[32];
	size_t n, f;
	double t0, t;

	t0 = t_seconds();
	blake3_split_init(&sh, fs);
	for (off = 0, k = 0; off < FILE_BYTES; off += n, k++) {
		n = FILE_BYTES - off < CHUNK ? (size_t)(FILE_BYTES - off) : CHUNK;
		fill(buf, base, k, r);
		for (f = 0; f < n; f += (size_t)fs)	/* CHUNK is whole fragments */
			blake3_hash(buf + f, n - f < fs ? n - f : (size_t)fs, leaf);
		blake3_split_update(&sh, buf, n, NULL, NULL);
	}
	blake3_split_final(&sh, fh, NULL, NULL);
	t = t_seconds() - t0;
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
	double known = 0, unknown = 0, plain = 0, hash = 0, b3 = 0, b3r = 0;
	double recv = 0;
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
		best(&plain, run_plain(dir, base, buf, 100 + r, &b3r));
		best(&b3, b3r);
		best(&hash, run_hash(base, buf, 400 + r));
		best(&recv, run_recv(base, buf, 500 + r));
		best(&known, run_wh(wh, base, buf, 200 + r, FILE_BYTES));
		best(&unknown, run_wh(wh, base, buf, 300 + r, 0));
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
	printf("# %-36s %10.0f %8.2f\n", "file hash + leaves in memory (CPU)", hash,
	    b3 > 0 ? hash / b3 : 0);
	printf("# %-36s %10.0f %8.2f\n", "receiver: netd check + storaged", recv,
	    b3 > 0 ? recv / b3 : 0);
	printf("# %-36s %10.0f %8.2f\n", "b3sum --num-threads 1 (limit)", b3, 1.0);
	printf("# blake3 implementation: %s\n", blake3_impl_name());
	printf("BENCH warehouse_create %.0f MB/s limit=%.0f ratio=%.2f\n", known, plain,
	    known / plain);
	if (b3 > 0)
		printf("BENCH warehouse_hash %.0f MB/s limit=%.0f ratio=%.2f\n", hash,
		    b3, hash / b3);
	else
		printf("# warehouse_hash: b3sum failed or is not installed\n");
	free(base);
	free(buf);
	return known > 0 && plain > 0 ? 0 : 1;
}
