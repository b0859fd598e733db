/*
 * api_http.c — the HTTP side of apid on libmicrohttpd: the one route table
 * (every route of the reference, FEATURES.md §3.9, and ours), dispatch,
 * API-key authentication, request bodies, and the reply helpers every
 * handler answers through (errors: one JSON shape, {"error", "code"}).
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "apid.h"
#include "daemon.h"
#include "log.h"

/* In the table for its method and key rules; api_access streams the body. */
static int
api_upload_stream(struct api_req *r)
{
	return api_reply_error(r, 500, "internal", "upload not streamed");
}

/*
 * The reference's 38 core routes and 2 of its command-line program, in
 * FEATURES.md order, then ours.  api_not_yet answers 501 with a JSON
 * reason: docs/webapi.md lists what each route does here.
 */
static const struct api_route api_routes[] = {
	/* §3.1 status and account */
	{ "/test", "GET", api_test, 0 },
	{ "/status", "GET", api_status, 0 },
	{ "/status/peers", "GET", api_status_peers, 0 },
	{ "/status/config", "GET", api_status_config, 0 },
	{ "/account/info", "GET", api_account_info, 0 },
	{ "/account/delete", "GET", api_account_delete, 0 },
	/* §3.2 own blockchain */
	{ "/blockchain/header", "GET", api_chain_header, 0 },
	{ "/blockchain/append", "POST", api_chain_append, 0 },
	{ "/blockchain/read", "GET", api_chain_read, 0 },
	{ "/blockchain/file/add", "POST", api_chain_file_add, 0 },
	{ "/blockchain/file/list", "GET", api_chain_file_list, 0 },
	{ "/blockchain/file/delete", "POST", api_chain_file_delete, 0 },
	{ "/blockchain/file/update", "POST", api_chain_file_update, 0 },
	{ "/blockchain/view", "GET", api_chain_view, 0 },
	{ "/merge/directory", "GET", api_merge_directory, 0 },
	/* §3.3 profile */
	{ "/profile/list", "GET", api_profile_list, 0 },
	{ "/profile/read", "GET", api_profile_read, 0 },
	{ "/profile/write", "POST", api_profile_write, 0 },
	{ "/profile/delete", "POST", api_profile_delete, 0 },
	/* §3.4 search and explore */
	{ "/search", "POST", api_search, 0 },
	{ "/search/result", "GET", api_search_result, 0 },
	/* k= too: a browser's WebSocket cannot carry x-api-key (apid/www) */
	{ "/search/result/ws", "GET", api_search_ws, 1 },
	{ "/search/statistic", "GET", api_search_statistic, 0 },
	{ "/search/terminate", "GET", api_search_terminate, 0 },
	{ "/explore", "GET", api_explore, 0 },
	/* §3.5 downloads */
	{ "/download/start", "GET", api_download_start, 0 },
	{ "/download/status", "GET", api_download_status, 0 },
	{ "/download/action", "GET", api_download_action, 0 },
	/* §3.6 warehouse */
	{ "/warehouse/create", "POST", api_upload_stream, 0 },	/* api_access streams it */
	{ "/warehouse/create/uploadID", "GET", api_upload_id, 0 },
	{ "/warehouse/create/track/uploadID", "GET", api_upload_track, 0 },
	{ "/warehouse/create/path", "GET", api_warehouse_create_path, 0 },
	{ "/warehouse/read", "GET", api_warehouse_read, 0 },
	{ "/warehouse/read/path", "GET", api_warehouse_read_path, 0 },
	{ "/warehouse/delete", "GET", api_warehouse_delete, 0 },
	{ "/file/format", "GET", api_file_format, 0 },
	/* §3.7 streaming: the key may be k= (players cannot set headers) */
	{ "/file/read", "GET", api_file_read, 1 },
	{ "/file/view", "GET", api_file_view, 1 },
	/* §3.8 the command-line program's */
	{ "/console", "GET", api_console, 1 },
	{ "/shutdown", "GET", api_shutdown, 0 },
	/* ours */
	{ "/metrics", "GET", api_metrics, 0 },
	{ "/", "GET", api_static, 0 },	/* the web interface (api_static.c): no key */
};
#define API_NROUTES	(sizeof(api_routes) / sizeof(api_routes[0]))

/* Per request: the body collected so far, or an upload being streamed. */
struct api_conn {
	uint8_t		*body;
	size_t		 len;
	size_t		 cap;
	int		 too_big;
	struct api_upload *up;		/* POST /warehouse/create */
	int		 replied;	/* an answer was queued before the body */
};

static uint8_t api_key_bytes[16];
static int api_key_set;

