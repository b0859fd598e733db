/*
 * warehouse.c — content-addressed file store (docs/data.md §5) with merkle
 * companion files (§4.4).  See warehouse.h for the layout and guarantees.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blake3.h"
#include "diskq.h"
#include "hex.h"
#include "merkle.h"
#include "warehouse.h"

_Static_assert(sizeof(off_t) == 8, "64-bit file offsets required");

#define IO_CHUNK	(1024 * 1024)
/* Zero blocks of this size (aligned in the file) become holes. */
#define ZERO_BLOCK	4096
#define TEMP_PREFIX	"wh"
#define TEMP_NAME_LEN	19		/* "wh" + 16 hex + NUL */
#define MERKLE_SUFFIX	".merkle"
#define PROGRESS_STEP	(16ULL * 1024 * 1024)
/*
 * A companion larger than this is not built while streaming (the announced
 * size could be a lie from a peer process): the second pass sizes it from
 * the file actually stored.  16 MiB covers files up to ~16 TiB.
 */
#define INLINE_EXPORT_MAX (16U * 1024 * 1024)
#define DIR_MODE	0700
#define FILE_MODE	0600
#define DIR_FLAGS	(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
/* O_NONBLOCK: a FIFO planted under a hash name must not block the open. */
#define DATA_FLAGS	(O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)

struct wh {
	int	rootfd;
	int	tempfd;
};

struct wh_writer {
	struct wh		*wh;
	int			 fd;
	char			 temp[TEMP_NAME_LEN];
	uint64_t		 size;
	uint64_t		 expected;
	int			 err;		/* sticky */
	int			 building;	/* mb in use, else hasher */
	blake3_hasher		 hasher;
	struct merkle_builder	 mb;
	uint8_t			*exp;
	size_t			 explen;
};

/* Names of a hash's entries: level 1, level 2, data file, companion. */
struct names {
	char	l1[5];
	char	l2[5];
	char	file[57];
	char	merkle[57 + sizeof(MERKLE_SUFFIX) - 1];
};

struct prog {
	void		(*fn)(void *, uint64_t, uint64_t);
	void		*arg;
	uint64_t	 done;
	uint64_t	 total;
	uint64_t	 last;
};

static const uint8_t zero_block[ZERO_BLOCK];

const char *
wh_strerror(int err)
{
	switch (err) {
	case WH_OK:			return "ok";
	case WH_ERR_TEMP_CREATE:	return "error creating temp file";
	case WH_ERR_TEMP_WRITE:		return "error writing temp file";
	case WH_ERR_TEMP_CLOSE:		return "error closing temp file";
	case WH_ERR_RENAME:		return "error renaming temp file";
	case WH_ERR_MKDIR:		return "error creating target directory";
	case WH_ERR_OPEN:		return "error opening file";
	case WH_ERR_HASH:		return "invalid hash";
	case WH_ERR_NOTFOUND:		return "file not found";
	case WH_ERR_DELETE:		return "error deleting file";
	case WH_ERR_READ:		return "error reading file";
	case WH_ERR_MERKLE:		return "error creating merkle tree";
	case WH_ERR_MERKLE_INVALID:	return "invalid merkle companion file";
	case WH_ERR_ARG:		return "invalid argument";
	case WH_ERR_NOMEM:		return "out of memory";
	case WH_ERR_ROOT:		return "cannot open warehouse root";
	case WH_ERR_INDEX:		return "fragment index out of range";
	case WH_ERR_NOSPACE:		return "proof buffer too small";
	case WH_ERR_CHANGED:		return "file changed size while being read";
	}
	return "unknown warehouse error";
}

int
wh_status(int err)
{
	if (err <= 0 && err >= WH_ERR_MERKLE_INVALID)
		return -err;
	switch (err) {
	case WH_ERR_ARG:	return 8;
	case WH_ERR_NOMEM:	return 2;
	case WH_ERR_ROOT:	return 5;
	default:		return 11;	/* INDEX, NOSPACE, CHANGED: reading */
	}
}

static void
names_of(const uint8_t hash[WH_HASH_BYTES], struct names *n)
{
	char hex[2 * WH_HASH_BYTES + 1];

	hex_encode(hex, hash, WH_HASH_BYTES);
	memcpy(n->l1, hex, 4);
	n->l1[4] = '\0';
	memcpy(n->l2, hex + 4, 4);
	n->l2[4] = '\0';
	memcpy(n->file, hex + 8, 57);
	memcpy(n->merkle, n->file, 56);
	memcpy(n->merkle + 56, MERKLE_SUFFIX, sizeof(MERKLE_SUFFIX));
}

void
wh_relpath(const uint8_t hash[WH_HASH_BYTES], char out[WH_RELPATH_LEN])
{
	struct names n;

	names_of(hash, &n);
	snprintf(out, WH_RELPATH_LEN, "%s/%s/%s", n.l1, n.l2, n.file);
}

/* Lowercase hex only: those are the only names wh_* ever resolves. */
static int
is_hex_name(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[len] == '\0';
}

