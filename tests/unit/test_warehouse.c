/*
 * test_warehouse.c — the content-addressed store (docs/data.md §5) and its merkle
 * companions (§4.4) on a real file system: hashes against blake3 and b3sum,
 * paths in the reference's shape, companions against merkle.json, a sparse
 * file beyond 4 GiB, crashes (abort, SIGKILL), integrity checks and planted
 * symlinks.
 */
#define _GNU_SOURCE	/* nftw */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blake3.h"
#include "hex.h"
#include "merkle.h"
#include "t.h"
#include "tvec.h"
#include "warehouse.h"

#define KIB	1024ULL
#define MIB	(1024ULL * KIB)
#define GIB	(1024ULL * MIB)

static char	base[256];	/* the test's temp directory */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *path)
{
	(void)nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh warehouse root <base>/<name>/storage/warehouse. */
static struct wh *
fresh(const char *name, char *root, size_t rootlen)
{
	struct wh *wh;
	char dir[512], err[256];

	snprintf(dir, sizeof(dir), "%s/%s", base, name);
	rm_rf(dir);
	snprintf(root, rootlen, "%s/storage/warehouse", dir);
	if (wh_open(&wh, root, err, sizeof(err)) != WH_OK) {
		fprintf(stderr, "wh_open %s: %s\n", root, err);
		return NULL;
	}
	return wh;
}

/* Stores data in chunks of chunk bytes. */
static int
put(struct wh *wh, const void *data, uint64_t len, uint64_t expected,
    size_t chunk, uint8_t hash[32], int *dedup)
{
	struct wh_writer *w;
	const uint8_t *p = data;
	uint64_t off, size;
	size_t n;
	int rc, dd;

	if ((rc = wh_write_begin(wh, expected, &w)) != WH_OK)
		return rc;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? (size_t)(len - off) : chunk;
		if ((rc = wh_write_data(w, p + off, n)) != WH_OK) {
			wh_write_abort(w);
			return rc;
		}
	}
	rc = wh_write_commit(w, hash, &size, &dd);
	if (rc == WH_OK && size != len)
		return -1000;
	if (dedup != NULL)
		*dedup = dd;
	return rc;
}

static void
path_of(const char *root, const uint8_t hash[32], const char *suffix, char *out,
    size_t outlen)
{
	char rel[WH_RELPATH_LEN];

	wh_relpath(hash, rel);
	snprintf(out, outlen, "%s/%s%s", root, rel, suffix);
}

/* Entries of root/_Temp. */
static int
temp_count(const char *root)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/_Temp", root);
	return t_count_entries(path);
}

static int
count_cb(void *arg, const uint8_t hash[32], uint64_t size)
{
	(void)hash;
	(void)size;
	(*(int *)arg)++;
	return 0;
}

static int
stored_count(struct wh *wh)
{
	int n = 0;

	if (wh_foreach(wh, count_cb, &n) != WH_OK)
		return -1;
	return n;
}