const char *
api_query(struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *
api_header(struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static void
api_count_status(struct apid *api, unsigned int status)
{
	if (status >= 500)
		atomic_fetch_add(&api->st.replies_5xx, 1);
	else if (status >= 400)
		atomic_fetch_add(&api->st.replies_4xx, 1);
	else
		atomic_fetch_add(&api->st.replies_2xx, 1);
}

static int
api_queue(struct api_req *r, unsigned int status, struct MHD_Response *resp)
{
	int rc;

	if (resp == NULL)
		return MHD_NO;
	api_count_status(r->api, status);
	rc = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

int
api_reply_bytes(struct api_req *r, unsigned int status, const char *ctype,
    const void *buf, size_t len, int copy)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)buf,
	    copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	return api_queue(r, status, resp);
}

int
api_reply_json(struct api_req *r, unsigned int status, json_t *j)
{
	char *s;

	if (j == NULL)
		return api_reply_error(r, 500, "internal", "out of memory");
	s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
	json_decref(j);
	if (s == NULL)
		return api_reply_error(r, 500, "internal", "JSON encoding failed");
	return api_reply_bytes(r, status, "application/json", s, strlen(s), 0);
}

int
api_reply_error(struct api_req *r, unsigned int status, const char *code,
    const char *fmt, ...)
{
	char msg[512], *s;
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status == 400)
		atomic_fetch_add(&r->api->st.bad_requests, 1);
	j = json_pack("{s:o, s:s, s:i}", "error", api_jstrn(msg, strlen(msg)),
	    "code", code, "httpstatus", (int)status);
	if (j == NULL || (s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL) {
		json_decref(j);
		return api_reply_bytes(r, status, NULL, "", 0, 1);
	}
	json_decref(j);
	return api_reply_bytes(r, status, "application/json", s, strlen(s), 0);
}

int
api_reply_empty(struct api_req *r, unsigned int status)
{
	return api_reply_bytes(r, status, NULL, "", 0, 1);
}

int
api_body_json(struct api_req *r, const struct api_jfield *spec, size_t n,
    json_t **root, int *mhd_rc)
{
	char err[256];

	*root = api_json_parse(r->body, r->body_len, err, sizeof(err));
	if (*root == NULL || api_json_check(*root, spec, n, err, sizeof(err)) != 0) {
		json_decref(*root);
		*root = NULL;
		*mhd_rc = api_reply_error(r, 400, "bad_json", "%s", err);
		return -1;
	}
	return 0;
}

int
api_not_yet(struct api_req *r)
{
	return api_reply_error(r, 501, "not_implemented",
	    "%s is not implemented by this node yet (docs/webapi.md)", r->url);
}

/* The key as the x-api-key header, or as k= where the route allows it. */
static int
api_authorized(struct api_req *r, const struct api_route *rt)
{
	const char *k;
	uint8_t got[16];
	unsigned int diff = 0;
	size_t i;

	if (!api_key_set)
		return 1;
	if (rt != NULL && rt->fn == api_static)	/* the web interface's public files */
		return 1;
	k = api_header(r, "x-api-key");
	if (k == NULL && rt != NULL && rt->key_in_query)
		k = api_query(r, "k");
	if (k == NULL || api_parse_uuid(k, got) != 0)
		return 0;
	for (i = 0; i < sizeof(got); i++)	/* constant time */
		diff |= (unsigned int)(got[i] ^ api_key_bytes[i]);
	return diff == 0;
}

static const struct api_route *
api_route_find(const char *url, const char *method, int *path_known)
{
	size_t i;

	*path_known = 0;
	for (i = 0; i < API_NROUTES; i++) {
		if (strcmp(api_routes[i].path, url) != 0)
			continue;
		*path_known = 1;
		if (strcmp(api_routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 &&
		    strcmp(api_routes[i].method, "GET") == 0))
			return &api_routes[i];
	}
	return NULL;
}

static int
api_dispatch(struct api_req *r)
{
	const struct api_route *rt;
	int path_known;

	rt = api_route_find(r->url, r->method, &path_known);
	/* Authentication first: without the key nothing is disclosed. */
	if (!api_authorized(r, rt)) {
		atomic_fetch_add(&r->api->st.auth_failures, 1);
		return api_reply_error(r, 401, "unauthorized",
		    "missing or wrong API key (x-api-key header)");
	}
	if (rt == NULL && path_known)
		return api_reply_error(r, 405, "method_not_allowed",
		    "%s does not accept %s", r->url, r->method);
	if (rt == NULL)
		return api_reply_error(r, 404, "not_found", "no route %s", r->url);
	return rt->fn(r);
}

static enum MHD_Result
api_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct apid *api = cls;
	struct api_conn *c = *con_cls;
	const struct api_route *rt;
	struct api_req r;
	size_t want;
	uint8_t *nb;
	int known, rc;

	(void)version;
	memset(&r, 0, sizeof(r));
	r.api = api;
	r.conn = conn;
	r.method = method;
	r.url = url;
	if (c == NULL) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return MHD_NO;
		*con_cls = c;
		atomic_fetch_add(&api->st.requests, 1);
		/*
		 * An upload is streamed, never collected: checked (key, length,
		 * how many run) before its first byte is read, so a refused one
		 * is answered at once.
		 */
		rt = api_route_find(url, method, &known);
		if (rt != NULL && rt->fn == api_upload_stream && strcmp(method, "POST") == 0) {
			if (!api_authorized(&r, rt)) {
				atomic_fetch_add(&api->st.auth_failures, 1);
				c->replied = 1;
				return (enum MHD_Result)api_reply_error(&r, 401,
				    "unauthorized", "missing or wrong API key (x-api-key header)");
			}
			if (api_upload_start(&r, &c->up, &rc) != 0) {
				c->replied = 1;
				return (enum MHD_Result)rc;
			}
		}
		return MHD_YES;
	}
	if (c->replied) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (c->up != NULL) {
		if (*upload_data_size > 0) {
			api_upload_feed(c->up, upload_data, *upload_data_size);
			*upload_data_size = 0;
			return MHD_YES;
		}
		rc = api_upload_finish(&r, c->up);
		c->up = NULL;
		c->replied = 1;
		return (enum MHD_Result)rc;
	}
	if (*upload_data_size > 0) {
		if (!c->too_big && c->len + *upload_data_size > APID_BODY_MAX)
			c->too_big = 1;
		if (!c->too_big) {
			want = c->len + *upload_data_size;
			if (want > c->cap) {
				if ((nb = realloc(c->body, want * 2)) == NULL)
					return MHD_NO;
				c->body = nb;
				c->cap = want * 2;
			}
			memcpy(c->body + c->len, upload_data, *upload_data_size);
			c->len += *upload_data_size;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	r.body = c->body;
	r.body_len = c->len;
	if (c->too_big)
		return (enum MHD_Result)api_reply_error(&r, 413, "too_large",
		    "request body larger than %d bytes", APID_BODY_MAX);
	return (enum MHD_Result)api_dispatch(&r);
}

static void
api_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct api_conn *c = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (c != NULL) {
		api_upload_free(c->up);	/* a client gone mid-upload: aborted */
		free(c->body);
		free(c);
		*con_cls = NULL;
	}
}

