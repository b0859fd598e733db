/*
 * fuzz_ipc.c — every IPC decoder on arbitrary bytes; whatever decodes must
 * re-encode to the same bytes (the encoding is canonical).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[IPC_HDR_LEN + 16 * 1024];
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
	if (ipc_status_decode(data, size, h.type, &st) == 0) {
		n = ipc_status_encode(out, sizeof(out), h.type, &st);
		if (n != (long)size || memcmp(out, data, size) != 0)
			abort();
	}
	if (ipc_id_decode(data, size, &id) == 0) {
		n = ipc_id_encode(out, sizeof(out), &id);
		if (n != (long)size || memcmp(out, data, size) != 0)
			abort();
	}
	if (ipc_sign_req_decode(data, size, &sq) == 0) {
		n = ipc_sign_req_encode(out, sizeof(out), &sq);
		if (n != (long)size || memcmp(out, data, size) != 0)
			abort();
	}
	if (ipc_sign_rep_decode(data, size, &sp) == 0) {
		n = ipc_sign_rep_encode(out, sizeof(out), &sp);
		if (n != (long)size || memcmp(out, data, size) != 0)
			abort();
	}
	if (ipc_probe_decode(data, size, &pr) == 0) {
		n = ipc_probe_encode(out, sizeof(out), &pr);
		if (n != (long)size || memcmp(out, data, size) != 0)
			abort();
	}
	if (ipc_error_decode(data, size, &status, reason, sizeof(reason)) == 0) {
		n = ipc_error_encode(out, sizeof(out), h.type, status, reason);
		if (n != (long)size || memcmp(out, data, size) != 0)
			abort();
	}
	(void)ipc_empty_decode(data, size, h.type);
	return 0;
}
