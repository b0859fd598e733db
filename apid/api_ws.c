/*
 * api_ws.c — GET /search/result/ws (FEATURES.md §3.4): a search job's
 * results pushed over a WebSocket as they come, as the reference does:
 * without limit one result per message, with limit= up to that many in all;
 * a message {status, files, statistic} each time; the last one has status 1
 * (nothing more), then a close frame.  libmicrohttpd does the HTTP upgrade;
 * the handshake's hash is nettle's SHA-1 and the frames are parsed by the
 * pure, fuzzed api_ws_parse.  The session runs in the connection's own
 * thread, bounded by the longest search job plus a margin.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>
#include <nettle/sha1.h>
#include <sodium.h>

#include "apid.h"
#include "ipc.h"
#include "log.h"
#include "loop.h"

#define API_WS_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define API_WS_MAX_MS	(IPC_SEARCH_TIMEOUT_MAX + 60000)	/* a session's life */
#define API_WS_SEND_MS	10000		/* a slow reader is dropped after */
#define API_WS_IDLE_MS	100		/* the reference's pause between polls */

struct api_ws {
	struct apid	*api;
	uint8_t		 id[16];
	int64_t		 limit;		/* -1: none */
	int		 console;	/* /console: text lines in, text out */
	struct api_console console_state;
	uint8_t		 in[API_WS_PAYLOAD_MAX + 64];
	size_t		 inlen;
	uint8_t		 ctl[125];
	uint8_t		 text[API_WS_PAYLOAD_MAX + 1];
};