static void
test_create_empty_one_byte_and_small_at_reference_path(void)
{
	static const uint8_t empty_hash[32] = {
		0xaf, 0x13, 0x49, 0xb9, 0xf5, 0xf9, 0xa1, 0xa6, 0xa0, 0x40, 0x4d,
		0xea, 0x36, 0xdc, 0xc9, 0x49, 0x9b, 0xcb, 0x25, 0xc9, 0xad, 0xc1,
		0x12, 0xb7, 0xcc, 0x9a, 0x93, 0xca, 0xe4, 0x1f, 0x32, 0x62,
	};
	uint8_t data[5000], hash[32], want[32], back[5000];
	const size_t sizes[] = { 0, 1, 5000 };
	char root[512], path[700], hex[65], rel[WH_RELPATH_LEN];
	struct stat st;
	struct wh *wh;
	uint64_t size;
	size_t i, got;
	int dedup;

	if ((wh = fresh("small", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	t_rnd_hi(t_xorshift, &rng_state, data, sizeof(data));
	for (i = 0; i < 3; i++) {
		T_EQ_INT(put(wh, data, sizes[i], 0, 700, hash, &dedup), WH_OK);
		T_EQ_INT(dedup, 0);
		blake3_hash(data, sizes[i], want);
		T_EQ_MEM(hash, want, 32);
		if (sizes[i] == 0)
			T_EQ_MEM(hash, empty_hash, 32);
		/* §5.1: <root>/<h0..h3>/<h4..h7>/<h8..h63>, lowercase, no extension. */
		hex_encode(hex, hash, 32);
		snprintf(path, sizeof(path), "%s/%.4s/%.4s/%s", root, hex, hex + 4, hex + 8);
		T_EQ_INT(lstat(path, &st), 0);
		T_ASSERT(S_ISREG(st.st_mode));
		T_EQ_U64(st.st_size, sizes[i]);
		T_EQ_INT((int)strlen(path) - (int)strlen(root), 1 + 4 + 1 + 4 + 1 + 56);
		wh_relpath(hash, rel);
		T_EQ_INT(strncmp(rel, hex, 4), 0);
		T_EQ_INT(rel[4], '/');
		T_EQ_STR(rel + 10, hex + 8);
		/* No companion for files <= 256 KiB (§4.4). */
		snprintf(path + strlen(path), sizeof(path) - strlen(path), ".merkle");
		T_EQ_INT(lstat(path, &st), -1);
		T_EQ_INT(wh_stat(wh, hash, &size), WH_OK);
		T_EQ_U64(size, sizes[i]);
		memset(back, 0xee, sizeof(back));
		T_EQ_INT(wh_read(wh, hash, 0, back, sizeof(back), &got), WH_OK);
		T_EQ_U64(got, sizes[i]);
		T_EQ_MEM(back, data, sizes[i]);
	}
	T_EQ_INT(temp_count(root), 0);
	T_EQ_INT(stored_count(wh), 3);
	wh_close(wh);
}

static void
test_hash_matches_b3sum_on_stored_files(void)
{
	const size_t sizes[] = { 1, 1023, 1025, 70000, 300001 };
	uint8_t *data, hash[32];
	char root[512], path[700], cmd[800], line[200], hex[65];
	struct wh *wh;
	FILE *f;
	size_t i;

	if (system("b3sum --version >/dev/null 2>&1") != 0)
		T_SKIP("b3sum not installed");
	if ((wh = fresh("b3sum", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	data = malloc(300001);
	T_ASSERT(data != NULL);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		t_rnd_hi(t_xorshift, &rng_state, data, sizes[i]);
		if (put(wh, data, sizes[i], sizes[i], 4096, hash, NULL) != WH_OK) {
			free(data);
			T_FAIL("put %zu", sizes[i]);
		}
		path_of(root, hash, "", path, sizeof(path));
		snprintf(cmd, sizeof(cmd), "b3sum --no-names '%s'", path);
		line[0] = '\0';
		if ((f = popen(cmd, "r")) == NULL || fgets(line, sizeof(line), f) == NULL) {
			if (f != NULL)
				pclose(f);
			free(data);
			T_FAIL("b3sum did not run");
		}
		pclose(f);
		line[strcspn(line, "\n")] = '\0';
		hex_encode(hex, hash, 32);
		if (strcmp(line, hex) != 0) {
			free(data);
			T_FAIL("size %zu: ours %s, b3sum %s", sizes[i], hex, line);
		}
	}
	free(data);
	wh_close(wh);
}

/* Writes data to a file outside the warehouse (a download's part file). */
static int
part_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * wh_adopt: a finished download's part file becomes the stored file by a
 * rename (no copy): same hash and bytes as a writer would store, a
 * companion from the given leaves identical to the one a writer builds,
 * verify clean; the same content again is deduplicated and its part file
 * removed; a size that does not match the file is refused, nothing moved.
 */
static void
test_adopt_moves_a_part_file_in_with_its_companion(void)
{
	static uint8_t data[3 * MIB + 12345];
	uint64_t fs = merkle_fragment_size(sizeof(data));
	uint64_t count = merkle_fragment_count(sizeof(data), fs), i, off, len;
	uint8_t hash[32], h2[32], *leaves, *exp, *exp2;
	char root[512], part[600], path[700], root2[512];
	struct stat st;
	struct wh *wh, *wh2;
	size_t explen, got;
	uint64_t files, bad;
	int fd, dedup = -1, placed = -1, cfd;

	if ((wh = fresh("adopt", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	t_rnd_hi(t_xorshift, &rng_state, data, sizeof(data));
	blake3_hash(data, sizeof(data), hash);
	leaves = malloc(count * 32);
	for (i = 0; i < count; i++) {
		T_EQ_INT(merkle_fragment_range(sizeof(data), fs, i, &off, &len), MERKLE_OK);
		blake3_hash(data + off, (size_t)len, leaves + i * 32);
	}
	T_EQ_INT(merkle_export_size(sizeof(data), fs, &explen), MERKLE_OK);
	exp = malloc(explen);
	T_EQ_INT(merkle_export_from_leaves(sizeof(data), fs, leaves, count, exp, explen,
	    NULL), MERKLE_OK);
	snprintf(part, sizeof(part), "%s/adopt/x.part", base);
	T_ASSERT((fd = part_file(part, data, sizeof(data))) >= 0);
	/* A wrong size: refused, the part file stays. */
	T_EQ_INT(wh_adopt(wh, part, dup(fd), hash, sizeof(data) - 1, exp, explen, &dedup,
	    &placed), WH_ERR_CHANGED);
	T_EQ_INT(placed, 0);
	T_ASSERT(access(part, F_OK) == 0);
	T_EQ_INT(wh_adopt(wh, part, fd, hash, sizeof(data), exp, explen, &dedup, &placed),
	    WH_OK);
	T_EQ_INT(placed, 1);
	T_EQ_INT(dedup, 0);
	T_ASSERT(access(part, F_OK) == -1);	/* moved, not copied */
	path_of(root, hash, "", path, sizeof(path));
	T_EQ_INT(stat(path, &st), 0);
	T_EQ_U64((uint64_t)st.st_size, sizeof(data));
	T_EQ_INT(temp_count(root), 0);
	/* The companion is byte for byte what a writer of the same data makes. */
	if ((wh2 = fresh("adopt-ref", root2, sizeof(root2))) == NULL)
		T_FAIL("wh_open");
	T_EQ_INT(put(wh2, data, sizeof(data), sizeof(data), MIB, h2, NULL), WH_OK);
	T_EQ_MEM(h2, hash, 32);
	exp2 = malloc(explen);
	path_of(root2, hash, ".merkle", path, sizeof(path));
	T_ASSERT((cfd = open(path, O_RDONLY)) >= 0);
	got = (size_t)read(cfd, exp2, explen);
	close(cfd);
	T_EQ_U64(got, explen);
	path_of(root, hash, ".merkle", path, sizeof(path));
	T_ASSERT((cfd = open(path, O_RDONLY)) >= 0);
	got = (size_t)read(cfd, exp, explen);
	close(cfd);
	T_EQ_U64(got, explen);
	T_EQ_MEM(exp, exp2, explen);
	T_EQ_INT(wh_verify(wh, NULL, NULL, NULL, NULL, &files, &bad), WH_OK);
	T_EQ_U64(files, 1);
	T_EQ_U64(bad, 0);
	/* Again (another download of the same content): kept once, part removed. */
	T_ASSERT((fd = part_file(part, data, sizeof(data))) >= 0);
	T_EQ_INT(wh_adopt(wh, part, fd, hash, sizeof(data), NULL, 0, &dedup, &placed),
	    WH_OK);
	T_EQ_INT(placed, 1);
	T_EQ_INT(dedup, 1);
	T_ASSERT(access(part, F_OK) == -1);
	T_EQ_INT(stored_count(wh), 1);
	free(leaves);
	free(exp);
	free(exp2);
	wh_close(wh);
	wh_close(wh2);
}

static void
test_same_content_twice_is_one_file_deduplicated(void)
{
	uint8_t data[100000], h1[32], h2[32];
	char root[512];
	struct wh *wh;
	int d1, d2;

	if ((wh = fresh("dedup", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	t_rnd_hi(t_xorshift, &rng_state, data, sizeof(data));
	T_EQ_INT(put(wh, data, sizeof(data), 0, 65536, h1, &d1), WH_OK);
	/* Different chunking, size announced: same file. */
	T_EQ_INT(put(wh, data, sizeof(data), sizeof(data), 777, h2, &d2), WH_OK);
	T_EQ_INT(d1, 0);
	T_EQ_INT(d2, 1);
	T_EQ_MEM(h1, h2, 32);
	T_EQ_INT(stored_count(wh), 1);
	T_EQ_INT(temp_count(root), 0);
	wh_close(wh);
}

struct collect {
	uint8_t	(*hashes)[32];
	uint64_t *sizes;
	size_t	 n;
	size_t	 cap;
};

static int
collect_cb(void *arg, const uint8_t hash[32], uint64_t size)
{
	struct collect *c = arg;

	if (c->n == c->cap)
		return 1;
	memcpy(c->hashes[c->n], hash, 32);
	c->sizes[c->n] = size;
	c->n++;
	return 0;
}

static int
cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Finds hash in the sorted array. */
static long
find32(uint8_t (*arr)[32], size_t n, const uint8_t *hash)
{
	uint8_t (*p)[32] = bsearch(hash, arr, n, 32, cmp32);

	return p == NULL ? -1 : (long)(p - arr);
}

static void
test_thousand_files_enumerated_exactly_and_read_back(void)
{
	enum { N = 1000 };
	static uint8_t want[N][32], seen[N + 8][32];
	static uint64_t seen_size[N + 8];
	struct collect c = { seen, seen_size, 0, N + 8 };
	uint8_t data[2048], back[2048], hash[32];
	char root[512], junk[700];
	struct wh *wh;
	size_t i, len, got;
	const char *saved = NULL;
	long k;
	FILE *f;

	/*
	 * tmpfs when there is one: each create costs four fsyncs (data,
	 * directory, two new levels), ~25 ms on this VM's disk.
	 */
	if (access("/dev/shm", W_OK) == 0) {
		saved = strdup(base);
		snprintf(base, sizeof(base), "/dev/shm/wh-test-%d", (int)getpid());
	}
	wh = fresh("many", root, sizeof(root));
	if (saved != NULL) {
		snprintf(base, sizeof(base), "%s", saved);
		free((void *)saved);
	}
	if (wh == NULL)
		T_FAIL("wh_open");
	for (i = 0; i < N; i++) {
		len = 1 + i % 2000;
		t_rnd_hi(t_xorshift, &rng_state, data, len);
		memcpy(data, &i, len < sizeof(i) ? len : sizeof(i));
		if (i < 256)
			data[0] = (uint8_t)i;	/* the 1-byte files differ too */
		if (put(wh, data, len, 0, 512, want[i], NULL) != WH_OK)
			T_FAIL("put %zu", i);
	}
	/* Junk that is not of the §5.1 shape is not listed. */
	snprintf(junk, sizeof(junk), "%s/zzzz", root);
	T_EQ_INT(mkdir(junk, 0700), 0);
	snprintf(junk, sizeof(junk), "%s/ABCD", root);
	T_EQ_INT(mkdir(junk, 0700), 0);
	snprintf(junk, sizeof(junk), "%s/ABCD/0000", root);
	T_EQ_INT(mkdir(junk, 0700), 0);
	snprintf(junk, sizeof(junk), "%s/ABCD/0000/%056d", root, 0);
	T_ASSERT((f = fopen(junk, "w")) != NULL);
	fclose(f);
	path_of(root, want[0], ".tmp", junk, sizeof(junk));
	T_ASSERT((f = fopen(junk, "w")) != NULL);
	fclose(f);

	T_EQ_INT(wh_foreach(wh, collect_cb, &c), WH_OK);
	T_EQ_U64(c.n, N);
	qsort(want, N, 32, cmp32);
	for (i = 0; i < N; i++) {
		k = find32(want, N, seen[i]);
		if (k < 0)
			T_FAIL("listed hash %zu is not one we stored", i);
	}
	qsort(seen, N, 32, cmp32);
	T_EQ_MEM(seen, want, sizeof(want));	/* exact set, no duplicates */

	/* Read every file back; its bytes hash to its name. */
	for (i = 0; i < N; i++) {
		T_EQ_INT(wh_read(wh, want[i], 0, back, sizeof(back), &got), WH_OK);
		T_ASSERT(got >= 1 && got <= 2000);
		blake3_hash(back, got, hash);
		T_EQ_MEM(hash, want[i], 32);
	}
	/* A callback's non-zero return stops the walk and is returned. */
	c.n = 0;
	c.cap = 10;
	T_EQ_INT(wh_foreach(wh, collect_cb, &c), 1);
	T_EQ_U64(c.n, 10);
	wh_close(wh);
	snprintf(junk, sizeof(junk), "/dev/shm/wh-test-%d", (int)getpid());
	rm_rf(junk);
}

static void
test_reads_at_offsets_and_past_end(void)
{
	enum { SIZE = 100003 };
	static uint8_t data[SIZE], back[SIZE + 100];
	uint8_t hash[32], nothash[32];
	char root[512];
	struct wh *wh;
	uint64_t off;
	size_t len, got, want, i;

	if ((wh = fresh("reads", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	tvec_pattern(data, SIZE);
	T_EQ_INT(put(wh, data, SIZE, SIZE, 65536, hash, NULL), WH_OK);
	for (i = 0; i < 200; i++) {
		off = t_xorshift(&rng_state) % (SIZE + 50);
		len = t_xorshift(&rng_state) % 5000;
		want = off >= SIZE ? 0 : (SIZE - off < len ? SIZE - off : len);
		memset(back, 0xee, len + 1);
		T_EQ_INT(wh_read(wh, hash, off, back, len, &got), WH_OK);
		T_EQ_U64(got, want);
		T_EQ_MEM(back, data + (off < SIZE ? off : 0), got);
		T_EQ_INT(back[got], got < len ? back[got] : 0xee);
	}
	T_EQ_INT(wh_read(wh, hash, SIZE - 3, back, 10, &got), WH_OK);
	T_EQ_U64(got, 3);
	T_EQ_MEM(back, data + SIZE - 3, 3);
	T_EQ_INT(wh_read(wh, hash, SIZE, back, 10, &got), WH_OK);
	T_EQ_U64(got, 0);
	T_EQ_INT(wh_read(wh, hash, UINT64_MAX, back, 10, &got), WH_OK);
	T_EQ_U64(got, 0);
	T_EQ_INT(wh_read(wh, hash, 0, back, sizeof(back), &got), WH_OK);
	T_EQ_U64(got, SIZE);
	T_EQ_MEM(back, data, SIZE);
	T_EQ_INT(wh_read(wh, hash, 0, back, 0, &got), WH_OK);
	T_EQ_U64(got, 0);
	/* A plain fd for long streams: blocking, the whole file. */
	{
		uint64_t fsize = 0;
		int fd = -1;
		T_EQ_INT(wh_fd(wh, hash, &fd, &fsize), WH_OK);
		T_EQ_U64(fsize, SIZE);
		T_EQ_INT(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
		T_EQ_INT(pread(fd, back, 100, SIZE - 100), 100);
		close(fd);
		T_EQ_MEM(back, data + SIZE - 100, 100);
	}
	memcpy(nothash, hash, 32);
	nothash[31] ^= 1;
	T_EQ_INT(wh_read(wh, nothash, 0, back, 10, &got), WH_ERR_NOTFOUND);
	nothash[0] ^= 0x80;	/* level directories absent too */
	T_EQ_INT(wh_read(wh, nothash, 0, back, 10, &got), WH_ERR_NOTFOUND);
	wh_close(wh);
}

static void
test_zero_runs_become_holes_and_read_back_as_zeros(void)
{
	enum { SIZE = 1000003 };
	static uint8_t data[SIZE], back[SIZE];
	uint8_t hash[32], want[32];
	char root[512], path[700];
	struct stat st;
	struct wh *wh;
	size_t got;

	if ((wh = fresh("holes", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	/* Data, 200 KiB of zeros, data, zeros to the end (trailing hole). */
	memset(data, 0, SIZE);
	t_rnd_hi(t_xorshift, &rng_state, data, 100);
	t_rnd_hi(t_xorshift, &rng_state, data + 100 + 200 * 1024, 5000);
	/* Odd chunks: zero blocks straddle the writes. */
	T_EQ_INT(put(wh, data, SIZE, SIZE, 3001, hash, NULL), WH_OK);
	blake3_hash(data, SIZE, want);
	T_EQ_MEM(hash, want, 32);
	path_of(root, hash, "", path, sizeof(path));
	T_EQ_INT(stat(path, &st), 0);
	T_EQ_U64(st.st_size, SIZE);
	T_ASSERT((uint64_t)st.st_blocks * 512 <= 64 * 1024);
	memset(back, 0xee, SIZE);
	T_EQ_INT(wh_read(wh, hash, 0, back, SIZE, &got), WH_OK);
	T_EQ_U64(got, SIZE);
	T_EQ_MEM(back, data, SIZE);
	/* Other bytes, in one write: data, then zero blocks within a chunk. */
	data[0] ^= 1;
	data[SIZE - 1] = 7;
	T_EQ_INT(put(wh, data, SIZE, 0, SIZE, hash, NULL), WH_OK);
	blake3_hash(data, SIZE, want);
	T_EQ_MEM(hash, want, 32);
	memset(back, 0xee, SIZE);
	T_EQ_INT(wh_read(wh, hash, 0, back, SIZE, &got), WH_OK);
	T_EQ_U64(got, SIZE);
	T_EQ_MEM(back, data, SIZE);
	path_of(root, hash, "", path, sizeof(path));
	T_EQ_INT(stat(path, &st), 0);
	T_ASSERT((uint64_t)st.st_blocks * 512 <= 64 * 1024);
	wh_close(wh);
}

static void
test_damaged_file_of_wrong_size_is_replaced_not_deduplicated(void)
{
	uint8_t data[50000], hash[32], back[50000];
	char root[512], path[700];
	struct wh *wh;
	size_t got;
	int dedup;

	if ((wh = fresh("replace", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	t_rnd_hi(t_xorshift, &rng_state, data, sizeof(data));
	T_EQ_INT(put(wh, data, sizeof(data), 0, 4096, hash, NULL), WH_OK);
	path_of(root, hash, "", path, sizeof(path));
	T_EQ_INT(truncate(path, 1000), 0);
	T_EQ_INT(put(wh, data, sizeof(data), 0, 4096, hash, &dedup), WH_OK);
	T_EQ_INT(dedup, 0);
	T_EQ_INT(wh_read(wh, hash, 0, back, sizeof(back), &got), WH_OK);
	T_EQ_U64(got, sizeof(data));
	T_EQ_MEM(back, data, sizeof(data));
	T_EQ_INT(temp_count(root), 0);
	wh_close(wh);
}

static void
test_delete_removes_data_companion_and_empty_levels(void)
{
	enum { SIZE = 300000 };
	static uint8_t data[SIZE];
	uint8_t hash[32], keep[32];
	char root[512], path[700];
	struct stat st;
	struct wh *wh;
	uint64_t size;
	size_t got;

	if ((wh = fresh("delete", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	t_rnd_hi(t_xorshift, &rng_state, data, SIZE);
	T_EQ_INT(put(wh, data, SIZE, SIZE, 65536, hash, NULL), WH_OK);
	T_EQ_INT(put(wh, data, 1000, 0, 65536, keep, NULL), WH_OK);
	path_of(root, hash, ".merkle", path, sizeof(path));
	T_EQ_INT(lstat(path, &st), 0);
	T_EQ_INT(wh_delete(wh, hash), WH_OK);
	T_EQ_INT(lstat(path, &st), -1);		/* the reference would keep it */
	path_of(root, hash, "", path, sizeof(path));
	T_EQ_INT(lstat(path, &st), -1);
	path[strlen(root) + 10] = '\0';		/* <root>/<l1>/<l2> */
	T_EQ_INT(lstat(path, &st), -1);
	T_EQ_INT(wh_stat(wh, hash, &size), WH_ERR_NOTFOUND);
	T_EQ_INT(wh_read(wh, hash, 0, data, 10, &got), WH_ERR_NOTFOUND);
	T_EQ_INT(wh_delete(wh, hash), WH_ERR_NOTFOUND);
	T_EQ_INT(wh_merkle(wh, hash, 0, NULL, NULL, 0, NULL), WH_ERR_NOTFOUND);
	/* The other file is untouched. */
	T_EQ_INT(wh_stat(wh, keep, &size), WH_OK);
	T_EQ_U64(size, 1000);
	T_EQ_INT(stored_count(wh), 1);
	/* Stored again after delete: a fresh file, not a dedup. */
	{
		int dedup = -1;
		T_EQ_INT(put(wh, data, SIZE, 0, 65536, hash, &dedup), WH_OK);
		T_EQ_INT(dedup, 0);
		path_of(root, hash, ".merkle", path, sizeof(path));
		T_EQ_INT(lstat(path, &st), 0);
	}
	wh_close(wh);
}

static int
read_file(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	FILE *f;

	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fstat(fileno(f), &st) == -1 || (*out = malloc((size_t)st.st_size + 1)) == NULL ||
	    fread(*out, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fclose(f);
		return -1;
	}
	*len = (size_t)st.st_size;
	fclose(f);
	return 0;
}

/*
 * One tree of merkle.json checked against a warehouse: file hash, no
 * companion or the exact companion bytes, wh_merkle's root and the proofs.
 */
static int
check_tree(struct wh *wh, const char *root, json_t *tree, uint64_t expected,
    char *why, size_t whylen)
{
	uint64_t size = tvec_u64(tree, "file_size"), count;
	uint8_t *data, hash[32], want[32], proof[33 * 64], *comp = NULL;
	uint8_t exp_hash[32], vh[33];
	struct wh_merkle_info info;
	json_t *ver, *vhs, *e;
	char path[700];
	size_t complen, prooflen, i, j;
	int rc;

	if ((data = malloc(size + 1)) == NULL)
		return -1;
	tvec_pattern(data, size);
	rc = put(wh, data, size, expected, 100000, hash, NULL);
	free(data);
	if (rc != WH_OK)
		return snprintf(why, whylen, "put: %s", wh_strerror(rc)), -1;
	if (tvec_unhex(tvec_str(tree, "file_hash_blake3"), want, 32) != 0 ||
	    memcmp(hash, want, 32) != 0)
		return snprintf(why, whylen, "file hash differs"), -1;
	path_of(root, hash, ".merkle", path, sizeof(path));
	if (size <= WH_SMALL_FILE_MAX) {
		if (access(path, F_OK) == 0)
			return snprintf(why, whylen, "companion for a small file"), -1;
	} else {
		if (read_file(path, &comp, &complen) != 0)
			return snprintf(why, whylen, "no companion"), -1;
		blake3_hash(comp, complen, exp_hash);
		free(comp);
		if (complen != tvec_u64(tree, "export_length"))
			return snprintf(why, whylen, "companion %zu bytes", complen), -1;
		if (tvec_unhex(tvec_str(tree, "export_blake3"), want, 32) != 0 ||
		    memcmp(exp_hash, want, 32) != 0)
			return snprintf(why, whylen, "companion bytes differ"), -1;
	}
	if ((rc = wh_merkle(wh, hash, 0, &info, NULL, 0, NULL)) != WH_OK)
		return snprintf(why, whylen, "wh_merkle: %s", wh_strerror(rc)), -1;
	count = tvec_u64(tree, "fragment_count");
	if (tvec_unhex(tvec_str(tree, "root_hash"), want, 32) != 0 ||
	    memcmp(info.root, want, 32) != 0 || info.file_size != size ||
	    info.fragment_size != 262144 || info.fragment_count != count)
		return snprintf(why, whylen, "merkle info differs"), -1;
	ver = json_object_get(tree, "verifications");
	json_array_foreach(ver, i, e) {
		uint64_t idx = tvec_u64(e, "fragment");
		vhs = json_object_get(e, "verification_hashes");
		rc = wh_merkle(wh, hash, idx, &info, proof, sizeof(proof), &prooflen);
		if (rc != WH_OK)
			return snprintf(why, whylen, "proof %" PRIu64 ": %s", idx,
			    wh_strerror(rc)), -1;
		if (prooflen != json_array_size(vhs) * 33)
			return snprintf(why, whylen, "proof %" PRIu64 " length %zu",
			    idx, prooflen), -1;
		for (j = 0; j < json_array_size(vhs); j++) {
			const char *s = json_string_value(json_array_get(vhs, j));
			if (s == NULL || hex_decode(vh, 33, s) != 33 ||
			    memcmp(vh, proof + 33 * j, 33) != 0)
				return snprintf(why, whylen, "proof %" PRIu64
				    " entry %zu differs", idx, j), -1;
		}
	}
	if (count > 0 && wh_merkle(wh, hash, count, &info, proof, sizeof(proof),
	    &prooflen) != WH_ERR_INDEX)
		return snprintf(why, whylen, "index past the end accepted"), -1;
	return 0;
}

/*
 * wh_write_hash: the BLAKE3 of what was written so far, at any point and
 * with the size announced, unknown or announced too small (demoted), and
 * the same hash the commit files it under.
 */
static void
test_write_hash_is_blake3_of_bytes_so_far(void)
{
	const uint64_t len = 3 * 262144 + 777;
	const uint64_t announce[3] = { 3 * 262144 + 777, 0, 262144 + 1 };
	struct wh_writer *w;
	char root[512];
	struct wh *wh;
	uint8_t *data, got[32], want[32], h[32];
	uint64_t off, size;
	size_t n, m;
	int dd;

	if ((wh = fresh("writehash", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	data = malloc(len);
	T_ASSERT(data != NULL);
	T_EQ_INT(wh_write_hash(NULL, got), WH_ERR_ARG);
	for (m = 0; m < 3; m++) {
		t_rnd_hi(t_xorshift, &rng_state, data, len);
		T_EQ_INT(wh_write_begin(wh, announce[m], &w), WH_OK);
		T_EQ_INT(wh_write_hash(w, got), WH_OK);
		blake3_hash("", 0, want);
		T_EQ_MEM(got, want, 32);
		for (off = 0; off < len; off += n) {
			n = (size_t)(t_xorshift(&rng_state) % 300000);
			if (n > len - off)
				n = (size_t)(len - off);
			T_EQ_INT(wh_write_data(w, data + off, n), WH_OK);
			T_EQ_INT(wh_write_hash(w, got), WH_OK);
			blake3_hash(data, (size_t)(off + n), want);
			if (memcmp(got, want, 32) != 0) {
				wh_write_abort(w);
				free(data);
				wh_close(wh);
				T_FAIL("announced %" PRIu64 ": hash after %" PRIu64
				    " bytes", announce[m], off + n);
			}
		}
		T_EQ_INT(wh_write_commit(w, h, &size, &dd), WH_OK);
		T_EQ_MEM(h, want, 32);
		T_EQ_U64(size, len);
	}
	free(data);
	wh_close(wh);
}

static void
test_companions_match_reference_trees(void)
{
	/* Announced size; unknown; announced too small; announced too large. */
	const uint64_t delta[4] = { 0, 1, 2, 3 };
	json_t *v, *trees, *tree;
	char root[512], name[32], why[200];
	struct wh *wh;
	size_t i, m, checked = 0;
	uint64_t size, expected;

	T_VECTORS(v, "merkle.json");
	trees = json_object_get(v, "trees");
	T_EQ_INT(json_array_size(trees), 10);
	for (m = 0; m < 4; m++) {
		snprintf(name, sizeof(name), "trees%zu", m);
		if ((wh = fresh(name, root, sizeof(root))) == NULL) {
			json_decref(v);
			T_FAIL("wh_open");
		}
		json_array_foreach(trees, i, tree) {
			size = tvec_u64(tree, "file_size");
			switch (delta[m]) {
			case 0: expected = size; break;
			case 1: expected = 0; break;
			case 2: expected = size / 2; break;
			default: expected = size + 300000; break;
			}
			if (check_tree(wh, root, tree, expected, why, sizeof(why)) != 0) {
				snprintf(name, sizeof(name), "%s", tvec_str(tree, "name"));
				wh_close(wh);
				json_decref(v);
				T_FAIL("%s (expected size %" PRIu64 "): %s", name,
				    expected, why);
			}
			checked++;
		}
		T_EQ_INT(temp_count(root), 0);
		wh_close(wh);
	}
	json_decref(v);
	T_EQ_U64(checked, 40);
}

static void
test_missing_companion_rebuilt_and_damaged_one_refused(void)
{
	enum { SIZE = 786437 };
	static uint8_t data[SIZE];
	struct wh_merkle_info a, b;
	uint8_t hash[32], proof[33 * 64];
	char root[512], path[700];
	struct stat st;
	struct wh *wh;
	size_t prooflen;
	int fd, dedup;

	if ((wh = fresh("rebuild", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	tvec_pattern(data, SIZE);
	T_EQ_INT(put(wh, data, SIZE, SIZE, 65536, hash, NULL), WH_OK);
	T_EQ_INT(wh_merkle(wh, hash, 0, &a, NULL, 0, NULL), WH_OK);
	T_EQ_U64(a.fragment_count, 4);
	path_of(root, hash, ".merkle", path, sizeof(path));
	/* Crash between rename and companion: wh_merkle rebuilds it. */
	T_EQ_INT(unlink(path), 0);
	T_EQ_INT(wh_merkle(wh, hash, 3, &b, proof, sizeof(proof), &prooflen), WH_OK);
	T_EQ_MEM(b.root, a.root, 32);
	T_EQ_U64(prooflen, 2 * 33);
	T_EQ_INT(lstat(path, &st), 0);
	T_EQ_U64(st.st_size, 240);
	/* A dedup'd create also restores a missing companion. */
	T_EQ_INT(unlink(path), 0);
	T_EQ_INT(put(wh, data, SIZE, SIZE, 65536, hash, &dedup), WH_OK);
	T_EQ_INT(dedup, 1);
	T_EQ_INT(lstat(path, &st), 0);
	T_EQ_U64(st.st_size, 240);
	/* Truncated companion: refused, not served. */
	T_EQ_INT(truncate(path, 200), 0);
	T_EQ_INT(wh_merkle(wh, hash, 0, &b, NULL, 0, NULL), WH_ERR_MERKLE_INVALID);
	/* Header claiming another size: refused. */
	T_EQ_INT(wh_merkle_rebuild(wh, hash), WH_OK);
	T_ASSERT((fd = open(path, O_WRONLY)) >= 0);
	T_EQ_INT(pwrite(fd, "\x06", 1, 0), 1);
	close(fd);
	T_EQ_INT(wh_merkle(wh, hash, 0, &b, NULL, 0, NULL), WH_ERR_MERKLE_INVALID);
	T_EQ_INT(wh_merkle_rebuild(wh, hash), WH_OK);
	T_EQ_INT(wh_merkle(wh, hash, 0, &b, NULL, 0, NULL), WH_OK);
	T_EQ_MEM(b.root, a.root, 32);
	/* Proof buffer too small. */
	T_EQ_INT(wh_merkle(wh, hash, 0, &b, proof, 33, &prooflen), WH_ERR_NOSPACE);
	wh_close(wh);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Chunk k of the big file (1 MiB): zero except every 64th chunk and the
 * chunks around 4 GiB, which hold the pattern with k stamped in front.
 */
static int
big_chunk_is_data(uint64_t k)
{
	return k % 64 == 0 || (k >= 4095 && k <= 4097) || k == 5119;
}

static void
big_chunk(uint8_t *buf, const uint8_t *pattern, uint64_t k)
{
	if (big_chunk_is_data(k)) {
		memcpy(buf, pattern, MIB);
		memcpy(buf, &k, sizeof(k));
	} else
		memset(buf, 0, MIB);
}

static void
test_sparse_file_beyond_4gib_streams_and_reads(void)
{
	const uint64_t chunks = 5120;	/* 5 GiB */
	const uint64_t size = chunks * MIB;
	struct wh_merkle_info info;
	struct wh_writer *w;
	blake3_hasher h;
	uint8_t *buf, *pattern, *back, hash[32], want[32], proof[33 * 64];
	uint64_t k, got_size, off, foff, flen;
	const uint64_t offs[] = { 4 * GIB - 5, 4 * GIB, 4 * GIB + 12345,
	    4095 * MIB + 17, 5119 * MIB + 9, size - 1, 4100 * MIB + 3 };
	char root[512], path[700];
	struct stat st;
	struct wh *wh;
	double t0, t;
	size_t got, i;
	int dedup;

	/* ~8 s normally; ASan's instrumented BLAKE3 makes it ~90 s. */
	if (getenv("PEERNET_SAN") != NULL && getenv("PEERNET_SLOW_TESTS") == NULL)
		T_SKIP("5 GiB of hashing takes ~90 s under ASan: set PEERNET_SLOW_TESTS=1");
	if ((wh = fresh("big", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	buf = malloc(MIB);
	pattern = malloc(MIB);
	back = malloc(8 * MIB);
	T_ASSERT(buf != NULL && pattern != NULL && back != NULL);
	tvec_pattern(pattern, MIB);
	blake3_hasher_init(&h);
	t0 = now();
	T_EQ_INT(wh_write_begin(wh, size, &w), WH_OK);
	for (k = 0; k < chunks; k++) {
		big_chunk(buf, pattern, k);
		blake3_hasher_update(&h, buf, MIB);
		if (wh_write_data(w, buf, MIB) != WH_OK) {
			wh_write_abort(w);
			T_FAIL("write chunk %" PRIu64, k);
		}
	}
	T_EQ_INT(wh_write_commit(w, hash, &got_size, &dedup), WH_OK);
	t = now() - t0;
	fprintf(stderr, "# 5 GiB sparse create (hashing x2 + test's own hash): %.1f s\n", t);
	blake3_hasher_finalize(&h, want, 32);
	T_EQ_MEM(hash, want, 32);
	T_EQ_U64(got_size, size);
	T_ASSERT(got_size > 4 * GIB);
	path_of(root, hash, "", path, sizeof(path));
	T_EQ_INT(stat(path, &st), 0);
	T_EQ_U64(st.st_size, size);
	/* Holes: about 1/64 of the file is data. */
	T_ASSERT((uint64_t)st.st_blocks * 512 < size / 16);

	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		off = offs[i];
		T_EQ_INT(wh_read(wh, hash, off, back, 4096, &got), WH_OK);
		T_EQ_U64(got, size - off < 4096 ? size - off : 4096);
		/* Expected bytes, chunk by chunk (a read may cross a chunk). */
		for (k = off / MIB; k * MIB < off + got; k++) {
			uint64_t lo = k * MIB > off ? k * MIB : off;
			uint64_t hi = (k + 1) * MIB < off + got ? (k + 1) * MIB : off + got;
			big_chunk(buf, pattern, k);
			T_EQ_MEM(back + (lo - off), buf + (lo - k * MIB), hi - lo);
		}
	}
	T_EQ_INT(wh_read(wh, hash, size, back, 10, &got), WH_OK);
	T_EQ_U64(got, 0);

	/* Companion: 8 MiB fragments (§4.1); a fragment past 4 GiB verifies. */
	T_EQ_INT(wh_merkle(wh, hash, 0, &info, NULL, 0, NULL), WH_OK);
	T_EQ_U64(info.fragment_size, 8 * MIB);
	T_EQ_U64(info.fragment_count, 640);
	for (k = 511; k <= 639; k += 128) {
		size_t prooflen;
		T_EQ_INT(wh_merkle(wh, hash, k, &info, proof, sizeof(proof), &prooflen), WH_OK);
		T_EQ_INT(merkle_fragment_range(size, info.fragment_size, k, &foff, &flen), 0);
		T_EQ_INT(wh_read(wh, hash, foff, back, (size_t)flen, &got), WH_OK);
		T_EQ_U64(got, flen);
		T_EQ_INT(merkle_verify_fragment(info.root, info.fragment_count, k,
		    back, got, proof, prooflen), MERKLE_OK);
		back[got - 1] ^= 1;
		T_EQ_INT(merkle_verify_fragment(info.root, info.fragment_count, k,
		    back, got, proof, prooflen), MERKLE_ERR_MISMATCH);
	}
	free(buf);
	free(pattern);
	free(back);
	T_EQ_INT(wh_delete(wh, hash), WH_OK);
	wh_close(wh);
}

static void
test_abort_leaves_no_file_and_no_temp(void)
{
	uint8_t data[70000];
	struct wh_writer *w;
	char root[512];
	struct wh *wh;

	if ((wh = fresh("abort", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	t_rnd_hi(t_xorshift, &rng_state, data, sizeof(data));
	T_EQ_INT(wh_write_begin(wh, sizeof(data), &w), WH_OK);
	T_EQ_INT(wh_write_data(w, data, sizeof(data) / 2), WH_OK);
	T_EQ_INT(temp_count(root), 1);
	wh_write_abort(w);
	T_EQ_INT(temp_count(root), 0);
	T_EQ_INT(stored_count(wh), 0);
	wh_write_abort(NULL);
	T_EQ_INT(wh_write_data(NULL, data, 1), WH_ERR_ARG);
	wh_close(wh);
}

static void
test_killed_writer_leaves_only_temp_removed_by_next_open(void)
{
	char root[512], err[200], c;
	int pfd[2], status, n;
	struct wh *wh;
	pid_t pid;

	if ((wh = fresh("kill", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	wh_close(wh);
	T_EQ_INT(pipe(pfd), 0);
	if ((pid = fork()) == 0) {
		static uint8_t data[MIB];
		struct wh_writer *w;
		int i;

		close(pfd[0]);
		if (wh_open(&wh, root, err, sizeof(err)) != WH_OK ||
		    wh_write_begin(wh, 0, &w) != WH_OK)
			_exit(1);
		t_rnd_hi(t_xorshift, &rng_state, data, sizeof(data));
		for (i = 0; i < 5; i++)
			if (wh_write_data(w, data, sizeof(data)) != WH_OK)
				_exit(1);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		for (;;) {	/* still writing when killed */
			if (wh_write_data(w, data, 4096) != WH_OK)
				_exit(1);
			usleep(1000);
		}
	}
	T_ASSERT(pid > 0);
	close(pfd[1]);
	n = (int)read(pfd[0], &c, 1);
	close(pfd[0]);
	kill(pid, SIGKILL);
	T_EQ_INT(waitpid(pid, &status, 0), pid);
	T_EQ_INT(n, 1);
	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Only the temp file exists; nothing under a hash name. */
	T_EQ_INT(temp_count(root), 1);
	T_EQ_INT(wh_open(&wh, root, err, sizeof(err)), WH_OK);
	T_EQ_INT(temp_count(root), 0);
	T_EQ_INT(stored_count(wh), 0);
	wh_close(wh);
}

struct vres {
	int		 n;
	uint8_t		 hash[4][32];
	char		 why[4][100];
	uint64_t	 last_done;
	uint64_t	 last_total;
	int		 calls;
	int		 backwards;
};

static void
v_bad(void *arg, const uint8_t hash[32], const char *why)
{
	struct vres *r = arg;

	if (r->n < 4) {
		memcpy(r->hash[r->n], hash, 32);
		snprintf(r->why[r->n], sizeof(r->why[0]), "%s", why);
	}
	r->n++;
}

static void
v_progress(void *arg, uint64_t done, uint64_t total)
{
	struct vres *r = arg;

	if (done < r->last_done)
		r->backwards = 1;
	r->last_done = done;
	r->last_total = total;
	r->calls++;
}

static void
flip_byte(const char *path, off_t off)
{
	uint8_t b;
	int fd = open(path, O_RDWR);

	if (fd < 0 || pread(fd, &b, 1, off) != 1)
		abort();
	b ^= 0x40;
	if (pwrite(fd, &b, 1, off) != 1)
		abort();
	close(fd);
}

static void
test_verify_finds_flipped_data_byte_and_damaged_companion(void)
{
	static uint8_t data[20 * MIB];
	uint8_t a[32], b[32], c[32], d[32], missing[32];
	char root[512], path[700];
	struct vres r;
	struct wh *wh;
	uint64_t files, bad;

	if ((wh = fresh("verify", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	t_rnd_hi(t_xorshift, &rng_state, data, sizeof(data));
	T_EQ_INT(put(wh, data, 5000, 0, 65536, a, NULL), WH_OK);
	T_EQ_INT(put(wh, data + 1, 300000, 0, 65536, b, NULL), WH_OK);
	T_EQ_INT(put(wh, data + 2, 600000, 600000, 65536, c, NULL), WH_OK);
	T_EQ_INT(put(wh, data + 3, 20 * MIB - 3, 0, MIB, d, NULL), WH_OK);

	memset(&r, 0, sizeof(r));
	T_EQ_INT(wh_verify(wh, NULL, v_bad, v_progress, &r, &files, &bad), WH_OK);
	T_EQ_U64(files, 4);
	T_EQ_U64(bad, 0);
	T_EQ_INT(r.n, 0);
	T_EQ_U64(r.last_total, 5000 + 300000 + 600000 + 20 * MIB - 3);
	T_EQ_U64(r.last_done, r.last_total);
	T_ASSERT(r.calls >= 5);		/* 4 files + at least one 16 MiB step */
	T_EQ_INT(r.backwards, 0);

	/* A byte altered behind the warehouse's back. */
	path_of(root, a, "", path, sizeof(path));
	flip_byte(path, 4321);
	/* A companion hash altered. */
	path_of(root, c, ".merkle", path, sizeof(path));
	flip_byte(path, 48 + 32 + 5);
	/* A companion cut short. */
	path_of(root, b, ".merkle", path, sizeof(path));
	T_EQ_INT(truncate(path, 100), 0);

	memset(&r, 0, sizeof(r));
	T_EQ_INT(wh_verify(wh, NULL, v_bad, v_progress, &r, &files, &bad), WH_OK);
	T_EQ_U64(files, 4);
	T_EQ_U64(bad, 3);
	T_EQ_INT(r.n, 3);
	T_EQ_U64(r.last_done, r.last_total);
	{
		int seen_a = 0, seen_b = 0, seen_c = 0, i;
		for (i = 0; i < 3; i++) {
			if (memcmp(r.hash[i], a, 32) == 0) {
				seen_a++;
				T_EQ_STR(r.why[i], "content does not match its hash");
			} else if (memcmp(r.hash[i], b, 32) == 0) {
				seen_b++;
				T_EQ_STR(r.why[i], "merkle companion has the wrong length");
			} else if (memcmp(r.hash[i], c, 32) == 0) {
				seen_c++;
				T_EQ_STR(r.why[i], "merkle companion does not match the data");
			}
		}
		T_EQ_INT(seen_a + 10 * seen_b + 100 * seen_c, 111);
	}
	/* One file only; a missing companion; rebuilding repairs. */
	path_of(root, d, ".merkle", path, sizeof(path));
	T_EQ_INT(unlink(path), 0);
	memset(&r, 0, sizeof(r));
	T_EQ_INT(wh_verify(wh, d, v_bad, v_progress, &r, &files, &bad), WH_OK);
	T_EQ_U64(files, 1);
	T_EQ_U64(bad, 1);
	T_EQ_STR(r.why[0], "merkle companion missing");
	T_EQ_U64(r.last_done, 20 * MIB - 3);
	T_EQ_U64(r.last_total, 20 * MIB - 3);
	T_EQ_INT(wh_merkle_rebuild(wh, d), WH_OK);
	T_EQ_INT(wh_merkle_rebuild(wh, c), WH_OK);
	T_EQ_INT(wh_merkle_rebuild(wh, b), WH_OK);
	/* The damaged data file cannot get a tree: its bytes are wrong. */
	T_EQ_INT(wh_merkle_rebuild(wh, a), WH_OK);	/* small: no companion */
	T_EQ_INT(wh_verify(wh, NULL, NULL, NULL, NULL, &files, &bad), WH_OK);
	T_EQ_U64(bad, 1);
	T_EQ_INT(wh_delete(wh, a), WH_OK);
	T_EQ_INT(wh_verify(wh, NULL, NULL, NULL, NULL, &files, &bad), WH_OK);
	T_EQ_U64(files, 3);
	T_EQ_U64(bad, 0);
	memcpy(missing, a, 32);
	T_EQ_INT(wh_verify(wh, missing, NULL, NULL, NULL, &files, &bad), WH_ERR_NOTFOUND);
	/* A big file whose data was damaged: no companion is built from it. */
	path_of(root, c, "", path, sizeof(path));
	flip_byte(path, 400000);
	T_EQ_INT(wh_merkle_rebuild(wh, c), WH_ERR_MERKLE);
	wh_close(wh);
}

static void
test_symlinks_and_fifos_in_tree_are_not_followed(void)
{
	const char secret[] = "outside the warehouse";
	uint8_t hash[32], hash2[32], back[64], got_hash[32];
	char root[512], outside[600], path[700], target[700], hex[65];
	struct collect c;
	static uint8_t seen[8][32];
	static uint64_t seen_size[8];
	struct stat st;
	struct wh *wh;
	uint64_t size;
	size_t got;
	FILE *f;

	if ((wh = fresh("symlink", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	snprintf(outside, sizeof(outside), "%s/symlink/outside", base);
	T_EQ_INT(mkdir(outside, 0700), 0);
	snprintf(target, sizeof(target), "%s/secret", outside);
	T_ASSERT((f = fopen(target, "w")) != NULL);
	fputs(secret, f);
	fclose(f);

	/* (a) A symlink under the very hash name of the outside file's bytes. */
	blake3_hash(secret, strlen(secret), hash);
	path_of(root, hash, "", path, sizeof(path));
	path[strlen(root) + 5] = '\0';
	T_EQ_INT(mkdir(path, 0700), 0);
	path[strlen(root) + 5] = '/';
	path[strlen(root) + 10] = '\0';
	T_EQ_INT(mkdir(path, 0700), 0);
	path[strlen(root) + 10] = '/';
	T_EQ_INT(symlink(target, path), 0);
	T_EQ_INT(wh_read(wh, hash, 0, back, sizeof(back), &got), WH_ERR_NOTFOUND);
	T_EQ_INT(wh_stat(wh, hash, &size), WH_ERR_NOTFOUND);
	T_EQ_INT(wh_delete(wh, hash), WH_ERR_NOTFOUND);
	T_EQ_INT(lstat(path, &st), 0);		/* left alone */
	T_EQ_INT(stored_count(wh), 0);

	/* (b) A level-1 symlink to a directory of the right shape outside. */
	blake3_hash("b", 1, hash2);
	hex_encode(hex, hash2, 32);
	snprintf(path, sizeof(path), "%s/%.4s", outside, hex + 4);
	T_EQ_INT(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/%.4s/%s", outside, hex + 4, hex + 8);
	T_ASSERT((f = fopen(path, "w")) != NULL);
	fputs("b", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%.4s", root, hex);
	T_EQ_INT(symlink(outside, path), 0);
	T_EQ_INT(wh_read(wh, hash2, 0, back, sizeof(back), &got), WH_ERR_NOTFOUND);
	T_EQ_INT(wh_stat(wh, hash2, &size), WH_ERR_NOTFOUND);
	T_EQ_INT(wh_delete(wh, hash2), WH_ERR_NOTFOUND);
	memset(&c, 0, sizeof(c));
	c.hashes = seen;
	c.sizes = seen_size;
	c.cap = 8;
	T_EQ_INT(wh_foreach(wh, collect_cb, &c), WH_OK);
	T_EQ_U64(c.n, 0);
	T_EQ_INT(wh_verify(wh, NULL, NULL, NULL, NULL, &size, NULL), WH_OK);
	T_EQ_U64(size, 0);
	/* Creating into the symlinked level is refused, nothing lands outside. */
	T_EQ_INT(put(wh, "b", 1, 0, 1, got_hash, NULL), WH_ERR_MKDIR);
	T_EQ_INT(temp_count(root), 0);

	/* (a) again: storing the real bytes replaces the link, not its target. */
	T_EQ_INT(put(wh, secret, strlen(secret), 0, 4, got_hash, NULL), WH_OK);
	T_EQ_MEM(got_hash, hash, 32);
	path_of(root, hash, "", path, sizeof(path));
	T_EQ_INT(lstat(path, &st), 0);
	T_ASSERT(S_ISREG(st.st_mode));
	T_EQ_INT(lstat(target, &st), 0);
	T_EQ_U64(st.st_size, strlen(secret));
	T_EQ_INT(wh_delete(wh, hash), WH_OK);
	T_EQ_INT(lstat(target, &st), 0);	/* the outside file survives */

	/* (c) A FIFO under a hash name: not found, and the open does not block. */
	blake3_hash("fifo", 4, hash);
	T_EQ_INT(put(wh, "fifo", 4, 0, 4, hash, NULL), WH_OK);
	path_of(root, hash, "", path, sizeof(path));
	T_EQ_INT(unlink(path), 0);
	T_EQ_INT(mkfifo(path, 0600), 0);
	T_EQ_INT(wh_read(wh, hash, 0, back, sizeof(back), &got), WH_ERR_NOTFOUND);
	T_EQ_INT(wh_stat(wh, hash, &size), WH_ERR_NOTFOUND);
	T_EQ_INT(stored_count(wh), 0);
	wh_close(wh);
}

static void
test_open_removes_only_stale_temp_files(void)
{
	char root[512], path[700], err[200];
	struct wh *wh;
	FILE *f;

	if ((wh = fresh("stale", root, sizeof(root))) == NULL)
		T_FAIL("wh_open");
	wh_close(wh);
	snprintf(path, sizeof(path), "%s/_Temp/wh0123456789abcdef", root);
	T_ASSERT((f = fopen(path, "w")) != NULL);
	fclose(f);
	snprintf(path, sizeof(path), "%s/_Temp/keep", root);
	T_ASSERT((f = fopen(path, "w")) != NULL);
	fclose(f);
	T_EQ_INT(temp_count(root), 2);
	T_EQ_INT(wh_open(&wh, root, err, sizeof(err)), WH_OK);
	T_EQ_INT(temp_count(root), 1);
	T_EQ_INT(access(path, F_OK), 0);
	wh_close(wh);
	/* A root that cannot be made: an error with a message. */
	snprintf(path, sizeof(path), "%s/_Temp/keep/below", root);
	err[0] = '\0';
	T_EQ_INT(wh_open(&wh, path, err, sizeof(err)), WH_ERR_ROOT);
	T_ASSERT(strstr(err, "keep/below") != NULL);
}

static void
test_status_codes_mirror_spec(void)
{
	T_EQ_INT(wh_status(WH_OK), 0);
	T_EQ_INT(wh_status(WH_ERR_TEMP_CREATE), 1);
	T_EQ_INT(wh_status(WH_ERR_TEMP_WRITE), 2);
	T_EQ_INT(wh_status(WH_ERR_RENAME), 4);
	T_EQ_INT(wh_status(WH_ERR_MKDIR), 5);
	T_EQ_INT(wh_status(WH_ERR_NOTFOUND), 9);
	T_EQ_INT(wh_status(WH_ERR_DELETE), 10);
	T_EQ_INT(wh_status(WH_ERR_READ), 11);
	T_EQ_INT(wh_status(WH_ERR_MERKLE), 15);
	T_EQ_INT(wh_status(WH_ERR_MERKLE_INVALID), 16);
	T_EQ_INT(wh_status(WH_ERR_ARG), 8);
	T_EQ_STR(wh_strerror(WH_ERR_NOTFOUND), "file not found");
	T_EQ_STR(wh_strerror(WH_ERR_MERKLE_INVALID), "invalid merkle companion file");
	T_EQ_STR(wh_strerror(12345), "unknown warehouse error");
}

int
main(int argc, char **argv)
{
	(void)argc;
	t_set_suite(argv[0]);
	snprintf(base, sizeof(base), "%s/wh-test-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_create_empty_one_byte_and_small_at_reference_path);
	T_RUN(test_hash_matches_b3sum_on_stored_files);
	T_RUN(test_same_content_twice_is_one_file_deduplicated);
	T_RUN(test_adopt_moves_a_part_file_in_with_its_companion);
	T_RUN(test_thousand_files_enumerated_exactly_and_read_back);
	T_RUN(test_reads_at_offsets_and_past_end);
	T_RUN(test_zero_runs_become_holes_and_read_back_as_zeros);
	T_RUN(test_damaged_file_of_wrong_size_is_replaced_not_deduplicated);
	T_RUN(test_delete_removes_data_companion_and_empty_levels);
	T_RUN(test_companions_match_reference_trees);
	T_RUN(test_write_hash_is_blake3_of_bytes_so_far);
	T_RUN(test_missing_companion_rebuilt_and_damaged_one_refused);
	T_RUN(test_sparse_file_beyond_4gib_streams_and_reads);
	T_RUN(test_abort_leaves_no_file_and_no_temp);
	T_RUN(test_killed_writer_leaves_only_temp_removed_by_next_open);
	T_RUN(test_verify_finds_flipped_data_byte_and_damaged_companion);
	T_RUN(test_symlinks_and_fifos_in_tree_are_not_followed);
	T_RUN(test_open_removes_only_stale_temp_files);
	T_RUN(test_status_codes_mirror_spec);
	rm_rf(base);
	snprintf(base, sizeof(base), "/dev/shm/wh-test-%d", (int)getpid());
	rm_rf(base);	/* left by a failed test_thousand_files_* */
	return t_done();
}
