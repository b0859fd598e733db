/*
 * dlfeed.c — plays netd's part of a download against a running storaged
 * (IPC_DL_BEGIN, IPC_DL_DATA in 512 KiB chunks, IPC_DL_COMMIT), so a test
 * can check what storaged does with the fragment leaves a chunk carries.
 *
 *	dlfeed DIR FILE MODE
 *
 * MODE: none (no leaves: storaged hashes the fragments), good (each
 * chunk's true leaves), lie (every leaf with its first byte flipped: the
 * content stays right), misfit (the first chunk with one leaf for its two
 * fragments).  Prints a line per step: "begin ok", "data OFFSET ok" or
 * "data OFFSET refused: REASON", "commit ok" or "commit refused: REASON".
 * Exit 0 when every call was answered, 1 when one was not, 2 on usage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake3.h"
#include "ipc.h"
#include "ipc_msg.h"
#include "merkle.h"

#define DF_CHUNK	(512 * 1024)	/* netd's XF_STORE_CHUNK */
#define DF_MAX_FILE	(64 * 1024 * 1024)
#define DF_CALL_MS	10000

static uint8_t df_msg[DF_CHUNK + 4096];

/* One call: 0 answered OK, 1 refused (reason set), -1 not answered. */
static int
df_call(const char *path, const uint8_t *msg, long n, uint8_t **rep, size_t *len,
    char *reason, size_t cap)
{
	struct ipc_hdr h;
	char err[256];
	uint16_t status;

	if (n < 0) {
		snprintf(reason, cap, "does not encode");
		return -1;
	}
	if (ipc_call(path, msg, (size_t)n, rep, len, DF_CALL_MS, err, sizeof(err)) != 0) {
		snprintf(reason, cap, "%s", err);
		return -1;
	}
	if (ipc_hdr_decode(*rep, *len, &h) != 0) {
		snprintf(reason, cap, "bad reply");
		free(*rep);
		return -1;
	}
	if (h.status == IPC_OK)
		return 0;
	if (ipc_error_decode(*rep, *len, &status, reason, cap) != 0)
		snprintf(reason, cap, "%s", ipc_err_str(h.status));
	free(*rep);
	return 1;
}

static uint8_t *
df_read(const char *file, size_t *size)
{
	FILE *f = fopen(file, "rb");
	uint8_t *p = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
	    n > DF_MAX_FILE || fseek(f, 0, SEEK_SET) != 0 ||
	    (p = malloc((size_t)n)) == NULL || fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	} else
		*size = (size_t)n;
	if (f != NULL)
		fclose(f);
	return p;
}

int
main(int argc, char **argv)
{
	struct ipc_dl_begin b;
	struct ipc_dl_data d;
	struct ipc_dl_commit c;
	char path[256], reason[IPC_STR_MAX + 1];
	uint8_t *data, *rep, hash[32], leaves[IPC_DL_LEAVES_MAX * 32];
	size_t size = 0, len, off, n, i, nleaves;
	uint64_t frag;
	uint32_t id;
	const char *mode;
	int rc;

	if (argc != 4 || (strcmp(argv[3], "none") != 0 && strcmp(argv[3], "good") != 0 &&
	    strcmp(argv[3], "lie") != 0 && strcmp(argv[3], "misfit") != 0)) {
		fprintf(stderr, "usage: dlfeed DIR FILE none|good|lie|misfit\n");
		return 2;
	}
	mode = argv[3];
	if (ipc_path(path, sizeof(path), argv[1], "storaged") == -1 ||
	    (data = df_read(argv[2], &size)) == NULL) {
		fprintf(stderr, "dlfeed: %s: cannot read (at most %d bytes)\n", argv[2],
		    DF_MAX_FILE);
		return 2;
	}
	frag = merkle_fragment_size(size);
	blake3_hash(data, size, hash);

	memset(&b, 0, sizeof(b));
	memcpy(b.hash, hash, 32);
	b.size = size;
	if ((rc = df_call(path, df_msg, ipc_dl_begin_encode(df_msg, sizeof(df_msg), &b),
	    &rep, &len, reason, sizeof(reason))) != 0) {
		printf("begin refused: %s\n", reason);
		return rc < 0;
	}
	rc = ipc_u32_decode(rep, len, IPC_DL_BEGIN, &id);
	free(rep);
	if (rc != 0)
		return 1;
	printf("begin ok\n");
	for (off = 0; off < size; off += n) {
		n = size - off < DF_CHUNK ? size - off : DF_CHUNK;
		nleaves = (off + n + frag - 1) / frag - off / frag;
		for (i = 0; i < nleaves; i++) {
			uint64_t fo, fl;

			if (merkle_fragment_range(size, frag, off / frag + i, &fo, &fl) !=
			    MERKLE_OK)
				return 2;
			blake3_hash(data + fo, (size_t)fl, leaves + i * 32);
			if (strcmp(mode, "lie") == 0)
				leaves[i * 32] ^= 0xff;
		}
		memset(&d, 0, sizeof(d));
		d.id = id;
		d.offset = off;
		d.bytes = data + off;
		d.len = (uint32_t)n;
		if (strcmp(mode, "none") != 0) {
			d.leaves = leaves;
			d.leaves_len = (uint32_t)(strcmp(mode, "misfit") == 0 && off == 0 ?
			    nleaves - 1 : nleaves) * 32;
		}
		if ((rc = df_call(path, df_msg, ipc_dl_data_encode(df_msg, sizeof(df_msg), &d),
		    &rep, &len, reason, sizeof(reason))) != 0) {
			printf("data %zu refused: %s\n", off, reason);
			free(data);
			return rc < 0;
		}
		free(rep);
		printf("data %zu ok\n", off);
	}
	memset(&c, 0, sizeof(c));
	c.id = id;
	memcpy(c.hash, hash, 32);
	rc = df_call(path, df_msg, ipc_dl_commit_encode(df_msg, sizeof(df_msg), &c), &rep,
	    &len, reason, sizeof(reason));
	if (rc == 0) {
		free(rep);
		printf("commit ok\n");
	} else
		printf("commit refused: %s\n", reason);
	free(data);
	return rc < 0;
}
