/*
 * fuzz_msg_response.c — libFuzzer target for the Response decoder.  An
 * accepted input is rebuilt from its views (Hash2Peer records, peer
 * records, embedded files, not-found hashes), re-encoded, and must decode
 * to the same header and byte-identical sections; split, its parts must
 * each decode and together hold every item in order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fz_msg.h"
#include "wire_msg.h"

static uint8_t out[65536 * 2];
static uint8_t part[WIRE_MSG_BUDGET];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_response r, q;
	struct wire_response_in in;
	struct wire_response_iter it;
	struct wire_response_split s;
	struct wire_h2p_view hv;
	struct wire_h2p_in *h;
	struct wire_peer_record *recs;
	struct wire_embedded_file *f;
	size_t n, i, k, used = 0, th = 0, tf = 0, tn = 0;
	int rc;

	if (wire_response_decode(data, size, &r) != 0)
		return 0;
	h = calloc(r.n_h2p + 1, sizeof(*h));
	recs = calloc(r.h2p_len / WIRE_PEER_RECORD_SIZE + 1, sizeof(*recs));
	f = calloc(r.n_files + 1, sizeof(*f));
	if (h == NULL || recs == NULL || f == NULL)
		abort();
	wire_response_h2p_begin(&r, &it);
	for (i = 0; i < r.n_h2p; i++) {
		if (wire_response_h2p_next(&it, &hv) != 1)
			abort();
		h[i].key = hv.key;
		h[i].more_follow = !hv.is_last;
		h[i].records = recs + used;
		h[i].n_records = hv.n_records;
		for (k = 0; k < hv.n_records; k++)
			if (wire_peer_record_decode(hv.records + k *
			    WIRE_PEER_RECORD_SIZE, &recs[used++]) != 0)
				abort();
	}
	if (wire_response_h2p_next(&it, &hv) != 0)
		abort();
	wire_response_file_begin(&r, &it);
	for (i = 0; i < r.n_files; i++)
		if (wire_response_file_next(&it, &f[i]) != 1)
			abort();
	memset(&in, 0, sizeof(in));
	in.hdr = r.hdr;
	in.h2p = h;
	in.n_h2p = r.n_h2p;
	in.files = f;
	in.n_files = r.n_files;
	in.notfound = r.notfound;
	in.n_notfound = r.n_notfound;
	if (wire_response_encode(out, sizeof(out), &n, &in) != 0 || n > size)
		abort();
	if (wire_response_decode(out, n, &q) != 0)
		abort();
	fz_same_hdr(&r.hdr, &q.hdr);
	if (q.hdr.actions != r.hdr.actions || q.n_h2p != r.n_h2p ||
	    q.n_files != r.n_files || q.n_notfound != r.n_notfound ||
	    q.h2p_len != r.h2p_len || q.files_len != r.files_len ||
	    memcmp(q.h2p, r.h2p, r.h2p_len) != 0 ||
	    memcmp(q.files, r.files, r.files_len) != 0 ||
	    memcmp(q.notfound, r.notfound, r.n_notfound * 32) != 0)
		abort();

	wire_response_split_init(&s, &in);
	while ((rc = wire_response_split_next(&s, part, sizeof(part), &n)) == 1) {
		if (n > WIRE_MSG_BUDGET || wire_response_decode(part, n, &q) != 0)
			abort();
		fz_same_hdr(&r.hdr, &q.hdr);
		if (((q.hdr.actions & WIRE_ACTION_SEQUENCE_LAST) != 0) != s.done)
			abort();
		wire_response_h2p_begin(&q, &it);
		while (wire_response_h2p_next(&it, &hv) == 1)
			if (memcmp(hv.key, h[th++].key, 32) != 0)
				abort();
		tf += q.n_files;
		if (memcmp(q.notfound, r.notfound + tn * 32, q.n_notfound * 32) != 0)
			abort();
		tn += q.n_notfound;
	}
	/* Only a message above the budget can hold an item no part can take. */
	if (rc == WIRE_MSG_ERR_TOO_BIG && size > WIRE_MSG_BUDGET)
		goto done;
	if (rc != 0 || th != r.n_h2p || tf != r.n_files || tn != r.n_notfound)
		abort();
done:
	free(h);
	free(recs);
	free(f);
	return 0;
}
