/*
 * netd.h — peernet-netd: the only process that touches the network.  It
 * holds the node identity, keeps the peer list and the Kademlia table, and
 * answers id/sign/peers/ping/find requests.
 *
 * Files: netd.c (start-up), control.c (requests from ctl and the other
 * daemons), net.c (sockets), node.c and node_*.c (packets in and out,
 * Announcement/Response/Ping/Pong, liveness, bootstrap, DHT glue), the
 * transfer engine (xfer.h); peer.c, seq.c, kad.c are the pure modules
 * node.c drives.  node.c and the modules take time, randomness, timers,
 * datagrams out and storaged from n->env (env.h; env_real.c in the
 * daemon, tests/sim/nodesim.c in the simulation).
 *
 * Layers (docs/design.md has the table; tests/integration/layers.sh keeps
 * it): calls go one way, down
 *
 *	netd.c > netlink.c > control.c > xfer_setup.c > the engine's users
 *	(xfer_getblock.c; xfer_file.c > xfer_stream.c, xfer_prov.c >
 *	xfer_req.c > xfer_merkle.c > xfer_fsess.c) > xfer.c > lan.c >
 *	node.c > node_known.c > node_trav.c > node_answer.c > node_chain.c >
 *	node_kad.c, node_send.c > env_real.c > net.c, portmap.c > the pure
 *	modules.
 *
 * What a lower file hands up goes through a hook the upper one sets at
 * init, never a call by name: n->packet_in (net.c to node.c),
 * n->ctl_hooks (node.c to control.c), n->xfer_hooks (node.c to the
 * engine), struct xfer_user / xfer_ops (the engine to its users), struct
 * xfer_file_parts (the file session and merkle checks to the roles).
 */
#ifndef PEERNET_NETD_H
#define PEERNET_NETD_H

#include <stdint.h>

#include "conf.h"
#include "daemon.h"
#include "env.h"
#include "ident.h"
#include "ipc_msg.h"
#include "kad.h"
#include "peer.h"
#include "seq.h"
#include "wire_packet.h"
#include "xfer.h"

#define NETD_MAX_SOCKS		CONF_MAX_LISTEN
#define NETD_MAX_PENDING	64	/* ctl pings/finds waiting at once */
#define NETD_BOOT_PHASE1_MS	7000	/* root peers retried every 7 s ... */
#define NETD_BOOT_PHASE1_TRIES	85	/* ... 85 times (10 min) */
#define NETD_BOOT_PHASE2_MS	(5 * 60 * 1000)
#define NETD_BOOT_PHASE2_TRIES	12
#define NETD_REPLAY_CAPACITY	65536
#define NETD_REPLAY_WINDOW_MS	(10 * 60 * 1000)
#define NETD_KNOWN_SAVE_MS	30000	/* good peers handed to storaged this often */
#define NETD_TICK_MS		100	/* node_tick's period */

struct netd;
struct node_state;
struct peer_conn;

/*
 * What node.c hands up to control.c (ctl's pings and finds), set by
 * control_init: node.c, below control.c, calls none of its functions.
 * n->ctl_hooks NULL: no control (tests/sim runs nodes without one).
 */
struct netd_ctl_hooks {
	/* The Pong for a ctl ping: replies to the request in slot. */
	void	(*ping_answered)(struct netd *n, uint32_t slot, uint32_t seq,
		    uint32_t rtt_ms, const struct peer_addr *from);
	/*
	 * A lookup ended: replies to the finds waiting for it, with a (NULL:
	 * none) the found node's address; returns how many.
	 */
	int	(*find_done)(struct netd *n, const struct kad_result *r,
		    const struct peer_addr *a);
	void	(*expire)(struct netd *n, uint64_t now);	/* each node tick */
	void	(*stop)(struct netd *n);			/* node_free */
};

/*
 * What node.c hands up to the transfer engine (xfer*.c), set by xfer_init
 * (xfer_setup.c) and cleared by xfer_free.  n->xfer_hooks NULL: no
 * engine; Get Block and Transfer messages are dropped as unknown.
 */
struct netd_xfer_hooks {
	/* A datagram whose first 16 bytes may be a registered transfer ID: 1 if consumed. */
	int	(*lite_in)(struct netd *n, const uint8_t *raw, size_t len);
	/* WIRE_CMD_GET_BLOCK and WIRE_CMD_TRANSFER from a registered peer. */
	void	(*packet)(struct netd *n, struct peer *p, struct peer_conn *c,
		    const struct wire_packet *pkt);
	void	(*tick)(struct netd *n, uint64_t now_ms);	/* each node tick */
	/* Storaged's cache wants blocks [from, to) of p's chain `version`. */
	void	(*blocks_wanted)(struct netd *n, struct peer *p, uint64_t version,
		    uint64_t from, uint64_t to);
};