static int
missing_or(int e, int other)
{
	return e == ENOENT || e == ENOTDIR || e == ELOOP ? WH_ERR_NOTFOUND : other;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int
pwrite_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	ssize_t r;

	while (len > 0) {
		r = pwrite(fd, p, len, (off_t)off);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Reads up to len bytes at off, fewer only at end of file. */
static int
pread_full(int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
	size_t n = 0;
	ssize_t r;

	*got = 0;
	if (off > (uint64_t)INT64_MAX)
		return 0;
	if (len > (uint64_t)INT64_MAX - off)
		len = (size_t)((uint64_t)INT64_MAX - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (n < len) {
		r = pread(fd, (uint8_t *)buf + n, len - n, (off_t)(off + n));
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

/*
 * Opens the two level directories of n (creating them when create is set),
 * never following a symlink.  A concurrent wh_delete may remove an empty
 * level between our mkdir and open: that is retried.
 */
static int
levels_open(struct wh *wh, const struct names *n, int create, int *l1p, int *l2p)
{
	int l1, l2, e, tries;

	for (tries = 0; tries < 4; tries++) {
		if (create) {
			if (mkdirat(wh->rootfd, n->l1, DIR_MODE) == 0) {
				/* A new directory is durable once its parent is synced. */
				if (fsync(wh->rootfd) == -1)
					return WH_ERR_MKDIR;
			} else if (errno != EEXIST)
				return WH_ERR_MKDIR;
		}
		if ((l1 = openat(wh->rootfd, n->l1, DIR_FLAGS)) == -1) {
			if (create && errno == ENOENT)
				continue;
			return create ? WH_ERR_MKDIR : missing_or(errno, WH_ERR_OPEN);
		}
		if (create) {
			if (mkdirat(l1, n->l2, DIR_MODE) == 0) {
				if (fsync(l1) == -1) {
					close(l1);
					return WH_ERR_MKDIR;
				}
			} else if (errno != EEXIST) {
				e = errno;
				close(l1);
				if (e == ENOENT)
					continue;
				return WH_ERR_MKDIR;
			}
		}
		if ((l2 = openat(l1, n->l2, DIR_FLAGS)) == -1) {
			e = errno;
			close(l1);
			if (create && e == ENOENT)
				continue;
			return create ? WH_ERR_MKDIR : missing_or(e, WH_ERR_OPEN);
		}
		if (l1p != NULL)
			*l1p = l1;
		else
			close(l1);
		*l2p = l2;
		return WH_OK;
	}
	return WH_ERR_MKDIR;
}

/* Opens a regular file in l2fd read-only; anything else is "not found". */
static int
regular_open(int l2fd, const char *name, int *fdp, struct stat *st)
{
	int fd;

	if ((fd = openat(l2fd, name, DATA_FLAGS)) == -1)
		return missing_or(errno, WH_ERR_OPEN);
	if (fstat(fd, st) == -1) {
		close(fd);
		return WH_ERR_OPEN;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return WH_ERR_NOTFOUND;
	}
	*fdp = fd;
	return WH_OK;
}

static int
data_open(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], int *fdp,
    uint64_t *size)
{
	struct names n;
	struct stat st;
	int l2, rc;

	names_of(hash, &n);
	if ((rc = levels_open(wh, &n, 0, NULL, &l2)) != WH_OK)
		return rc;
	rc = regular_open(l2, n.file, fdp, &st);
	close(l2);
	if (rc == WH_OK)
		*size = (uint64_t)st.st_size;
	return rc;
}

/* A new temp file _Temp/wh<16 random hex>. */
static int
temp_create(struct wh *wh, char name[TEMP_NAME_LEN], int *fdp)
{
	uint8_t r[8];
	int fd, tries;

	for (tries = 0; tries < 8; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return WH_ERR_TEMP_CREATE;
		memcpy(name, TEMP_PREFIX, 2);
		hex_encode(name + 2, r, sizeof(r));
		fd = openat(wh->tempfd, name,
		    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, FILE_MODE);
		if (fd >= 0) {
			*fdp = fd;
			return WH_OK;
		}
		if (errno != EEXIST)
			return WH_ERR_TEMP_CREATE;
	}
	return WH_ERR_TEMP_CREATE;
}

/* Removes every wh* entry of _Temp: left by a crash, never renamed. */
static int
temp_clean(struct wh *wh)
{
	struct dirent *e;
	DIR *d;
	int fd;

	if ((fd = openat(wh->tempfd, ".", DIR_FLAGS)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, TEMP_PREFIX, 2) == 0)
			(void)unlinkat(wh->tempfd, e->d_name, 0);
	closedir(d);
	return 0;
}

static int
mkdir_p(char *path)
{
	char *p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, DIR_MODE) == -1 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, DIR_MODE) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
wh_open(struct wh **whp, const char *root, char *err, size_t errlen)
{
	struct wh *wh;
	char *path;

	if (whp == NULL || root == NULL || *root == '\0') {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "no warehouse root given");
		return WH_ERR_ARG;
	}
	*whp = NULL;
	if ((wh = calloc(1, sizeof(*wh))) == NULL || (path = strdup(root)) == NULL) {
		free(wh);
		return WH_ERR_NOMEM;
	}
	wh->rootfd = wh->tempfd = -1;
	if (mkdir_p(path) == -1 ||
	    (wh->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", root, strerror(errno));
		goto fail;
	}
	if ((mkdirat(wh->rootfd, WH_TEMP_DIR, DIR_MODE) == -1 && errno != EEXIST) ||
	    (wh->tempfd = openat(wh->rootfd, WH_TEMP_DIR, DIR_FLAGS)) == -1 ||
	    temp_clean(wh) == -1) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s/%s: %s", root, WH_TEMP_DIR,
			    strerror(errno));
		goto fail;
	}
	free(path);
	*whp = wh;
	return WH_OK;
fail:
	free(path);
	wh_close(wh);
	return WH_ERR_ROOT;
}

void
wh_close(struct wh *wh)
{
	if (wh == NULL)
		return;
	close_fd(&wh->rootfd);
	close_fd(&wh->tempfd);
	free(wh);
}

/*
 * Streams size bytes of fd through blake3, and through a merkle builder
 * with an export buffer when expp is given and the file has a companion.
 */
static int
digest_fd(int fd, uint64_t size, uint8_t file_hash[WH_HASH_BYTES],
    uint8_t **expp, size_t *explenp, struct prog *pr)
{
	struct merkle_builder *mb = NULL;
	blake3_hasher h;
	uint8_t root[WH_HASH_BYTES], *buf, *exp = NULL;
	uint64_t off, fs;
	size_t want, got, explen = 0;
	int rc = WH_OK;

	if ((buf = malloc(IO_CHUNK)) == NULL)
		return WH_ERR_NOMEM;
	if (expp != NULL && size > WH_SMALL_FILE_MAX) {
		fs = merkle_fragment_size(size);
		if (merkle_export_size(size, fs, &explen) != MERKLE_OK ||
		    (mb = malloc(sizeof(*mb))) == NULL ||
		    (exp = malloc(explen)) == NULL ||
		    merkle_builder_init(mb, size, fs, exp, explen) != MERKLE_OK) {
			rc = WH_ERR_NOMEM;
			goto out;
		}
	} else
		blake3_hasher_init(&h);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (off = 0; off < size; off += got) {
		want = size - off < IO_CHUNK ? (size_t)(size - off) : IO_CHUNK;
		if (pread_full(fd, buf, want, off, &got) == -1) {
			rc = WH_ERR_READ;
			goto out;
		}
		if (got < want) {
			rc = WH_ERR_CHANGED;	/* shrank under us */
			goto out;
		}
		if (mb != NULL)
			(void)merkle_builder_update(mb, buf, got);
		else
			blake3_hasher_update(&h, buf, got);
		if (pr != NULL) {
			pr->done += got;
			if (pr->fn != NULL && pr->done - pr->last >= PROGRESS_STEP) {
				pr->last = pr->done;
				pr->fn(pr->arg, pr->done, pr->total);
			}
		}
	}
	if (mb != NULL) {
		if (merkle_builder_final(mb, root, file_hash) != MERKLE_OK) {
			rc = WH_ERR_MERKLE;
			goto out;
		}
		*expp = exp;
		*explenp = explen;
		exp = NULL;
	} else {
		blake3_hasher_finalize(&h, file_hash, WH_HASH_BYTES);
		if (expp != NULL) {
			*expp = NULL;
			*explenp = 0;
		}
	}
out:
	free(exp);
	free(mb);
	free(buf);
	return rc;
}

/* Writes a companion through a temp file, renamed into l2 and synced. */
static int
companion_write(struct wh *wh, int l2, const struct names *n,
    const uint8_t *exp, size_t len)
{
	char temp[TEMP_NAME_LEN];
	int fd, rc;

	if ((rc = temp_create(wh, temp, &fd)) != WH_OK)
		return WH_ERR_MERKLE;
	if (pwrite_all(fd, exp, len, 0) == -1 || fsync(fd) == -1) {
		close(fd);
		goto fail;
	}
	if (close(fd) == -1)
		goto fail;
	if (renameat(wh->tempfd, temp, l2, n->merkle) == -1)
		goto fail;
	if (fsync(l2) == -1)
		return WH_ERR_MERKLE;
	return WH_OK;
fail:
	(void)unlinkat(wh->tempfd, temp, 0);
	return WH_ERR_MERKLE;
}

/* Builds the companion of a stored file by a streaming pass over it. */
static int
companion_build(struct wh *wh, int l2, const struct names *n,
    const uint8_t hash[WH_HASH_BYTES])
{
	struct stat st;
	uint8_t got[WH_HASH_BYTES], *exp = NULL;
	size_t explen = 0;
	int fd, rc;

	if ((rc = regular_open(l2, n->file, &fd, &st)) != WH_OK)
		return rc;
	if ((uint64_t)st.st_size <= WH_SMALL_FILE_MAX) {
		close(fd);
		return WH_OK;
	}
	rc = digest_fd(fd, (uint64_t)st.st_size, got, &exp, &explen, NULL);
	close(fd);
	if (rc == WH_OK && memcmp(got, hash, WH_HASH_BYTES) != 0)
		rc = WH_ERR_MERKLE;	/* the data is damaged: no tree for it */
	else if (rc == WH_OK)
		rc = companion_write(wh, l2, n, exp, explen);
	else if (rc != WH_ERR_NOMEM)
		rc = WH_ERR_MERKLE;
	free(exp);
	return rc;
}

static int
companion_present(int l2, const struct names *n)
{
	struct stat st;

	return fstatat(l2, n->merkle, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode);
}

/*
 * Reads the companion of a file of size bytes into *bufp, checking that it
 * has exactly the length and header that size implies.
 */
static int
companion_load(int l2, const struct names *n, uint64_t size, uint8_t **bufp,
    size_t *lenp)
{
	struct stat st;
	uint8_t *buf;
	uint64_t fs = merkle_fragment_size(size);
	size_t want, got;
	int fd, rc;

	if (merkle_export_size(size, fs, &want) != MERKLE_OK)
		return WH_ERR_MERKLE_INVALID;
	if ((rc = regular_open(l2, n->merkle, &fd, &st)) != WH_OK)
		return rc;
	if ((uint64_t)st.st_size != want) {
		close(fd);
		return WH_ERR_MERKLE_INVALID;
	}
	if ((buf = malloc(want)) == NULL) {
		close(fd);
		return WH_ERR_NOMEM;
	}
	rc = pread_full(fd, buf, want, 0, &got);
	close(fd);
	if (rc == -1 || got != want) {
		free(buf);
		return rc == -1 ? WH_ERR_READ : WH_ERR_MERKLE_INVALID;
	}
	*bufp = buf;
	*lenp = want;
	return WH_OK;
}

int
wh_write_begin(struct wh *wh, uint64_t expected_size, struct wh_writer **wp)
{
	struct wh_writer *w;
	uint64_t fs;
	int rc;

	if (wh == NULL || wp == NULL)
		return WH_ERR_ARG;
	*wp = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return WH_ERR_NOMEM;
	w->wh = wh;
	w->expected = expected_size;
	if ((rc = temp_create(wh, w->temp, &w->fd)) != WH_OK) {
		free(w);
		return rc;
	}
	/* Announced size: build the tree while the data streams in. */
	if (expected_size > WH_SMALL_FILE_MAX) {
		fs = merkle_fragment_size(expected_size);
		if (merkle_export_size(expected_size, fs, &w->explen) == MERKLE_OK &&
		    w->explen <= INLINE_EXPORT_MAX &&
		    (w->exp = malloc(w->explen)) != NULL &&
		    merkle_builder_init(&w->mb, expected_size, fs, w->exp,
		    w->explen) == MERKLE_OK)
			w->building = 1;
		else {
			free(w->exp);
			w->exp = NULL;
		}
	}
	if (!w->building)
		blake3_hasher_init(&w->hasher);
	*wp = w;
	return WH_OK;
}

/* The announced size was wrong: keep the whole-file hash, drop the tree. */
static void
writer_demote(struct wh_writer *w)
{
	w->hasher = w->mb.split.whole;
	w->building = 0;
	free(w->exp);
	w->exp = NULL;
}

/*
 * Writes p at off, leaving all-zero pieces unwritten: bytes never written
 * read as zeros (the size is set by ftruncate at commit), and a block-aligned
 * zero piece becomes a hole.  Pieces end at block boundaries so a block of
 * zeros split across two chunks is still skipped.
 */
static int
store_sparse(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	size_t i = 0, run = 0, blk;

	while (i < len) {
		blk = ZERO_BLOCK - (size_t)((off + i) % ZERO_BLOCK);
		if (blk > len - i)
			blk = len - i;
		if (memcmp(p + i, zero_block, blk) == 0) {
			if (i > run && pwrite_all(fd, p + run, i - run, off + run) == -1)
				return -1;
			run = i + blk;
		}
		i += blk;
	}
	if (len > run && pwrite_all(fd, p + run, len - run, off + run) == -1)
		return -1;
	return 0;
}

int
wh_write_data(struct wh_writer *w, const void *buf, size_t len)
{
	if (w == NULL || (buf == NULL && len > 0))
		return WH_ERR_ARG;
	if (w->err != WH_OK)
		return w->err;
	if (len == 0)
		return WH_OK;
	if ((uint64_t)len > (uint64_t)INT64_MAX - w->size)
		return (w->err = WH_ERR_TEMP_WRITE);
	if (w->building && merkle_builder_update(&w->mb, buf, len) != MERKLE_OK) {
		/* More than announced; the builder took nothing of this chunk. */
		writer_demote(w);
	}
	if (!w->building)
		blake3_hasher_update(&w->hasher, buf, len);
	if (store_sparse(w->fd, buf, len, w->size) == -1)
		return (w->err = WH_ERR_TEMP_WRITE);
	/* The commit's fsync then waits for the tail only (diskq.h). */
	if (diskq_flush_due(w->size, w->size + len))
		diskq_flush_behind(w->fd);
	w->size += len;
	return WH_OK;
}

int
wh_write_hash(const struct wh_writer *w, uint8_t hash[WH_HASH_BYTES])
{
	if (w == NULL || hash == NULL)
		return WH_ERR_ARG;
	if (w->err != WH_OK)
		return w->err;
	/* The split hasher's file hasher sees every byte the builder took. */
	blake3_hasher_finalize(w->building ? &w->mb.split.whole : &w->hasher,
	    hash, WH_HASH_BYTES);
	return WH_OK;
}

static void
writer_free(struct wh_writer *w)
{
	close_fd(&w->fd);
	free(w->exp);
	free(w);
}

void
wh_write_abort(struct wh_writer *w)
{
	if (w == NULL)
		return;
	close_fd(&w->fd);
	(void)unlinkat(w->wh->tempfd, w->temp, 0);
	writer_free(w);
}

/*
 * Puts the complete file `src` (a path; *fdp open on it) under hash h:
 * when a file of the same size is already there it is kept (*dedup) and src
 * removed; else src is fsync'd, renamed into place and the directory
 * fsync'd.  Then the companion of a file > 256 KiB: exp when given, else
 * built from the stored data.  Closes *fdp.  *placed is 1 when the data is
 * under its hash (the return value may still be WH_ERR_MERKLE, or
 * WH_ERR_TEMP_CLOSE when only the directory fsync failed); when 0, src is
 * untouched and the caller cleans up (errno of a failed rename is kept:
 * EXDEV means another file system).
 */
static int
place(struct wh *wh, int srcdir, const char *src, int *fdp, const uint8_t h[WH_HASH_BYTES],
    uint64_t size, const uint8_t *exp, size_t explen, int *dedup, int *placed)
{
	struct names n;
	struct stat st;
	int l2 = -1, rc, tries, synced = 0;

	*dedup = *placed = 0;
	names_of(h, &n);
	for (tries = 0; ; tries++) {
		if ((rc = levels_open(wh, &n, 1, NULL, &l2)) != WH_OK)
			return rc;
		/* §5.2 step 3; a file of another size under the name is damaged. */
		if (fstatat(l2, n.file, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && (uint64_t)st.st_size == size) {
			*dedup = 1;
			close_fd(fdp);
			(void)unlinkat(srcdir, src, 0);
			break;
		}
		if (!synced) {
			if (fsync(*fdp) == -1 || close(*fdp) == -1) {
				*fdp = -1;
				close_fd(&l2);
				return WH_ERR_TEMP_CLOSE;
			}
			*fdp = -1;
			synced = 1;
		}
		if (renameat(srcdir, src, l2, n.file) == 0)
			break;
		/* ENOENT: a delete removed the empty level; make it again. */
		if (errno != ENOENT || tries >= 3) {
			int e = errno;

			close_fd(&l2);
			errno = e;
			return WH_ERR_RENAME;
		}
		close_fd(&l2);
	}
	*placed = 1;
	if (!*dedup && fsync(l2) == -1) {
		close_fd(&l2);
		return WH_ERR_TEMP_CLOSE;	/* renamed: there, maybe not durable */
	}
	rc = WH_OK;
	if (size > WH_SMALL_FILE_MAX && !(*dedup && companion_present(l2, &n))) {
		if (exp != NULL)
			rc = companion_write(wh, l2, &n, exp, explen);
		else
			rc = companion_build(wh, l2, &n, h);
		if (rc != WH_OK)
			rc = WH_ERR_MERKLE;
	}
	close_fd(&l2);
	return rc;
}

int
wh_write_commit(struct wh_writer *w, uint8_t hash[WH_HASH_BYTES],
    uint64_t *size, int *deduplicated)
{
	uint8_t h[WH_HASH_BYTES], root[WH_HASH_BYTES];
	int rc, dedup = 0, placed = 0, have_exp = 0;

	if (w == NULL)
		return WH_ERR_ARG;
	if (w->err != WH_OK) {
		rc = w->err;
		wh_write_abort(w);
		return rc;
	}
	if (w->building && w->size == w->expected &&
	    merkle_builder_final(&w->mb, root, h) == MERKLE_OK)
		have_exp = 1;
	else {
		if (w->building)
			writer_demote(w);	/* fewer bytes than announced */
		blake3_hasher_finalize(&w->hasher, h, sizeof(h));
	}
	/* Trailing holes: the size comes from ftruncate. */
	if (ftruncate(w->fd, (off_t)w->size) == -1) {
		wh_write_abort(w);
		return WH_ERR_TEMP_CLOSE;
	}
	rc = place(w->wh, w->wh->tempfd, w->temp, &w->fd, h, w->size,
	    have_exp ? w->exp : NULL, w->explen, &dedup, &placed);
	if (!placed) {
		wh_write_abort(w);
		return rc;
	}
	if (hash != NULL)
		memcpy(hash, h, sizeof(h));
	if (size != NULL)
		*size = w->size;
	if (deduplicated != NULL)
		*deduplicated = dedup;
	writer_free(w);
	return rc;
}

int
wh_adopt(struct wh *wh, const char *path, int fd, const uint8_t hash[WH_HASH_BYTES],
    uint64_t size, const uint8_t *exp, size_t explen, int *deduplicated, int *placed)
{
	struct stat st;
	int rc, dedup = 0, in = 0;

	if (wh == NULL || path == NULL || fd < 0 || hash == NULL || placed == NULL)
		return WH_ERR_ARG;
	*placed = 0;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		return WH_ERR_CHANGED;
	rc = place(wh, AT_FDCWD, path, &fd, hash, size, exp, explen, &dedup, &in);
	if (fd >= 0)
		close(fd);
	*placed = in;
	if (deduplicated != NULL)
		*deduplicated = dedup;
	return rc;
}

int
wh_read(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], uint64_t offset,
    void *buf, size_t len, size_t *got)
{
	uint64_t size;
	int fd, rc;

	if (got != NULL)
		*got = 0;
	if (wh == NULL || got == NULL || (buf == NULL && len > 0))
		return WH_ERR_ARG;
	if (hash == NULL)
		return WH_ERR_HASH;
	if ((rc = data_open(wh, hash, &fd, &size)) != WH_OK)
		return rc;
	rc = pread_full(fd, buf, len, offset, got) == -1 ? WH_ERR_READ : WH_OK;
	close(fd);
	return rc;
}

int
wh_fd(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], int *fdp, uint64_t *size)
{
	uint64_t sz;
	int fd, rc;

	if (wh == NULL || fdp == NULL)
		return WH_ERR_ARG;
	if (hash == NULL)
		return WH_ERR_HASH;
	if ((rc = data_open(wh, hash, &fd, &sz)) != WH_OK)
		return rc;
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*fdp = fd;
	if (size != NULL)
		*size = sz;
	return WH_OK;
}

