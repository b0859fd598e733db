/*
 * searchflood.c — a flood of search jobs against a node's searchd, for
 * integration tests: COUNT IPC_SEARCH_STARTs in a row, none stopped (as a
 * client that dies after starting its searches would leave them), then
 * every started job stopped.  peernetctl cannot do this: it stops each job
 * it starts.
 *
 *   searchflood DIR COUNT TERM
 *
 * Prints one JSON object: {"started": N, "refused": N, "error": "first
 * refusal's reason", "stopped": N}.  Exit 0 when searchd answered every
 * call, 1 when a call failed, 2 on usage errors.  COUNT is at most 1000.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "ipc_msg.h"
#include "ipc_msg_search.h"

#define SF_MAX		1000
#define SF_CALL_MS	5000

static uint8_t sf_buf[IPC_HDR_LEN + IPC_SEARCH_TERM_MAX + 256];
static struct ipc_search_id sf_ids[SF_MAX];

/* JSON string body: the reason has no control characters worth keeping. */
static void
sf_json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar((unsigned char)*s < 0x20 ? ' ' : *s);
	}
	putchar('"');
}

int
main(int argc, char **argv)
{
	struct ipc_search_req q;
	struct ipc_hdr h;
	char path[256], err[256], reason[IPC_STR_MAX + 1], first[IPC_STR_MAX + 1];
	uint8_t *rep;
	size_t len;
	uint16_t status;
	long n, count, i, started = 0, refused = 0, stopped = 0;
	int fail = 0;

	if (argc != 4 || (count = strtol(argv[2], NULL, 10)) < 1 ||
	    count > SF_MAX || strlen(argv[3]) > IPC_SEARCH_TERM_MAX) {
		fprintf(stderr, "usage: searchflood DIR COUNT(1..%d) TERM\n",
		    SF_MAX);
		return 2;
	}
	if (ipc_path(path, sizeof(path), argv[1], "searchd") == -1) {
		fprintf(stderr, "searchflood: %s: path too long\n", argv[1]);
		return 2;
	}
	memset(&q, 0, sizeof(q));
	strlcpy(q.term, argv[3], sizeof(q.term));
	q.type = IPC_SEARCH_TYPE_ANY;
	q.format = IPC_SEARCH_FORMAT_ANY;
	q.size_min = -1;
	q.size_max = -1;
	first[0] = '\0';
	for (i = 0; i < count && !fail; i++) {
		n = ipc_search_req_encode(sf_buf, sizeof(sf_buf), &q);
		if (n < 0 || ipc_call(path, sf_buf, (size_t)n, &rep, &len,
		    SF_CALL_MS, err, sizeof(err)) != 0) {
			fprintf(stderr, "searchflood: start %ld: %s\n", i,
			    n < 0 ? "does not encode" : err);
			fail = 1;
			break;
		}
		if (ipc_hdr_decode(rep, len, &h) == 0 && h.status != IPC_OK) {
			if (ipc_error_decode(rep, len, &status, reason,
			    sizeof(reason)) != 0)
				strlcpy(reason, ipc_err_str(h.status),
				    sizeof(reason));
			if (refused++ == 0)
				strlcpy(first, reason, sizeof(first));
		} else if (ipc_search_id_decode(rep, len, IPC_SEARCH_START,
		    &sf_ids[started]) == 0)
			started++;
		else {
			fprintf(stderr, "searchflood: start %ld: bad reply\n", i);
			fail = 1;
		}
		free(rep);
	}
	for (i = 0; i < started; i++) {
		n = ipc_search_id_encode(sf_buf, sizeof(sf_buf), IPC_SEARCH_STOP,
		    &sf_ids[i]);
		if (n < 0 || ipc_call(path, sf_buf, (size_t)n, &rep, &len,
		    SF_CALL_MS, err, sizeof(err)) != 0) {
			fail = 1;
			continue;
		}
		if (ipc_hdr_decode(rep, len, &h) == 0 && h.status == IPC_OK)
			stopped++;
		free(rep);
	}
	printf("{\"started\": %ld, \"refused\": %ld, \"error\": ", started,
	    refused);
	sf_json_str(first);
	printf(", \"stopped\": %ld}\n", stopped);
	return fail;
}