struct netd_sock {
	int		 fd;		/* -1: closed, its address went away (netlink.c) */
	int		 index;
	int		 family;
	uint16_t	 port;		/* bound port (the kernel's choice for :0) */
	uint16_t	 port_external;	/* mapped by UPnP/NAT-PMP (portmap.c); 0: none */
	int		 no_gso;	/* the path refused UDP_SEGMENT (net.c) */
	struct peer_addr addr;		/* bound address */
	char		 text[64];
	struct netd *n;
};

/* A ctl request waiting for the network (ping, find). */
struct netd_pending {
	struct ipc_req	*req;
	int		 kind;		/* IPC_PING or IPC_FIND */
	uint8_t		 key[32];	/* node ID pinged or looked up */
	uint8_t		 pub[33];	/* pinged peer */
	uint32_t	 seq;		/* Ping sequence */
	uint32_t	 lookup_id;
	uint64_t	 deadline;
	uint32_t	 timeout_ms;	/* as asked (for the error text) */
};

struct netd {
	struct daemon		*d;
	struct net_env		 env;		/* clock, random, send, timers (env.h) */
	struct ident		 id;
	struct netd_sock	 socks[NETD_MAX_SOCKS];
	int			 nsocks;
	struct peer_list	*peers;
	struct seq_table	*seqs;
	struct kad		*kad;
	struct wire_replay	 replay;
	uint64_t		 counters[IPC_NC_MAX];
	struct netd_pending	 pending[NETD_MAX_PENDING];
	int			 boot_tries;
	uint64_t		 boot_next;
	int			 kad_boot_left;	/* bucket refreshes once the table has 2 nodes */
	uint64_t		 kad_boot_next;
	struct loop_timer	*kad_timer;
	uint64_t		 chain_height;	/* own chain, from storaged's events */
	uint64_t		 chain_version;
	int			 chain_known;	/* storaged told us the values above */
	uint64_t		 chain_asked;	/* when IPC_CHAIN was last sent */
	struct ipc_client	 store;		/* async requests to storaged (daemon only) */
	struct ipc_sub		 events;	/* storaged's events (daemon only) */
	int			 store_open;	/* node_ipc opened store ... */
	int			 events_open;	/* ... and events */
	struct node_state	*node;		/* node.c's state (node_init) */
	void			*xfer;		/* xfer.c's state */
	void			*portmap;	/* portmap.c's state */
	void			*lan;		/* lan.c's state; NULL when lan = no */
	void			*slink;		/* secure_link.c's; NULL: secure_transport = off */
	struct ipc_known_peers	 known;		/* remembered from the last run */
	int			 known_loaded;
	uint64_t		 known_asked;
	uint64_t		 known_next;	/* next contact round */
	int			 known_tries;
	uint64_t		 known_saved;
	/*
	 * Every ended Kademlia lookup is also shown here when set (tests/sim
	 * asks finds in-process, as ctl does over IPC through control.c);
	 * nonzero: the found node is contacted, as for a ctl find.
	 */
	int			(*lookup_done)(struct netd *n,
				    const struct kad_result *r);
	/*
	 * Where net.c hands every datagram it reads: node.c's, set by
	 * node_init (NULL before: dropped).  A hook rather than a call, so
	 * that net.c, below node.c, does not call up into it.
	 */
	void			(*packet_in)(struct netd *n, int sock,
				    const struct peer_addr *local,
				    const struct peer_addr *remote,
				    const uint8_t *raw, size_t len);
	/* The same for node.c and the layers above it (see their structs). */
	const struct netd_ctl_hooks	*ctl_hooks;
	const struct netd_xfer_hooks	*xfer_hooks;
};

/* net.c */
int	net_sockets_open(struct netd *n, char *err, size_t errlen);
void	net_sockets_close(struct netd *n);
int	net_send_raw(struct netd *n, int sock, const struct peer_addr *local,
	    const struct peer_addr *remote, const uint8_t *buf, size_t len);
/*
 * The same with the datagram in pieces (a lite header and the UDT packet it
 * carries): gathered straight into the send queue, no copy of its own.
 */