/* All of buf, or -1 when the peer is gone or too slow. */
static int
api_ws_send_all(int sock, const uint8_t *buf, size_t len)
{
	struct pollfd pfd = { .fd = sock, .events = POLLOUT };
	ssize_t n;

	while (len > 0) {
		n = send(sock, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (poll(&pfd, 1, API_WS_SEND_MS) <= 0)
			return -1;
	}
	return 0;
}

static int
api_ws_send(int sock, int opcode, const void *payload, size_t len)
{
	uint8_t hdr[API_WS_HDR_MAX];
	size_t h = api_ws_header(hdr, opcode, len);

	if (api_ws_send_all(sock, hdr, h) != 0)
		return -1;
	return len ? api_ws_send_all(sock, payload, len) : 0;
}

static int
api_ws_send_json(int sock, json_t *j)
{
	char *s;
	int rc;

	if (j == NULL)
		return -1;
	s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	if (s == NULL)
		return -1;
	rc = api_ws_send(sock, API_WS_TEXT, s, strlen(s));
	free(s);
	return rc;
}

int
api_ws_text(int sock, const char *s)
{
	return api_ws_send(sock, API_WS_TEXT, s, strlen(s));
}

int
api_ws_bye(int sock)
{
	static const uint8_t normal[2] = { 0x03, 0xe8 };	/* 1000 */

	return api_ws_send(sock, API_WS_CLOSE, normal, 2);
}

/*
 * Reads what the client sent within ms: answers pings; a whole text frame
 * goes to the console (else data frames are ignored; a fragmented one
 * ends a console with 1003).  0 to go on, -1 when the session must end.
 */
static int
api_ws_read(struct api_ws *w, int sock, int ms)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct api_ws_frame f;
	ssize_t n;
	long used;

	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	n = recv(sock, w->in + w->inlen, sizeof(w->in) - w->inlen, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return -1;
	if (n < 0)
		return 0;
	w->inlen += (size_t)n;
	while ((used = api_ws_parse(w->in, w->inlen, &f)) > 0) {
		if (f.opcode == API_WS_CLOSE) {
			api_ws_unmask(&f, w->ctl);
			/* Echo the status code, as §5.5.1 asks. */
			(void)api_ws_send(sock, API_WS_CLOSE, w->ctl, f.len >= 2 ? 2 : 0);
			return -1;
		}
		if (f.opcode == API_WS_PING) {
			api_ws_unmask(&f, w->ctl);
			if (api_ws_send(sock, API_WS_PONG, w->ctl, f.len) != 0)
				return -1;
		}
		if (w->console && f.opcode <= API_WS_BINARY) {
			static const uint8_t unsupported[2] = { 0x03, 0xeb };	/* 1003 */

			if (f.opcode != API_WS_TEXT || !f.fin) {
				(void)api_ws_send(sock, API_WS_CLOSE, unsupported, 2);
				return -1;
			}
			api_ws_unmask(&f, w->text);
			w->text[f.len] = '\0';
			if (api_console_line(w->api, &w->console_state, sock,
			    (const char *)w->text, f.len) != 0)
				return -1;
		}
		memmove(w->in, w->in + used, w->inlen - (size_t)used);
		w->inlen -= (size_t)used;
	}
	if (used < 0) {
		static const uint8_t proto[2] = { 0x03, 0xea };	/* 1002 */

		(void)api_ws_send(sock, API_WS_CLOSE, proto, 2);
		return -1;
	}
	return 0;
}

/* Asks searchd for up to max results of w's job from offset (-1: from its
 * cursor, which then moves); api_ipc's answer. */
static int
api_ws_ask_page(const struct api_ws *w, int32_t offset, uint32_t max,
    uint8_t **rep, size_t *len, int *refused, char *err, size_t errlen)
{
	struct ipc_search_fetch f;
	uint8_t req[64];
	long n;

	memcpy(f.id, w->id, 16);
	f.offset = offset;
	f.max = max;
	n = ipc_search_fetch_encode(req, sizeof(req), &f);
	return api_ipc(w->api, "searchd", req, (size_t)n, rep, len, refused, err,
	    errlen);
}

/* Up to max results after the job's cursor; -1 when the job is gone. */
static int
api_ws_fetch(struct api_ws *w, uint32_t max, json_t *files, int *done)
{
	struct ipc_search_hit h;
	struct ipc_search_page pg;
	uint8_t *rep;
	char err[256];
	size_t len;
	int refused;

	if (api_ws_ask_page(w, -1, max > IPC_SEARCH_FETCH_MAX ?
	    IPC_SEARCH_FETCH_MAX : max, &rep, &len, &refused, err, sizeof(err)) != 0)
		return -1;
	if (ipc_search_page_decode(rep, len, &pg) != 0) {
		free(rep);
		return -1;
	}
	*done = pg.status == IPC_SEARCH_DONE;
	while (ipc_search_page_next(&pg, &h) == 1)
		json_array_append_new(files, api_search_hit_json(&h));
	free(rep);
	return 0;
}

/*
 * The closing handshake (§7.1.1): our close frame, then what the client
 * still sends is read and dropped until it closes (at most 2 s), so that
 * closing with unread bytes does not reset the connection and lose the
 * last messages.
 */
static void
api_ws_close(int sock, const uint8_t code[2])
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	uint64_t end = loop_now_ms() + 2000;
	uint8_t sink[4096];
	ssize_t n;

	if (code != NULL && api_ws_send(sock, API_WS_CLOSE, code, 2) != 0)
		return;
	(void)shutdown(sock, SHUT_WR);
	while (loop_now_ms() < end) {
		if (poll(&pfd, 1, 100) < 0)
			return;
		n = recv(sock, sink, sizeof(sink), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return;
	}
}

static void
api_ws_session(struct api_ws *w, int sock)
{
	static const uint8_t normal[2] = { 0x03, 0xe8 };	/* 1000 */
	uint64_t end = loop_now_ms() + API_WS_MAX_MS;
	json_t *files;
	uint32_t want;
	int done;

	while (loop_now_ms() < end) {
		want = w->limit >= 0 ? (uint32_t)(w->limit > IPC_SEARCH_FETCH_MAX ?
		    IPC_SEARCH_FETCH_MAX : w->limit) : 1;
		files = json_array();
		if (want == 0 || api_ws_fetch(w, want, files, &done) != 0) {
			json_decref(files);
			break;
		}
		if (done && json_array_size(files) == 0) {
			/* The final message. */
			(void)api_ws_send_json(sock, json_pack("{s:i, s:o, s:n}", "status", 1,
			    "files", files, "statistic"));
			break;
		}
		if (json_array_size(files) == 0) {
			json_decref(files);
			if (api_ws_read(w, sock, API_WS_IDLE_MS) != 0) {
				api_ws_close(sock, NULL);
				return;
			}
			continue;
		}
		if (w->limit >= 0)
			w->limit -= (int64_t)json_array_size(files);
		if (api_ws_send_json(sock, json_pack("{s:i, s:o, s:n}", "status",
		    done ? 1 : 0, "files", files, "statistic")) != 0)
			return;
		if (done || w->limit == 0)
			break;
		if (api_ws_read(w, sock, 0) != 0) {
			api_ws_close(sock, NULL);
			return;
		}
	}
	api_ws_close(sock, normal);
}

/* /console: lines until the client closes, says exit, or stays idle too long. */
static void
api_console_session(struct api_ws *w, int sock)
{
	static const uint8_t normal[2] = { 0x03, 0xe8 };	/* 1000 */
	/* Idle for 10 x api_timeout_s (10 min by default; 1 h without): closed. */
	uint64_t idle_ms = w->api->conf->api_timeout_s ?
	    (uint64_t)w->api->conf->api_timeout_s * 1000 * 10 : 3600000;
	uint64_t last = loop_now_ms();

	if (api_console_banner(w->api, sock) != 0)
		return;
	while (loop_now_ms() - last < idle_ms) {
		if (api_ws_read(w, sock, 1000) != 0) {
			api_ws_close(sock, NULL);	/* its close frame is sent */
			return;
		}
		if (w->console_state.lines > 0)
			last = loop_now_ms();
		w->console_state.lines = 0;
	}
	api_ws_close(sock, normal);
}

static void
api_ws_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls,
    const char *extra_in, size_t extra_in_size, MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct api_ws *w = cls;

	(void)conn;
	(void)con_cls;
	if (extra_in_size > 0 && extra_in_size < sizeof(w->in)) {
		memcpy(w->in, extra_in, extra_in_size);
		w->inlen = extra_in_size;
	}
	if (w->console)
		api_console_session(w, sock);
	else
		api_ws_session(w, sock);
	free(w);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

/* Whether a comma-separated header value lists tok (case-insensitive). */
static int
api_has_token(const char *v, const char *tok)
{
	size_t n = strlen(tok);

	while (v != NULL && *v != '\0') {
		while (*v == ' ' || *v == ',' || *v == '\t')
			v++;
		if (strncasecmp(v, tok, n) == 0 && (v[n] == '\0' || v[n] == ',' ||
		    v[n] == ' ' || v[n] == '\t'))
			return 1;
		v = strchr(v, ',');
	}
	return 0;
}

/* The handshake (RFC 6455 §4.2), then w runs in the upgraded connection (w is freed there). */
static int
api_ws_accept(struct api_req *r, struct api_ws *w)
{
	struct MHD_Response *resp;
	struct sha1_ctx sh;
	const char *key = api_header(r, "Sec-WebSocket-Key"), *q;
	uint8_t raw[16], digest[SHA1_DIGEST_SIZE];
	char accept[64];
	size_t rawlen;
	int rc;

	/* A WebSocket handshake, version 13, with a 16-byte key (RFC 6455 §4.2.1). */
	if (!api_has_token(api_header(r, "Connection"), "upgrade") ||
	    !api_has_token(api_header(r, "Upgrade"), "websocket") ||
	    (q = api_header(r, "Sec-WebSocket-Version")) == NULL || strcmp(q, "13") != 0 ||
	    key == NULL || sodium_base642bin(raw, sizeof(raw), key, strlen(key), NULL,
	    &rawlen, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || rawlen != 16) {
		free(w);
		return api_reply_error(r, 400, "not_websocket",
		    "a WebSocket upgrade (version 13) is expected here");
	}
	sha1_init(&sh);
	sha1_update(&sh, strlen(key), (const uint8_t *)key);
	sha1_update(&sh, strlen(API_WS_GUID), (const uint8_t *)API_WS_GUID);
	sha1_digest(&sh, sizeof(digest), digest);
	sodium_bin2base64(accept, sizeof(accept), digest, sizeof(digest),
	    sodium_base64_VARIANT_ORIGINAL);
	if ((resp = MHD_create_response_for_upgrade(api_ws_upgraded, w)) == NULL) {
		free(w);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "Upgrade");
	MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
	atomic_fetch_add(&r->api->st.replies_2xx, 1);
	rc = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return rc;
}

int
api_search_ws(struct api_req *r)
{
	struct api_ws *w;
	const char *q;
	int64_t limit = -1;
	int rc;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return api_reply_error(r, 500, "internal", "out of memory");
	w->api = r->api;
	if (api_parse_uuid(api_query(r, "id"), w->id) != 0) {
		free(w);
		return api_reply_error(r, 400, "bad_id", "id must be a search ID (UUID)");
	}
	/* The reference: no limit when it is not a number. */
	if ((q = api_query(r, "limit")) != NULL &&
	    api_parse_int(q, 0, IPC_SEARCH_RESULTS_MAX, &limit) != 0)
		limit = -1;
	w->limit = limit;
	/* An unknown job gets the JSON answer, without an upgrade (the reference's). */
	/* Offset 0 reads without moving the job's cursor. */
	{
		uint8_t *rep;
		char err[256];
		size_t len;
		int refused;

		rc = api_ws_ask_page(w, 0, 1, &rep, &len, &refused, err,
		    sizeof(err));
		if (rc == 0)
			free(rep);
		else if (refused) {
			free(w);
			return api_reply_json(r, 200, json_pack("{s:i, s:n, s:n}",
			    "status", 2, "files", "statistic"));
		} else {
			free(w);
			return api_reply_ipc_err(r, "searchd", err);
		}
	}
	return api_ws_accept(r, w);
}

/* GET /console: the command console over a WebSocket (api_console.c). */
int
api_console(struct api_req *r)
{
	struct api_ws *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return api_reply_error(r, 500, "internal", "out of memory");
	w->api = r->api;
	w->console = 1;
	return api_ws_accept(r, w);
}
