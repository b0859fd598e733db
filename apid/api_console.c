/*
 * api_console.c — the command console of the reference's command-line
 * program (FEATURES.md §1) behind GET /console: one text message in is one
 * line, answers go out as text messages.  As the reference: a command line
 * is trimmed and lower-cased, a command that needs an argument asks for it
 * on the next line, anything else is "Unknown command.".  The commands here
 * are those the IPC catalogue can answer (help lists them); "exit" closes
 * this console only (the reference's process exits: /shutdown does that).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid.h"
#include "blake3.h"
#include "hex.h"
#include "ipc.h"
#include "version.h"

#define API_CON_OUT	65536	/* one answer message */

enum { CON_NONE = 0, CON_SEARCH, CON_HASH };

static const char api_con_help[] =
    "help                  Show this help\n"
    "status                Show current status\n"
    "peer list             List current peers\n"
    "transfer list         List file transfers\n"
    "search file           Search the local index for a file (asks for the term)\n"
    "hash                  Blake3 hash of a line of text (asks for it)\n"
    "exit                  Close this console\n";

/* Appends to a bounded buffer; what does not fit is cut. */
struct api_con_out {
	char	buf[API_CON_OUT];
	size_t	len;
};

static void __attribute__((format(printf, 2, 3)))
api_con_printf(struct api_con_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len + 1 >= sizeof(o->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < sizeof(o->buf) - o->len ? (size_t)n :
		    sizeof(o->buf) - o->len - 1;
}

/* Text from peers (user agents, names): printable ASCII, the rest '?'. */
static void
api_con_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

int
api_console_banner(struct apid *api, int sock)
{
	char b[1024];

	(void)api;
	snprintf(b, sizeof(b), "Peernet Cmd %s\n------------------------------\n%s",
	    PEERNET_VERSION, api_con_help);
	return api_ws_text(sock, b);
}

static void
api_con_status(struct apid *api, struct api_con_out *o)
{
	struct ipc_net_status ns;
	char err[256], hx[67];

	if (api_net_status(api, &ns, NULL, err, sizeof(err)) != 0) {
		api_con_printf(o, "netd: %s\n", err);
		return;
	}
	hex_encode(hx, ns.pubkey, 33);
	api_con_printf(o, "Public Key: %s\n", hx);
	hex_encode(hx, ns.node_id, 32);
	api_con_printf(o, "Node ID:    %s\n", hx);
	api_con_clean(ns.listen);
	api_con_clean(ns.nat);
	api_con_clean(ns.portmap);
	api_con_printf(o, "Listen:     %s\nNAT:        %s\nPort map:   %s\n"
	    "Peers:      %" PRIu32 " (%" PRIu32 " active)\nDHT:        %" PRIu32
	    " contacts\n", ns.listen, ns.nat, ns.portmap, ns.peers, ns.active,
	    ns.dht_size);
}

static void
api_con_peers(struct apid *api, struct api_con_out *o)
{
	struct ipc_peer_list pl;
	struct ipc_peer p;
	char err[256], hx[67];
	uint8_t *rep;
	size_t len;

	if (api_ipc_empty(api, "netd", IPC_PEERS, &rep, &len, err, sizeof(err)) != 0) {
		api_con_printf(o, "netd: %s\n", err);
		return;
	}
	if (ipc_peer_list_decode(rep, len, &pl) != 0) {
		free(rep);
		api_con_printf(o, "netd: malformed peer list\n");
		return;
	}
	while (ipc_peer_list_next(&pl, &p) == 1) {
		hex_encode(hx, p.pubkey, 33);
		api_con_printf(o, "* %s%s%s\n", hx, p.root ? " [root peer]" : "",
		    p.nat ? " [NAT]" : "");
		hex_encode(hx, p.node_id, 32);
		api_con_clean(p.user_agent);
		api_con_clean(p.addr);
		api_con_printf(o, "  Node ID:    %s\n  User Agent: %s\n  Blockchain: "
		    "height %" PRIu64 " version %" PRIu64 "\n  Address:    %s%s  RTT "
		    "%" PRIu32 " ms\n", hx, p.user_agent, p.height, p.version, p.addr,
		    p.active ? " (active)" : "", p.rtt_ms);
	}
	if (pl.count == 0)
		api_con_printf(o, "No peers.\n");
	free(rep);
}

static void
api_con_transfers(struct apid *api, struct api_con_out *o)
{
	struct ipc_xfer_list xl;
	struct ipc_xfer_info x;
	uint8_t req[16], *rep;
	char err[256], hx[65];
	size_t len;
	int refused;
	long n;

	n = ipc_u32_encode(req, sizeof(req), IPC_TRANSFERS, 0);
	if (api_ipc(api, "netd", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0) {
		api_con_printf(o, "netd: %s\n", err);
		return;
	}
	if (ipc_xfer_list_decode(rep, len, &xl) != 0) {
		free(rep);
		api_con_printf(o, "netd: malformed transfer list\n");
		return;
	}
	while (ipc_xfer_list_next(&xl, &x) == 1) {
		hex_encode(hx, x.hash, 32);
		api_con_clean(x.error);
		api_con_printf(o, "%" PRIu32 "  %s  %s  %s  %" PRIu64 " of %" PRIu64
		    " bytes  %" PRIu64 " B/s%s%s\n", x.number,
		    x.role == IPC_XFER_DOWNLOAD ? "download" : "upload",
		    ipc_xfer_state_name(x.state), hx, x.done, x.total, x.rate,
		    x.error[0] ? "  " : "", x.error);
	}
	if (xl.count == 0)
		api_con_printf(o, "No transfers.\n");
	free(rep);
}

/* The local index (own and cached chains), as the reference's "search file". */
static void
api_con_search(struct apid *api, struct api_con_out *o, const char *term)
{
	struct ipc_search_req q;
	struct ipc_search_hit h;
	struct ipc_search_id sid;
	struct ipc_search_fetch f;
	struct ipc_search_page pg;
	uint8_t req[IPC_SEARCH_TERM_MAX + 256], *rep;
	char err[256], id[37], hx[67], name[IPC_STR_MAX + 1];
	size_t len;
	int refused, found = 0;
	long n;

	memset(&q, 0, sizeof(q));
	snprintf(q.term, sizeof(q.term), "%s", term);
	q.type = IPC_SEARCH_TYPE_ANY;
	q.format = IPC_SEARCH_FORMAT_ANY;
	q.size_min = q.size_max = -1;
	q.timeout_ms = 2000;
	if ((n = ipc_search_req_encode(req, sizeof(req), &q)) < 0 ||
	    api_ipc(api, "searchd", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) != 0) {
		api_con_printf(o, "searchd: %s\n", n < 0 ? "term too long" : err);
		return;
	}
	n = ipc_search_id_decode(rep, len, IPC_SEARCH_START, &sid);
	free(rep);
	if (n != 0) {
		api_con_printf(o, "searchd: malformed reply\n");
		return;
	}
	memcpy(f.id, sid.id, 16);
	f.offset = 0;
	f.max = IPC_SEARCH_FETCH_MAX;
	n = ipc_search_fetch_encode(req, sizeof(req), &f);
	if (api_ipc(api, "searchd", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) == 0) {
		if (ipc_search_page_decode(rep, len, &pg) == 0)
			while (ipc_search_page_next(&pg, &h) == 1) {
				api_format_uuid(h.file.id, id);
				hex_encode(hx, h.file.owner, 33);
				snprintf(name, sizeof(name), "%s", h.file.name);
				api_con_clean(name);
				api_con_printf(o, "File ID %s  owner %s  block %" PRIu64
				    "  %s\n", id, hx, h.file.block, name);
				found++;
			}
		free(rep);
	}
	if (found == 0)
		api_con_printf(o, "No results found.\n");
	n = ipc_search_id_encode(req, sizeof(req), IPC_SEARCH_STOP, &sid);
	if (api_ipc(api, "searchd", req, (size_t)n, &rep, &len, &refused, err,
	    sizeof(err)) == 0)
		free(rep);
}

/* Trims blanks at both ends, in place. */
static char *
api_con_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
api_console_line(struct apid *api, struct api_console *c, int sock,
    const char *text, size_t len)
{
	/* 128 KiB: the heap, while a line is handled (not every connection's). */
	struct {
		struct api_con_out	o;
		char			line[API_WS_PAYLOAD_MAX + 1];
	} *w;
	uint8_t sum[32];
	char hx[65], *l, *p;
	int pending = c->pending, rc = 0;

	if ((w = malloc(sizeof(*w))) == NULL)
		return -1;

	c->lines++;
	w->o.len = 0;
	w->o.buf[0] = '\0';
	/* A line: the text up to the first newline (clients send one per message). */
	if (len > API_WS_PAYLOAD_MAX)
		len = API_WS_PAYLOAD_MAX;
	memcpy(w->line, text, len);
	w->line[len] = '\0';
	w->line[strcspn(w->line, "\r\n")] = '\0';
	l = api_con_trim(w->line);
	c->pending = CON_NONE;
	if (pending == CON_SEARCH) {
		api_con_search(api, &w->o, l);
	} else if (pending == CON_HASH) {
		blake3_hash(l, strlen(l), sum);
		hex_encode(hx, sum, 32);
		api_con_printf(&w->o, "blake3 hash: %s\n", hx);
	} else {
		for (p = l; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if (strcmp(l, "help") == 0 || strcmp(l, "?") == 0)
			api_con_printf(&w->o, "%s", api_con_help);
		else if (strcmp(l, "status") == 0)
			api_con_status(api, &w->o);
		else if (strcmp(l, "peer list") == 0)
			api_con_peers(api, &w->o);
		else if (strcmp(l, "transfer list") == 0)
			api_con_transfers(api, &w->o);
		else if (strcmp(l, "search file") == 0) {
			api_con_printf(&w->o, "Enter search term:\n");
			c->pending = CON_SEARCH;
		} else if (strcmp(l, "hash") == 0) {
			api_con_printf(&w->o, "Enter text to hash:\n");
			c->pending = CON_HASH;
		} else if (strcmp(l, "exit") == 0) {
			(void)api_ws_text(sock, "Bye.\n");
			(void)api_ws_bye(sock);
			rc = -1;
		} else if (*l != '\0')
			api_con_printf(&w->o, "Unknown command.\n");
	}
	if (rc == 0 && w->o.len > 0)
		rc = api_ws_text(sock, w->o.buf);
	free(w);
	return rc;
}
