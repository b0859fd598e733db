/*
 * fuzz_ipc.c — every IPC decoder on arbitrary bytes; whatever decodes must
 * re-encode to the same bytes (the encoding is canonical).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What decoded re-encodes by enc to the input itself (n: its length). */
#define SAME(enc) do {							\
	n = (enc);							\
	if (n != (long)size || memcmp(out, data, size) != 0)		\
		abort();						\
} while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[IPC_MSG_MAX];
	struct ipc_status st;
	struct ipc_hdr h;
	struct ipc_id id;
	struct ipc_sign_req sq;
	struct ipc_sign_rep sp;
	struct ipc_probe pr;
	char reason[IPC_STR_MAX + 1];
	uint16_t status;
	long n;

	if (ipc_hdr_decode(data, size, &h) != 0)
		return 0;
	if (ipc_status_decode(data, size, h.type, &st) == 0)
		SAME(ipc_status_encode(out, sizeof(out), h.type, &st));
	if (ipc_id_decode(data, size, &id) == 0)
		SAME(ipc_id_encode(out, sizeof(out), &id));
	if (ipc_sign_req_decode(data, size, &sq) == 0)
		SAME(ipc_sign_req_encode(out, sizeof(out), &sq));
	if (ipc_sign_rep_decode(data, size, &sp) == 0)
		SAME(ipc_sign_rep_encode(out, sizeof(out), &sp));
	if (ipc_probe_decode(data, size, &pr) == 0)
		SAME(ipc_probe_encode(out, sizeof(out), &pr));
	if (ipc_error_decode(data, size, &status, reason, sizeof(reason)) == 0)
		SAME(ipc_error_encode(out, sizeof(out), h.type, status, reason));
	{
		static struct ipc_file f;
		static struct ipc_add_begin ab;
		static struct ipc_add_result ar;
		static struct ipc_mv mv;
		static struct ipc_verify_result vr;
		struct ipc_file_list fl;
		struct ipc_data d;
		struct ipc_read rd;
		struct ipc_ref rf;
		struct ipc_range rg;
		struct ipc_chain_info ci;
		struct ipc_cache_info cc;
		uint32_t v;
		int rc;

		if (ipc_file_decode(data, size, h.type, &f) == 0)
			SAME(ipc_file_encode(out, sizeof(out), h.type, &f));
		if (ipc_data_decode(data, size, h.type, &d) == 0)
			SAME(ipc_data_encode(out, sizeof(out), h.type, &d));
		if (ipc_read_decode(data, size, h.type, &rd) == 0)
			SAME(ipc_read_encode(out, sizeof(out), h.type, &rd));
		if (ipc_range_decode(data, size, h.type, &rg) == 0)
			SAME(ipc_range_encode(out, sizeof(out), h.type, &rg));
		if (ipc_ref_decode(data, size, h.type, &rf) == 0)
			SAME(ipc_ref_encode(out, sizeof(out), h.type, &rf));
		if (ipc_chain_info_decode(data, size, h.type, &ci) == 0)
			SAME(ipc_chain_info_encode(out, sizeof(out), h.type, &ci));
		if (ipc_cache_info_decode(data, size, &cc) == 0)
			SAME(ipc_cache_info_encode(out, sizeof(out), &cc));
		if (ipc_add_begin_decode(data, size, &ab) == 0)
			SAME(ipc_add_begin_encode(out, sizeof(out), &ab));
		if (ipc_add_result_decode(data, size, &ar) == 0)
			SAME(ipc_add_result_encode(out, sizeof(out), &ar));
		if (ipc_mv_decode(data, size, &mv) == 0)
			SAME(ipc_mv_encode(out, sizeof(out), &mv));
		if (ipc_verify_result_decode(data, size, &vr) == 0)
			SAME(ipc_verify_result_encode(out, sizeof(out), &vr));
		{
			struct ipc_cache_seen cs;
			struct ipc_cache_fetch cf;
			struct ipc_cache_block cb;

			if (ipc_cache_seen_decode(data, size, &cs) == 0)
				SAME(ipc_cache_seen_encode(out, sizeof(out), &cs));
			if (ipc_cache_fetch_decode(data, size, &cf) == 0)
				SAME(ipc_cache_fetch_encode(out, sizeof(out), &cf));
			if (ipc_cache_block_decode(data, size, &cb) == 0)
				SAME(ipc_cache_block_encode(out, sizeof(out), &cb));
		}
		{
			static struct ipc_counters ct;

			if (ipc_counters_decode(data, size, h.type, &ct) == 0)
				SAME(ipc_counters_encode(out, sizeof(out), h.type, &ct));
		}
		if (ipc_u32_decode(data, size, h.type, &v) == 0)
			SAME(ipc_u32_encode(out, sizeof(out), h.type, v));
		{
			static struct ipc_search_req sq2;
			static struct ipc_search_hit sh;
			struct ipc_search_id si;
			struct ipc_search_fetch sf;
			struct ipc_search_page sp2;
			struct ipc_files_req fr;
			struct ipc_files_page fp;
			size_t off;

			if (ipc_search_req_decode(data, size, &sq2) == 0)
				SAME(ipc_search_req_encode(out, sizeof(out), &sq2));
			if (ipc_search_id_decode(data, size, h.type, &si) == 0)
				SAME(ipc_search_id_encode(out, sizeof(out), h.type, &si));
			if (ipc_search_fetch_decode(data, size, &sf) == 0)
				SAME(ipc_search_fetch_encode(out, sizeof(out), &sf));
			if (ipc_files_req_decode(data, size, &fr) == 0)
				SAME(ipc_files_req_encode(out, sizeof(out), &fr));
			{
				static struct ipc_sharers_req shq;
				static struct ipc_sharers shr;

				if (ipc_sharers_req_decode(data, size, &shq) == 0)
					SAME(ipc_sharers_req_encode(out, sizeof(out), &shq));
				if (ipc_sharers_decode(data, size, &shr) == 0)
					SAME(ipc_sharers_encode(out, sizeof(out), &shr));
			}
			/* Pages: rebuilt hit by hit, they must give the same bytes. */
			if (ipc_search_page_decode(data, size, &sp2) == 0) {
				n = ipc_search_page_begin(out, sizeof(out), &sp2);
				off = (size_t)n;
				while ((rc = ipc_search_page_next(&sp2, &sh)) == 1)
					if (ipc_search_page_add(out, sizeof(out), &off, &sh) != 0)
						abort();
				if (rc != 0)
					abort();
				SAME((long)off);
			}
			if (ipc_files_page_decode(data, size, &fp) == 0) {
				n = ipc_files_page_begin(out, sizeof(out), &fp.from);
				off = (size_t)n;
				while ((rc = ipc_files_page_next(&fp, &f)) == 1)
					if (ipc_files_page_add(out, sizeof(out), &off, &f) != 0)
						abort();
				if (rc != 0)
					abort();
				ipc_files_page_end(out, &fp.next, fp.done);
				SAME((long)off);
			}
		}
		{
			/* The web API's storaged requests (ipc_msg_web.h). */
			static struct ipc_file pf[IPC_PUBLISH_MAX];
			static struct ipc_append ap;
			static struct ipc_peer_profile pp;
			struct ipc_publish pq = { .files = pf };
			struct ipc_publish_result pr2;
			struct ipc_wh_result wr;
			struct ipc_profile_del pd;
			struct ipc_wipe wp;
			struct ipc_peer_profile_req pq2;

			if (ipc_wh_result_decode(data, size, &wr) == 0)
				SAME(ipc_wh_result_encode(out, sizeof(out), &wr));
			if (ipc_publish_decode(data, size, &pq) == 0)
				SAME(ipc_publish_encode(out, sizeof(out), &pq));
			if (ipc_publish_result_decode(data, size, &pr2) == 0)
				SAME(ipc_publish_result_encode(out, sizeof(out), &pr2));
			if (ipc_append_decode(data, size, &ap) == 0)
				SAME(ipc_append_encode(out, sizeof(out), &ap));
			if (ipc_profile_del_decode(data, size, &pd) == 0)
				SAME(ipc_profile_del_encode(out, sizeof(out), &pd));
			if (ipc_wipe_decode(data, size, &wp) == 0)
				SAME(ipc_wipe_encode(out, sizeof(out), &wp));
			if (ipc_peer_profile_req_decode(data, size, &pq2) == 0)
				SAME(ipc_peer_profile_req_encode(out, sizeof(out), &pq2));
			if (ipc_peer_profile_decode(data, size, &pp) == 0)
				SAME(ipc_peer_profile_encode(out, sizeof(out), &pp));
		}
		{
			/* The file transfer area (ipc_msg_xfer.h). */
			static struct ipc_xfer_info xi;
			struct ipc_xstat_req xq;
			struct ipc_xstat_rep xr;
			struct ipc_dl_begin db;
			struct ipc_dl_commit dc;
			struct ipc_dl_data dd;
			struct ipc_get_req gq;
			struct ipc_xfer_list xl;
			size_t off;

			if (ipc_xstat_req_decode(data, size, &xq) == 0)
				SAME(ipc_xstat_req_encode(out, sizeof(out), &xq));
			if (ipc_xstat_rep_decode(data, size, &xr) == 0)
				SAME(ipc_xstat_rep_encode(out, sizeof(out), &xr));
			if (ipc_dl_begin_decode(data, size, &db) == 0)
				SAME(ipc_dl_begin_encode(out, sizeof(out), &db));
			if (ipc_dl_commit_decode(data, size, &dc) == 0)
				SAME(ipc_dl_commit_encode(out, sizeof(out), &dc));
			if (ipc_dl_data_decode(data, size, &dd) == 0) {
				if (dd.leaves_len % 32 != 0 ||
				    dd.leaves_len > IPC_DL_LEAVES_MAX * 32)
					abort();
				SAME(ipc_dl_data_encode(out, sizeof(out), &dd));
			}
			if (ipc_get_req_decode(data, size, &gq) == 0)
				SAME(ipc_get_req_encode(out, sizeof(out), &gq));
			if (ipc_probe_req_decode(data, size, &gq) == 0)
				SAME(ipc_probe_req_encode(out, sizeof(out), &gq));
			if (ipc_stream_open_decode(data, size, &gq) == 0)
				SAME(ipc_stream_open_encode(out, sizeof(out), &gq));
			{
				/* apid's streams and stored files by descriptor. */
				struct ipc_stream_info si;
				struct ipc_stream_read sr;
				struct ipc_file_fd_req fq;
				uint64_t fsz;

				if (ipc_stream_info_decode(data, size, &si) == 0)
					SAME(ipc_stream_info_encode(out, sizeof(out), &si));
				if (ipc_stream_read_decode(data, size, &sr) == 0)
					SAME(ipc_stream_read_encode(out, sizeof(out), &sr));
				if (ipc_file_fd_req_decode(data, size, &fq) == 0)
					SAME(ipc_file_fd_req_encode(out, sizeof(out), &fq));
				if (ipc_file_fd_rep_decode(data, size, &fsz) == 0)
					SAME(ipc_file_fd_rep_encode(out, sizeof(out), fsz));
			}
			{
				struct ipc_dl_abort da;
				struct ipc_xfer_ctl xc;

				if (ipc_dl_abort_decode(data, size, &da) == 0)
					SAME(ipc_dl_abort_encode(out, sizeof(out), &da));
				if (ipc_xfer_ctl_decode(data, size, &xc) == 0)
					SAME(ipc_xfer_ctl_encode(out, sizeof(out), &xc));
			}
			/* A transfers list rebuilt item by item gives the same bytes. */
			if (ipc_xfer_list_decode(data, size, &xl) == 0) {
				n = ipc_xfer_list_begin(out, sizeof(out), xl.total);
				off = (size_t)n;
				while ((rc = ipc_xfer_list_next(&xl, &xi)) == 1)
					if (ipc_xfer_list_add(out, sizeof(out), &off, &xi) != 0)
						abort();
				if (rc != 0)
					abort();
				SAME((long)off);
			}
		}
		if (ipc_file_list_decode(data, size, h.type, &fl) == 0) {
			uint32_t k = 0;

			while ((rc = ipc_file_list_next(&fl, &f)) == 1)
				k++;
			if (rc != 0 || k != fl.count)
				abort();
		}
#undef SAME
	}
	(void)ipc_empty_decode(data, size, h.type);
	return 0;
}