struct iovec;
int	net_send_rawv(struct netd *n, int sock, const struct peer_addr *local,
	    const struct peer_addr *remote, const struct iovec *iov, int iovcnt);
/*
 * Between these, datagrams leave in sendmmsg batches (nestable); inside the
 * event loop everything sent is batched until the wake-up ends anyway.
 */
void	net_tx_begin(struct netd *n);
void	net_tx_end(struct netd *n);
struct iovec;
struct mmsghdr;
struct msghdr;
struct sockaddr_storage;
/*
 * recvmmsg set-up: datagram i into bufs + i * size, its sender into
 * from[i], its control messages (ctl != NULL) into ctl + i * ctl_size.
 */
void	net_rx_batch_init(struct mmsghdr *mm, struct iovec *iov, int n,
	    uint8_t *bufs, size_t size, struct sockaddr_storage *from,
	    uint8_t *ctl, size_t ctl_size);
/*
 * The one control message of an outgoing datagram in mh's (zeroed)
 * control buffer: IP_PKTINFO / IPV6_PKTINFO with source address src (or
 * none) and interface ifindex (or 0).
 */
void	net_pktinfo_put(struct msghdr *mh, int family,
	    const struct peer_addr *src, unsigned int ifindex);
/* Sockets opened and closed while running (netlink.c); see net.c. */
int	net_socket_bind_fd(const struct peer_addr *a, int freebind);
int	net_socket_adopt(struct netd *n, int fd, int slot);
int	net_socket_release(struct netd *n, int index);
void	net_socket_close_one(struct netd *n, int index);

/* portmap.c (UPnP / NAT-PMP; pure helpers in portmap.h) */
int	portmap_start(struct netd *n, char *err, size_t errlen);
void	portmap_stop(struct netd *n);
void	portmap_addresses_changed(struct netd *n);
void	portmap_status(struct netd *n, char *text, size_t textcap,
	    char *external, size_t extcap);

/*
 * node.c and the node_*.c files split from it (node_int.h).  The core
 * (node_init, node_start, node_free, packets through
 * n->packet_in, node_chain_event) reaches the world only through n->env,
 * n->d->conf and n->socks: tests/sim runs it on a fake env.  node_ipc /
 * node_ipc_close are the daemon's links to storaged.
 */
int	node_init(struct netd *n, char *err, size_t errlen);
int	node_start(struct netd *n, char *err, size_t errlen);	/* the tick timer */
void	node_free(struct netd *n);
void	node_tick(struct netd *n);
int	node_ipc(struct netd *n, char *err, size_t errlen);
void	node_ipc_close(struct netd *n);
/* node_chain.c: storaged's event, the own chain is at height / version now. */
void	node_chain_event(struct netd *n, uint64_t height, uint64_t version);
/* node_send.c: a signed, encrypted packet to p (§5.8 connection choice); also xfer*.c. */
int	node_send_peer(struct netd *n, struct peer *p, uint8_t cmd, uint32_t seq,
	    const uint8_t *payload, size_t len);
int	node_discovery_in(struct netd *n, const uint8_t sender[33],
	    const struct peer_addr *from);
int	node_discovery_payload(struct netd *n, uint8_t *out, size_t cap, size_t *len);
/*
 * node_answer.c: a request from connection c, which has not completed a round trip with
 * us (peer_conn_verified), that must not be served yet (it would make us
 * send more than c sent): held, and a cookie sent to c; processed again
 * (xfer_packet, or as an Announcement) once c answers the cookie.
 * -1 when it cannot be held (too large, too many from that peer).
 */
int	node_answer_hold(struct netd *n, struct peer *p, struct peer_conn *c,
	    const struct wire_packet *pkt);
/* For control.c: a Ping for ctl (answer to pending slot), see node.c. */
int	node_ping_ctl(struct netd *n, struct peer *p, int slot, uint32_t *seq);
/* node_trav.c: a punch to that node failed within the back-off time. */
int	node_trav_punch_failed(struct netd *n, const uint8_t node_id[32]);
/* Own NAT state as text for status; returns the number of active peers. */
uint32_t node_nat_state(struct netd *n, char *out, size_t len);

/*
 * control.c: requests from ctl, apid and the other daemons.  control_init
 * sets n->ctl_hooks: node.c answers ctl's pings and finds, expires their
 * deadlines and answers them all "stopping" through those.
 */
void	control_init(struct netd *n);
void	control_request(struct netd *n, struct ipc_req *req, uint16_t type,
	    const uint8_t *msg, size_t len);

#endif