/* A public call on one content: its arguments, names and level-2 directory. */
static int
hash_levels(struct wh *wh, const uint8_t *hash, struct names *n, int *l2)
{
	if (wh == NULL)
		return WH_ERR_ARG;
	if (hash == NULL)
		return WH_ERR_HASH;
	names_of(hash, n);
	return levels_open(wh, n, 0, NULL, l2);
}

int
wh_stat(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], uint64_t *size)
{
	struct names n;
	struct stat st;
	int l2, rc;

	if ((rc = hash_levels(wh, hash, &n, &l2)) != WH_OK)
		return rc;
	if (fstatat(l2, n.file, &st, AT_SYMLINK_NOFOLLOW) == -1)
		rc = missing_or(errno, WH_ERR_OPEN);
	else if (!S_ISREG(st.st_mode))
		rc = WH_ERR_NOTFOUND;
	else if (size != NULL)
		*size = (uint64_t)st.st_size;
	close(l2);
	return rc;
}

int
wh_delete(struct wh *wh, const uint8_t hash[WH_HASH_BYTES])
{
	struct names n;
	struct stat st;
	int l1, l2, rc = WH_OK;

	if (wh == NULL)
		return WH_ERR_ARG;
	if (hash == NULL)
		return WH_ERR_HASH;
	names_of(hash, &n);
	if ((rc = levels_open(wh, &n, 0, &l1, &l2)) != WH_OK)
		return rc;
	if (fstatat(l2, n.file, &st, AT_SYMLINK_NOFOLLOW) == -1)
		rc = missing_or(errno, WH_ERR_DELETE);
	else if (!S_ISREG(st.st_mode))
		rc = WH_ERR_NOTFOUND;	/* not ours: leave it */
	else if (unlinkat(l2, n.file, 0) == -1)
		rc = missing_or(errno, WH_ERR_DELETE);
	/* The reference leaves the companion behind; we do not. */
	if (unlinkat(l2, n.merkle, 0) == -1 && errno != ENOENT && rc == WH_OK)
		rc = WH_ERR_DELETE;
	(void)fsync(l2);
	close(l2);
	/* Empty levels go too (ENOTEMPTY is the usual case and is fine). */
	if (unlinkat(l1, n.l2, AT_REMOVEDIR) == 0)
		(void)unlinkat(wh->rootfd, n.l1, AT_REMOVEDIR);
	close(l1);
	return rc;
}

