/*
 * recover.c — the recovery step after a crash.  Adding a file commits its
 * content to the warehouse first and its record to the chain second; a
 * crash between the two leaves content without a record.  When the chain
 * opens, storaged removes every warehouse file that no record of the own
 * chain refers to and that is not a download (downloads are marked in
 * DIR/storage/downloads/ when committed).  A download interrupted between
 * its commit and its mark is removed too: it is only a copy of someone
 * else's file and is fetched again when wanted.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"
#include "storaged.h"

static void
recover_mark_path(struct storaged *s, const uint8_t hash[32], char *out, size_t cap)
{
	char hex[65];

	hex_encode(hex, hash, 32);
	snprintf(out, cap, "%s/storage/downloads/%s", s->d->dir, hex);
}

void
storaged_mark_download(struct storaged *s, const uint8_t hash[32])
{
	char path[PATH_MAX], dir[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s/storage/downloads", s->d->dir);
	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		log_warn("mkdir %s", dir);
		return;
	}
	recover_mark_path(s, hash, path, sizeof(path));
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640)) == -1) {
		log_warn("%s", path);
		return;
	}
	fsync(fd);
	close(fd);
}

struct recover_ctx {
	struct storaged	*s;
	uint64_t	 removed;
	uint64_t	 kept;
};

static int
recover_one(void *arg, const uint8_t hash[32], uint64_t size)
{
	struct recover_ctx *x = arg;
	char path[PATH_MAX], hex[65];
	struct stat sb;
	int rc;

	(void)size;
	recover_mark_path(x->s, hash, path, sizeof(path));
	if (chain_hash_referenced(x->s->chain, hash) == 1 || lstat(path, &sb) == 0) {
		x->kept++;
		return 0;
	}
	hex_encode(hex, hash, 32);
	if ((rc = wh_delete(x->s->wh, hash)) != 0) {
		log_warnx("recovery: cannot remove %s: %s", hex, wh_strerror(rc));
		return 0;
	}
	log_info("recovery: removed %s, content of an add interrupted before its record", hex);
	x->removed++;
	return 0;
}

void
storaged_recover(struct storaged *s)
{
	struct recover_ctx x = { s, 0, 0 };

	if (s->chain == NULL || s->wh == NULL)
		return;
	if (wh_foreach(s->wh, recover_one, &x) != 0)
		log_warnx("recovery: warehouse walk failed");
	if (x.removed > 0)
		log_info("recovery: %llu orphaned files removed, %llu kept",
		    (unsigned long long)x.removed, (unsigned long long)x.kept);
}