static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("microhttpd: %s", msg);
}

int
api_http_start(struct apid *api, char *err, size_t errlen)
{
	const struct conf *c = api->conf;
	/* The TLS options, when there is a certificate; else only the end. */
	struct MHD_OptionItem tls[4] = { [0 ... 3] = { MHD_OPTION_END, 0, NULL } };
	sigset_t all, old;
	unsigned int flags;
	int i;

	if (c->api_key[0] != '\0') {
		if (api_parse_uuid(c->api_key, api_key_bytes) != 0) {
			snprintf(err, errlen, "api_key is not a UUID");
			return -1;
		}
		api_key_set = 1;
	}
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
	if (api->tls_cert != NULL) {
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
		    (void *)api->tls_cert };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
		    (void *)api->tls_key };
		tls[2] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
		    (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2" };
	}
	/* The connection threads must leave signals to the loop's signalfd. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < api->nls; i++) {
		struct apid_listener *l = &api->ls[i];

		l->mhd = MHD_start_daemon(flags, 0, NULL, NULL, api_access, api,
		    MHD_OPTION_LISTEN_SOCKET, l->fd,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)APID_MAX_CONNS,
		    MHD_OPTION_THREAD_STACK_SIZE, (size_t)APID_THREAD_STACK,
		    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)APID_MAX_CONNS_PER_IP,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)c->api_timeout_s,
		    MHD_OPTION_NOTIFY_COMPLETED, api_completed, api,
		    MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, api,
		    MHD_OPTION_ARRAY, tls,
		    MHD_OPTION_END);
		if (l->mhd == NULL) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			snprintf(err, errlen, "HTTP server on %s failed to start%s",
			    l->text, api->tls_cert ? " (TLS certificate or key "
			    "unusable?)" : "");
			return -1;
		}
		log_info("web API on %s://%s%s", api->tls_cert ? "https" : "http",
		    l->text, api_key_set ? " (API key required)" : "");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

void
api_http_stop(struct apid *api)
{
	int i;

	for (i = 0; i < api->nls; i++) {
		if (api->ls[i].mhd != NULL) {
			MHD_stop_daemon(api->ls[i].mhd);
			api->ls[i].mhd = NULL;
		}
		api->ls[i].fd = -1;	/* MHD closed it */
	}
}