/*
 * The directory fd of a stored content (*l2p, the caller closes it), its
 * names and the stat of its regular file: WH_ERR_NOTFOUND when absent.
 */
static int
content_dir(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], struct names *n,
    int *l2p, struct stat *st)
{
	int rc;

	names_of(hash, n);
	if ((rc = levels_open(wh, n, 0, NULL, l2p)) != WH_OK)
		return rc;
	if (fstatat(*l2p, n->file, st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st->st_mode)) {
		close(*l2p);
		return WH_ERR_NOTFOUND;
	}
	return WH_OK;
}

int
wh_merkle(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], uint64_t index,
    struct wh_merkle_info *info, uint8_t *proof, size_t cap, size_t *prooflen)
{
	struct merkle_tree t;
	struct names n;
	struct stat st;
	struct wh_merkle_info mi;
	uint8_t *buf = NULL;
	size_t len;
	int l2, rc;

	if (wh == NULL || (proof != NULL && prooflen == NULL))
		return WH_ERR_ARG;
	if (hash == NULL)
		return WH_ERR_HASH;
	if ((rc = content_dir(wh, hash, &n, &l2, &st)) != WH_OK)
		return rc;
	memset(&mi, 0, sizeof(mi));
	mi.file_size = (uint64_t)st.st_size;
	if (mi.file_size <= WH_SMALL_FILE_MAX) {
		/* §4.3: one fragment (or none), root = file hash. */
		close(l2);
		mi.fragment_size = MERKLE_MIN_FRAGMENT_SIZE;
		mi.fragment_count = mi.file_size > 0;
		memcpy(mi.root, hash, WH_HASH_BYTES);
		if (proof != NULL) {
			if (index >= mi.fragment_count)
				return WH_ERR_INDEX;
			*prooflen = 0;
		}
		if (info != NULL)
			*info = mi;
		return WH_OK;
	}
	rc = companion_load(l2, &n, mi.file_size, &buf, &len);
	if (rc == WH_ERR_NOTFOUND) {
		/* Crash between the data rename and the companion: rebuild. */
		if ((rc = companion_build(wh, l2, &n, hash)) == WH_OK)
			rc = companion_load(l2, &n, mi.file_size, &buf, &len);
	}
	close(l2);
	if (rc != WH_OK)
		return rc;
	if (merkle_import(buf, len, &t) != MERKLE_OK ||
	    t.file_size != mi.file_size ||
	    t.fragment_size != merkle_fragment_size(mi.file_size)) {
		free(buf);
		return WH_ERR_MERKLE_INVALID;
	}
	mi.fragment_size = t.fragment_size;
	mi.fragment_count = t.fragment_count;
	memcpy(mi.root, t.root, WH_HASH_BYTES);
	if (proof != NULL) {
		switch (merkle_tree_proof(&t, index, proof, cap, prooflen)) {
		case MERKLE_OK:
			break;
		case MERKLE_ERR_INDEX:
			rc = WH_ERR_INDEX;
			break;
		case MERKLE_ERR_NOSPACE:
			rc = WH_ERR_NOSPACE;
			break;
		default:
			rc = WH_ERR_MERKLE_INVALID;
			break;
		}
	}
	free(buf);
	if (rc == WH_OK && info != NULL)
		*info = mi;
	return rc;
}

int
wh_merkle_leaves(struct wh *wh, const uint8_t hash[WH_HASH_BYTES], uint64_t first,
    uint8_t *leaves, size_t max, size_t *got, struct wh_merkle_info *info)
{
	struct merkle_tree t;
	struct names n;
	struct stat st;
	uint8_t *buf = NULL;
	uint64_t k;
	size_t len;
	int l2, rc;

	if (wh == NULL || got == NULL || info == NULL || (leaves == NULL && max > 0))
		return WH_ERR_ARG;
	if (hash == NULL)
		return WH_ERR_HASH;
	*got = 0;
	if ((rc = content_dir(wh, hash, &n, &l2, &st)) != WH_OK)
		return rc;
	/* One fragment or none: the leaf is the file hash, nothing to send. */
	if ((uint64_t)st.st_size <= WH_SMALL_FILE_MAX) {
		close(l2);
		return WH_ERR_INDEX;
	}
	rc = companion_load(l2, &n, (uint64_t)st.st_size, &buf, &len);
	if (rc == WH_ERR_NOTFOUND) {
		if ((rc = companion_build(wh, l2, &n, hash)) == WH_OK)
			rc = companion_load(l2, &n, (uint64_t)st.st_size, &buf, &len);
	}
	close(l2);
	if (rc != WH_OK)
		return rc;
	if (merkle_import(buf, len, &t) != MERKLE_OK ||
	    t.file_size != (uint64_t)st.st_size ||
	    t.fragment_size != merkle_fragment_size(t.file_size)) {
		free(buf);
		return WH_ERR_MERKLE_INVALID;
	}
	if (first > t.fragment_count) {
		free(buf);
		return WH_ERR_INDEX;
	}
	info->file_size = t.file_size;
	info->fragment_size = t.fragment_size;
	info->fragment_count = t.fragment_count;
	memcpy(info->root, t.root, WH_HASH_BYTES);
	k = t.fragment_count - first;
	if (k > max)
		k = max;
	if (k > 0)
		memcpy(leaves, t.hashes + first * WH_HASH_BYTES, (size_t)k * WH_HASH_BYTES);
	*got = (size_t)k;
	free(buf);
	return WH_OK;
}

int
wh_merkle_rebuild(struct wh *wh, const uint8_t hash[WH_HASH_BYTES])
{
	struct names n;
	int l2, rc;

	if ((rc = hash_levels(wh, hash, &n, &l2)) != WH_OK)
		return rc;
	rc = companion_build(wh, l2, &n, hash);
	close(l2);
	return rc;
}

/* Opens a subdirectory for the walk; NULL (errno kept) if it is not one. */
static DIR *
walk_open(DIR *parent, const char *name)
{
	DIR *d;
	int fd;

	if ((fd = openat(dirfd(parent), name, DIR_FLAGS)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

/* ELOOP/ENOTDIR: a symlink or a file where a level belongs: skipped. */
static int
walk_skippable(int e)
{
	return e == ELOOP || e == ENOTDIR || e == ENOENT;
}

/*
 * The next entry of d named by `hexlen` hex digits and of type `type` (or
 * unknown); NULL at the end, with *rc = WH_ERR_READ if readdir failed.
 */
static struct dirent *
walk_next(DIR *d, size_t hexlen, unsigned char type, int *rc)
{
	struct dirent *e;

	for (;;) {
		errno = 0;
		if ((e = readdir(d)) == NULL) {
			if (errno != 0)
				*rc = WH_ERR_READ;
			return NULL;
		}
		if (is_hex_name(e->d_name, hexlen) &&
		    (e->d_type == type || e->d_type == DT_UNKNOWN))
			return e;
	}
}

/* walk_open of a level; NULL when skipped, or with *rc set on an error. */
static DIR *
walk_sub(DIR *parent, const char *name, int *rc)
{
	DIR *d;

	if ((d = walk_open(parent, name)) == NULL && !walk_skippable(errno))
		*rc = WH_ERR_OPEN;
	return d;
}

int
wh_foreach(struct wh *wh,
    int (*fn)(void *arg, const uint8_t hash[WH_HASH_BYTES], uint64_t size),
    void *arg)
{
	DIR *d1 = NULL, *d2 = NULL, *d3 = NULL;
	struct dirent *e1, *e2, *e3;
	struct stat st;
	char hex[2 * WH_HASH_BYTES + 1];
	uint8_t hash[WH_HASH_BYTES];
	int fd, rc = WH_OK;

	if (wh == NULL || fn == NULL)
		return WH_ERR_ARG;
	/* A fresh fd: the directory stream must not share rootfd's offset. */
	if ((fd = openat(wh->rootfd, ".", DIR_FLAGS)) == -1)
		return WH_ERR_OPEN;
	if ((d1 = fdopendir(fd)) == NULL) {
		close(fd);
		return WH_ERR_NOMEM;
	}
	hex[2 * WH_HASH_BYTES] = '\0';
	while (rc == WH_OK && (e1 = walk_next(d1, 4, DT_DIR, &rc)) != NULL) {
		if ((d2 = walk_sub(d1, e1->d_name, &rc)) == NULL)
			continue;
		while (rc == WH_OK && (e2 = walk_next(d2, 4, DT_DIR, &rc)) != NULL) {
			if ((d3 = walk_sub(d2, e2->d_name, &rc)) == NULL)
				continue;
			while (rc == WH_OK &&
			    (e3 = walk_next(d3, 56, DT_REG, &rc)) != NULL) {
				if (fstatat(dirfd(d3), e3->d_name, &st,
				    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
					continue;
				memcpy(hex, e1->d_name, 4);
				memcpy(hex + 4, e2->d_name, 4);
				memcpy(hex + 8, e3->d_name, 56);
				if (hex_decode(hash, sizeof(hash), hex) != WH_HASH_BYTES)
					continue;
				rc = fn(arg, hash, (uint64_t)st.st_size);
			}
			closedir(d3);
		}
		closedir(d2);
	}
	closedir(d1);
	return rc;
}

struct verify_ctx {
	struct wh	*wh;
	void		(*bad)(void *, const uint8_t *, const char *);
	void		*arg;
	struct prog	 prog;
	uint64_t	 files;
	uint64_t	 bad_count;
	uint64_t	 count;		/* first walk: files */
};

static void
verify_bad(struct verify_ctx *v, const uint8_t hash[WH_HASH_BYTES], const char *why)
{
	v->bad_count++;
	if (v->bad != NULL)
		v->bad(v->arg, hash, why);
}

/* One file: WH_OK whatever it found, an error only when it could not look. */
static int
verify_one(struct verify_ctx *v, const uint8_t hash[WH_HASH_BYTES])
{
	struct names n;
	struct stat st;
	uint8_t got[WH_HASH_BYTES], *exp = NULL, *comp = NULL;
	size_t explen = 0, complen;
	int l2, fd, rc;

	names_of(hash, &n);
	if ((rc = levels_open(v->wh, &n, 0, NULL, &l2)) != WH_OK)
		return rc;
	if ((rc = regular_open(l2, n.file, &fd, &st)) != WH_OK) {
		close(l2);
		return rc;
	}
	v->files++;
	rc = digest_fd(fd, (uint64_t)st.st_size, got, &exp, &explen, &v->prog);
	close(fd);
	if (rc == WH_ERR_NOMEM)
		goto out;
	if (rc != WH_OK) {
		verify_bad(v, hash, wh_strerror(rc));	/* read error, shrank */
		rc = WH_OK;
	} else if (memcmp(got, hash, WH_HASH_BYTES) != 0)
		verify_bad(v, hash, "content does not match its hash");
	else if ((uint64_t)st.st_size > WH_SMALL_FILE_MAX) {
		switch (companion_load(l2, &n, (uint64_t)st.st_size, &comp, &complen)) {
		case WH_OK:
			if (complen != explen || memcmp(comp, exp, explen) != 0)
				verify_bad(v, hash,
				    "merkle companion does not match the data");
			break;
		case WH_ERR_NOTFOUND:
			verify_bad(v, hash, "merkle companion missing");
			break;
		case WH_ERR_NOMEM:
			rc = WH_ERR_NOMEM;
			break;
		case WH_ERR_MERKLE_INVALID:
			verify_bad(v, hash, "merkle companion has the wrong length");
			break;
		default:
			verify_bad(v, hash, "merkle companion unreadable");
			break;
		}
	}
out:
	if (v->prog.fn != NULL)
		v->prog.fn(v->prog.arg, v->prog.done, v->prog.total);
	v->prog.last = v->prog.done;
	free(comp);
	free(exp);
	close(l2);
	return rc;
}

static int
verify_sum_cb(void *arg, const uint8_t hash[WH_HASH_BYTES], uint64_t size)
{
	struct verify_ctx *v = arg;

	(void)hash;
	v->prog.total += size;
	v->count++;
	return 0;
}

static int
verify_cb(void *arg, const uint8_t hash[WH_HASH_BYTES], uint64_t size)
{
	int rc;

	(void)size;
	rc = verify_one(arg, hash);
	/* Deleted between the walk and the check: nothing to judge. */
	return rc == WH_ERR_NOTFOUND ? 0 : rc;
}

int
wh_verify(struct wh *wh, const uint8_t *only_hash,
    void (*bad)(void *arg, const uint8_t hash[WH_HASH_BYTES], const char *why),
    void (*progress)(void *arg, uint64_t done, uint64_t total),
    void *arg, uint64_t *files, uint64_t *bad_count)
{
	struct verify_ctx v;
	uint64_t size;
	int rc;

	if (wh == NULL)
		return WH_ERR_ARG;
	memset(&v, 0, sizeof(v));
	v.wh = wh;
	v.bad = bad;
	v.arg = arg;
	v.prog.fn = progress;
	v.prog.arg = arg;
	if (only_hash != NULL) {
		if ((rc = wh_stat(wh, only_hash, &size)) == WH_OK) {
			v.prog.total = size;
			rc = verify_one(&v, only_hash);
		}
	} else if ((rc = wh_foreach(wh, verify_sum_cb, &v)) == WH_OK)
		rc = wh_foreach(wh, verify_cb, &v);
	if (files != NULL)
		*files = v.files;
	if (bad_count != NULL)
		*bad_count = v.bad_count;
	return rc;
}
