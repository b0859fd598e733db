/*
 * portmap.c — UPnP IGD (libminiupnpc) and NAT-PMP (libnatpmp) port
 * mappings for netd's private IPv4 networks (docs/protocol.md §6.4).
 *
 * Order per network: UPnP first (as the reference), NAT-PMP when UPnP is
 * off or produced no mapping (no IGD, or the IGD refused).  Leases are
 * asked for PORTMAP_LEASE_S and renewed at half; the reference asks for a
 * permanent lease (0), which a crashed node leaves behind on the router
 * forever.  An IGD that only accepts permanent leases gets 0 and a
 * periodic re-add instead.
 *
 * Threading: both libraries block for seconds, so one worker thread owns
 * the library state (struct pm_target) and publishes a small view of each
 * mapping (struct pm_view) under a mutex, then wakes the loop through an
 * eventfd; the loop copies the external ports into its sockets.  Nothing
 * here grows: at most PORTMAP_MAX_TARGETS networks, fixed-size texts,
 * failures retried with a bounded exponential backoff.
 */
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#define ENABLE_STRNATPMPERR
#include <natpmp.h>

#include "log.h"
#include "netd.h"
#include "portmap.h"

#define PM_UPNP_ONLY_PERMANENT	725	/* OnlyPermanentLeasesSupported */

/* What the loop may read (under pm->mu). */
struct pm_view {
	int		 sock;			/* index in n->socks */
	char		 ip[INET_ADDRSTRLEN];	/* internal client */
	uint16_t	 port;			/* internal (listening) port */
	enum portmap_proto proto;		/* PORTMAP_NONE: no mapping */
	uint16_t	 ext_port;
	char		 ext_ip[INET_ADDRSTRLEN];	/* "" unknown */
	uint64_t	 renew_at;		/* monotonic ms */
	char		 state[PORTMAP_STATUS_MAX];	/* when no mapping */
};

/* The worker's own state of one network. */
struct pm_target {
	struct pm_view	 v;
	uint8_t		 ip4[4];	/* v.ip as bytes */
	uint32_t	 lease;		/* granted, seconds; 0 permanent */
	int		 upnp_permanent;	/* the IGD wants lease 0 */
	uint64_t	 next;		/* next action, monotonic ms */
	const struct net_env *env;	/* clock and random (thread-safe in the daemon) */
	int		 failures;
	int		 have_igd;
	struct UPNPUrls	 urls;
	struct IGDdatas	 igd;
};

struct portmap {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* wakes the worker; signals done */
	pthread_t	 thread;
	int		 efd;		/* worker -> loop; -1 once stopped */
	int		 started;	/* the worker runs */
	int		 stop;
	int		 done;
	int		 upnp, natpmp;
	uint64_t	 errors;	/* not yet added to the counters */
	struct pm_target t[PORTMAP_MAX_TARGETS];	/* .v read under mu */
	int		 nt;
	char		 idle[PORTMAP_STATUS_MAX];	/* status when nt == 0 */
	const struct net_env *env;	/* &n->env */
};

int
portmap_ip_eligible(const uint8_t ip[4])
{
	return ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
	    (ip[0] == 192 && ip[1] == 168);
}

uint64_t
portmap_backoff_ms(int failures)
{
	uint64_t ms = PORTMAP_BACKOFF_MIN_MS;
	int i;

	for (i = 1; i < failures && ms < PORTMAP_BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms < PORTMAP_BACKOFF_MAX_MS ? ms : PORTMAP_BACKOFF_MAX_MS;
}

uint64_t
portmap_renew_ms(uint32_t lease_s)
{
	/* Half the lease, so one lost renewal still leaves time for another. */
	if (lease_s == 0)
		return (uint64_t)PORTMAP_PERMANENT_RECHECK_S * 1000;
	if (lease_s < 60)
		return 30 * 1000;
	return (uint64_t)lease_s * 1000 / 2;
}

uint16_t
portmap_random_port(uint32_t r)
{
	return (uint16_t)(1024 + r % (65535 - 1024));
}

const char *
portmap_proto_name(enum portmap_proto proto)
{
	switch (proto) {
	case PORTMAP_UPNP:
		return "upnp";
	case PORTMAP_NATPMP:
		return "natpmp";
	default:
		return "none";
	}
}

int
portmap_format(char *out, size_t cap, enum portmap_proto proto,
    const char *ext_ip, uint16_t ext_port, const char *int_ip,
    uint16_t int_port, uint64_t renew_in_s)
{
	int n;

	n = snprintf(out, cap, "%s: %s:%u -> %s:%u, renews in %llu s",
	    portmap_proto_name(proto), ext_ip[0] != '\0' ? ext_ip : "?",
	    ext_port, int_ip, int_port, (unsigned long long)renew_in_s);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Worker -> loop: a view changed.  Called with pm->mu held. */
static void
pm_wake_loop(struct portmap *pm)
{
	uint64_t one = 1;

	if (pm->efd >= 0 && write(pm->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_debug("portmap: eventfd: %s", strerror(errno));
}

static void
pm_publish(struct portmap *pm, struct pm_target *t, const struct pm_view *v,
    int errors)
{
	pthread_mutex_lock(&pm->mu);
	t->v = *v;
	pm->errors += (uint64_t)errors;
	pm_wake_loop(pm);
	pthread_mutex_unlock(&pm->mu);
}

static void
pm_forget_igd(struct pm_target *t)
{
	if (t->have_igd)
		FreeUPNPUrls(&t->urls);
	t->have_igd = 0;
	memset(&t->urls, 0, sizeof(t->urls));
}

/* A dotted IPv4 address that is not 0.0.0.0 (routers answer that when offline). */
static int
pm_valid_ext_ip(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1 && a.s_addr != 0;
}

/*
 * One UPnP attempt for t (create or renew).  Returns 1 mapped, 0 nothing
 * found (no answer to SSDP), -1 failure (an answer we could not use: counted).
 */
static int
pm_upnp_map(struct pm_target *t, struct pm_view *v, char *why, size_t cap)
{
	struct UPNPDev *devs;
	char lan[64], ext[40], eport[8], iport[8], lease[12];
	uint16_t want;
	int e = 0, r, i;

	if (!t->have_igd) {
		devs = upnpDiscover(PORTMAP_DISCOVER_MS, t->v.ip, NULL,
		    UPNP_LOCAL_PORT_ANY, 0, 2, &e);
		if (devs == NULL) {
			snprintf(why, cap, "no UPnP device answered");
			return 0;
		}
		memset(&t->urls, 0, sizeof(t->urls));
		memset(&t->igd, 0, sizeof(t->igd));
		r = UPNP_GetValidIGD(devs, &t->urls, &t->igd, lan, sizeof(lan));
		freeUPNPDevlist(devs);
		if (r != 1 && r != 2) {
			if (r != 0)
				FreeUPNPUrls(&t->urls);
			snprintf(why, cap, "UPnP: no usable IGD (%s)",
			    r == 0 ? "unreadable description" : "not a gateway");
			return -1;
		}
		t->have_igd = 1;
	}
	memset(ext, 0, sizeof(ext));
	r = UPNP_GetExternalIPAddress(t->urls.controlURL, t->igd.first.servicetype, ext);
	ext[sizeof(ext) - 1] = '\0';
	if (r == UPNPCOMMAND_SUCCESS && pm_valid_ext_ip(ext))
		strlcpy(v->ext_ip, ext, sizeof(v->ext_ip));
	want = t->v.proto == PORTMAP_UPNP ? t->v.ext_port : t->v.port;
	snprintf(iport, sizeof(iport), "%u", t->v.port);
	for (i = 0; i <= PORTMAP_RANDOM_TRIES; i++) {
		snprintf(eport, sizeof(eport), "%u", want);
		snprintf(lease, sizeof(lease), "%u",
		    t->upnp_permanent ? 0 : PORTMAP_LEASE_S);
		r = UPNP_AddPortMapping(t->urls.controlURL, t->igd.first.servicetype,
		    eport, iport, t->v.ip, "Peernet", "UDP", NULL, lease);
		if (r == PM_UPNP_ONLY_PERMANENT && !t->upnp_permanent) {
			/* The IGD cannot expire mappings: take a permanent one. */
			t->upnp_permanent = 1;
			i--;
			continue;
		}
		if (r == UPNPCOMMAND_SUCCESS) {
			v->proto = PORTMAP_UPNP;
			v->ext_port = want;
			t->lease = t->upnp_permanent ? 0 : PORTMAP_LEASE_S;
			return 1;
		}
		/* Refused (port taken, ...): a random external port, as the reference. */
		want = portmap_random_port(env_random32(t->env));
	}
	snprintf(why, cap, "UPnP AddPortMapping: %s (%d)",
	    strupnperror(r) != NULL ? strupnperror(r) : "error", r);
	/* The description may be stale (router rebooted): rediscover next time. */
	pm_forget_igd(t);
	return -1;
}

/* One request/answer with retries, bounded by budget_ms. */
static int
pm_natpmp_wait(const struct net_env *env, natpmp_t *np, natpmpresp_t *resp,
    uint64_t budget_ms)
{
	uint64_t end = env_now_ms(env) + budget_ms, now;
	struct timeval tv;
	struct pollfd pfd;
	long ms;
	int r;

	for (;;) {
		if ((now = env_now_ms(env)) >= end)
			return NATPMP_TRYAGAIN;
		if (getnatpmprequesttimeout(np, &tv) != 0)
			tv.tv_sec = 0, tv.tv_usec = 100000;
		ms = tv.tv_sec * 1000 + tv.tv_usec / 1000;
		if (ms < 1)
			ms = 1;
		if ((uint64_t)ms > end - now)
			ms = (long)(end - now);
		pfd.fd = np->s;
		pfd.events = POLLIN;
		pfd.revents = 0;
		(void)poll(&pfd, 1, (int)ms);
		r = readnatpmpresponseorretry(np, resp);
		if (r != NATPMP_TRYAGAIN)
			return r;
	}
}

/* A gateway that stays silent or refuses the protocol: not an error of ours. */
static int
pm_natpmp_absent(int r)
{
	return r == NATPMP_TRYAGAIN || r == NATPMP_ERR_NOGATEWAYSUPPORT ||
	    r == NATPMP_ERR_RECVFROM || r == NATPMP_ERR_CONNECTERR;
}

/* Like pm_upnp_map, over NAT-PMP to the default gateway. */
static int
pm_natpmp_map(struct pm_target *t, struct pm_view *v, char *why, size_t cap)
{
	natpmp_t np;
	natpmpresp_t resp;
	char ext[INET_ADDRSTRLEN];
	uint16_t want;
	int r;

	if ((r = initnatpmp(&np, 0, 0)) != 0) {
		snprintf(why, cap, "NAT-PMP: %s", r == NATPMP_ERR_CANNOTGETGATEWAY ?
		    "no default gateway" : strnatpmperr(r));
		return r == NATPMP_ERR_CANNOTGETGATEWAY ? 0 : -1;
	}
	memset(&resp, 0, sizeof(resp));
	if ((r = sendpublicaddressrequest(&np)) >= 0)
		r = pm_natpmp_wait(t->env, &np, &resp, PORTMAP_NATPMP_MS);
	if (r < 0)
		goto fail;
	if (resp.type != NATPMP_RESPTYPE_PUBLICADDRESS) {
		r = NATPMP_ERR_UNSUPPORTEDOPCODE;
		goto fail;
	}
	if (inet_ntop(AF_INET, &resp.pnu.publicaddress.addr, ext, sizeof(ext)) != NULL &&
	    pm_valid_ext_ip(ext))
		strlcpy(v->ext_ip, ext, sizeof(v->ext_ip));
	want = t->v.proto == PORTMAP_NATPMP ? t->v.ext_port : t->v.port;
	memset(&resp, 0, sizeof(resp));
	if ((r = sendnewportmappingrequest(&np, NATPMP_PROTOCOL_UDP, t->v.port,
	    want, PORTMAP_LEASE_S)) >= 0)
		r = pm_natpmp_wait(t->env, &np, &resp, PORTMAP_NATPMP_MS);
	if (r < 0)
		goto fail;
	if (resp.type != NATPMP_RESPTYPE_UDPPORTMAPPING ||
	    resp.pnu.newportmapping.privateport != t->v.port ||
	    resp.pnu.newportmapping.mappedpublicport == 0 ||
	    resp.pnu.newportmapping.lifetime == 0) {
		closenatpmp(&np);
		snprintf(why, cap, "NAT-PMP: answer does not match the request");
		return -1;
	}
	closenatpmp(&np);
	v->proto = PORTMAP_NATPMP;
	v->ext_port = resp.pnu.newportmapping.mappedpublicport;
	/* A gateway's word on the lifetime, but never longer than asked. */
	t->lease = resp.pnu.newportmapping.lifetime < PORTMAP_LEASE_S ?
	    resp.pnu.newportmapping.lifetime : PORTMAP_LEASE_S;
	return 1;
fail:
	closenatpmp(&np);
	if (pm_natpmp_absent(r)) {
		snprintf(why, cap, "NAT-PMP: gateway does not answer");
		return 0;
	}
	snprintf(why, cap, "NAT-PMP: %s", strnatpmperr(r));
	return -1;
}

/* Removes t's mapping on the router; bounded by the libraries' timeouts. */
static void
pm_release(struct pm_target *t, uint64_t budget_ms)
{
	natpmp_t np;
	natpmpresp_t resp;
	char eport[8];
	int r;

	if (t->v.proto == PORTMAP_UPNP && t->have_igd) {
		snprintf(eport, sizeof(eport), "%u", t->v.ext_port);
		r = UPNP_DeletePortMapping(t->urls.controlURL,
		    t->igd.first.servicetype, eport, "UDP", NULL);
		if (r != UPNPCOMMAND_SUCCESS)
			log_warnx("portmap: UPnP DeletePortMapping %u: %s", t->v.ext_port,
			    strupnperror(r) != NULL ? strupnperror(r) : "error");
		else
			log_info("portmap: UPnP mapping of port %u removed", t->v.ext_port);
	} else if (t->v.proto == PORTMAP_NATPMP && initnatpmp(&np, 0, 0) == 0) {
		/* RFC 6886 §3.4: lifetime 0 and external port 0 delete the mapping. */
		if (sendnewportmappingrequest(&np, NATPMP_PROTOCOL_UDP, t->v.port, 0, 0) >= 0 &&
		    pm_natpmp_wait(t->env, &np, &resp, budget_ms) >= 0)
			log_info("portmap: NAT-PMP mapping of port %u removed", t->v.ext_port);
		else
			log_warnx("portmap: NAT-PMP delete of port %u unanswered", t->v.ext_port);
		closenatpmp(&np);
	}
	pm_forget_igd(t);
}

/* The due action of one network: map, renew, or wait after a failure. */
static void
pm_step(struct portmap *pm, struct pm_target *t)
{
	struct pm_view v = t->v;
	char why[PORTMAP_STATUS_MAX] = "", why2[PORTMAP_STATUS_MAX] = "";
	int r = 0, errors = 0, had = t->v.proto != PORTMAP_NONE;
	uint64_t now;

	v.proto = PORTMAP_NONE;
	if (pm->upnp && (t->v.proto == PORTMAP_NONE || t->v.proto == PORTMAP_UPNP)) {
		r = pm_upnp_map(t, &v, why, sizeof(why));
		errors += r < 0;
	}
	if (r != 1 && pm->natpmp && t->v.proto != PORTMAP_UPNP) {
		int upnp_failed = errors > 0;

		r = pm_natpmp_map(t, &v, why2, sizeof(why2));
		errors += r < 0;
		/* Report the failures, both when both failed; else the silence. */
		if (r < 0 && upnp_failed) {
			strlcat(why, "; ", sizeof(why));
			strlcat(why, why2, sizeof(why));
		} else if (r < 0 || !upnp_failed)
			strlcpy(why, why2, sizeof(why));
	}
	now = env_now_ms(t->env);
	if (r == 1) {
		if (!had || v.ext_port != t->v.ext_port)
			log_info("portmap: %s mapped %s:%u -> %s:%u (lease %u s)",
			    portmap_proto_name(v.proto), v.ext_ip[0] ? v.ext_ip : "?",
			    v.ext_port, v.ip, v.port, t->lease);
		t->failures = 0;
		v.renew_at = now + portmap_renew_ms(t->lease);
		t->next = v.renew_at;
		v.state[0] = '\0';
	} else {
		if (had)
			log_warnx("portmap: lost the mapping of %s:%u: %s", v.ip, v.port, why);
		else if (t->failures == 0)
			log_info("portmap: %s:%u not mapped: %s", v.ip, v.port, why);
		if (t->failures < 64)
			t->failures++;
		t->next = now + portmap_backoff_ms(t->failures);
		v.ext_port = 0;
		v.renew_at = 0;
		/* An address from a router that maps nothing is not worth reporting. */
		v.ext_ip[0] = '\0';
		if (errors > 0)
			snprintf(v.state, sizeof(v.state), "failed: %s", why);
		else
			strlcpy(v.state, "no gateway found", sizeof(v.state));
	}
	pm_publish(pm, t, &v, errors);
}

/*
 * An absolute deadline for pthread_cond_timedwait, on the condition
 * variable's own clock (CLOCK_MONOTONIC): the OS's, not netd's env time.
 */
static uint64_t
pm_deadline(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
	return ms;
}

static void *
pm_worker(void *arg)
{
	struct portmap *pm = arg;
	struct timespec ts;
	uint64_t now, wake;
	int i, due;

	pthread_mutex_lock(&pm->mu);
	while (!pm->stop) {
		now = env_now_ms(pm->env);
		due = -1;
		wake = now + 60000;
		for (i = 0; i < pm->nt; i++) {
			if (pm->t[i].next <= now) {
				due = i;
				break;
			}
			if (pm->t[i].next < wake)
				wake = pm->t[i].next;
		}
		if (due >= 0) {
			pthread_mutex_unlock(&pm->mu);
			pm_step(pm, &pm->t[due]);
			pthread_mutex_lock(&pm->mu);
			continue;
		}
		pm_deadline(&ts, wake - now);
		pthread_cond_timedwait(&pm->cv, &pm->mu, &ts);
	}
	pthread_mutex_unlock(&pm->mu);
	/* Stopping: give every mapping back, within the stop budget. */
	for (i = 0; i < pm->nt; i++)
		pm_release(&pm->t[i], PORTMAP_STOP_MS / 2);
	pthread_mutex_lock(&pm->mu);
	pm->done = 1;
	pthread_cond_broadcast(&pm->cv);
	pthread_mutex_unlock(&pm->mu);
	return NULL;
}

/* Loop side: copies the mapped ports into the sockets, moves the errors. */
static void
pm_sync(struct netd *n, struct portmap *pm)
{
	int i;

	pthread_mutex_lock(&pm->mu);
	for (i = 0; i < pm->nt; i++)
		n->socks[pm->t[i].v.sock].port_external = 0;
	/* A wildcard socket mapped on several interfaces reports the first. */
	for (i = 0; i < pm->nt; i++) {
		const struct pm_view *v = &pm->t[i].v;

		if (v->proto != PORTMAP_NONE && n->socks[v->sock].port_external == 0)
			n->socks[v->sock].port_external = v->ext_port;
	}
	n->counters[IPC_NC_PORTMAP_ERRORS] += pm->errors;
	pm->errors = 0;
	pthread_mutex_unlock(&pm->mu);
}

static void
pm_on_event(int fd, uint32_t events, void *arg)
{
	struct netd *n = arg;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) == -1 && errno != EAGAIN)
		log_debug("portmap: eventfd read: %s", strerror(errno));
	if (n->portmap != NULL)
		pm_sync(n, n->portmap);
}

static int
pm_add_target(struct portmap *pm, int sock, const uint8_t ip[4], uint16_t port)
{
	struct pm_target *t;
	int i;

	for (i = 0; i < pm->nt; i++)
		if (pm->t[i].v.sock == sock && memcmp(pm->t[i].ip4, ip, 4) == 0)
			return 0;	/* already listed */
	if (pm->nt >= PORTMAP_MAX_TARGETS)
		return -1;
	t = &pm->t[pm->nt++];
	memset(t, 0, sizeof(*t));
	t->env = pm->env;
	t->v.sock = sock;
	t->v.port = port;
	memcpy(t->ip4, ip, 4);
	inet_ntop(AF_INET, ip, t->v.ip, sizeof(t->v.ip));
	strlcpy(t->v.state, "searching", sizeof(t->v.state));
	return 0;
}

/* §6.4 with wildcards: private IPv4 networks, one per interface address. */
static void
pm_find_targets(struct netd *n, struct portmap *pm)
{
	struct ifaddrs *ifa, *i;
	uint8_t ip[4];
	int s;

	for (s = 0; s < n->nsocks; s++) {
		const struct netd_sock *k = &n->socks[s];

		if (k->fd < 0 || k->family != AF_INET)
			continue;
		if (!peer_addr_is_unspecified(&k->addr)) {
			memcpy(ip, k->addr.ip, 4);
			if (portmap_ip_eligible(ip) && pm_add_target(pm, s, ip, k->port) == -1)
				log_warnx("portmap: more than %d networks, %s not mapped",
				    PORTMAP_MAX_TARGETS, k->text);
			continue;
		}
		if (getifaddrs(&ifa) == -1) {
			log_warn("portmap: getifaddrs");
			continue;
		}
		for (i = ifa; i != NULL; i = i->ifa_next) {
			if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
			    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
				continue;
			memcpy(ip, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
			if (portmap_ip_eligible(ip) && pm_add_target(pm, s, ip, k->port) == -1)
				log_warnx("portmap: more than %d networks, %s not mapped",
				    PORTMAP_MAX_TARGETS, i->ifa_name);
		}
		freeifaddrs(ifa);
	}
}

static int pm_launch(struct netd *, struct portmap *, char *, size_t);

int
portmap_start(struct netd *n, char *err, size_t errlen)
{
	const struct conf *c = &n->d->conf;
	struct portmap *pm;

	if ((pm = calloc(1, sizeof(*pm))) == NULL) {
		snprintf(err, errlen, "portmap: out of memory");
		return -1;
	}
	pm->efd = -1;
	pm->env = &n->env;
	pm->upnp = c->upnp;
	pm->natpmp = c->natpmp;
	n->portmap = pm;
	if (c->port_forward != 0) {
		/* The operator forwards a port by hand (§6.4: no UPnP then). */
		snprintf(pm->idle, sizeof(pm->idle), "off (port_forward %u)", c->port_forward);
		return 0;
	}
	if (!pm->upnp && !pm->natpmp) {
		strlcpy(pm->idle, "off", sizeof(pm->idle));
		return 0;
	}
	pm_find_targets(n, pm);
	if (pm->nt == 0) {
		strlcpy(pm->idle, "off (no private IPv4 network)", sizeof(pm->idle));
		return 0;
	}
	return pm_launch(n, pm, err, errlen);
}

/* The worker thread and its eventfd, once there is a network to map. */
static int
pm_launch(struct netd *n, struct portmap *pm, char *err, size_t errlen)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&pm->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pm->cv, &ca);
	pthread_condattr_destroy(&ca);
	if ((pm->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    loop_add_fd(&n->d->loop, pm->efd, EPOLLIN, pm_on_event, n) == -1) {
		snprintf(err, errlen, "portmap: eventfd: %s", strerror(errno));
		return -1;
	}
	if ((errno = pthread_create(&pm->thread, NULL, pm_worker, pm)) != 0) {
		snprintf(err, errlen, "portmap: thread: %s", strerror(errno));
		return -1;
	}
	pm->started = 1;
	log_info("portmap: %d network(s), %s%s%s", pm->nt, pm->upnp ? "UPnP" : "",
	    pm->upnp && pm->natpmp ? " then " : "", pm->natpmp ? "NAT-PMP" : "");
	return 0;
}

/*
 * §6.2: a private IPv4 network that appeared after start is mapped too
 * (the worker picks new targets up at once).  A network that went away
 * keeps its target: its renewals fail and back off, and the lease (3600 s)
 * ends the router's mapping.
 */
void
portmap_addresses_changed(struct netd *n)
{
	struct portmap *pm = n->portmap;
	char err[128];
	int before;

	if (pm == NULL || pm->stop || n->d->conf.port_forward != 0 ||
	    (!pm->upnp && !pm->natpmp))
		return;
	if (pm->started) {
		pthread_mutex_lock(&pm->mu);
		before = pm->nt;
		pm_find_targets(n, pm);
		if (pm->nt != before)
			pthread_cond_signal(&pm->cv);
		pthread_mutex_unlock(&pm->mu);
		if (pm->nt != before)
			log_info("portmap: %d new network(s)", pm->nt - before);
		return;
	}
	pm_find_targets(n, pm);
	if (pm->nt > 0 && pm_launch(n, pm, err, sizeof(err)) != 0)
		log_warnx("%s", err);
}

void
portmap_stop(struct netd *n)
{
	struct portmap *pm = n->portmap;
	struct timespec ts;
	int i, done;

	if (pm == NULL)
		return;
	if (!pm->started) {
		if (pm->efd != -1) {
			loop_del_fd(&n->d->loop, pm->efd);
			close(pm->efd);
		}
		free(pm);
		n->portmap = NULL;
		return;
	}
	loop_del_fd(&n->d->loop, pm->efd);
	pthread_mutex_lock(&pm->mu);
	pm->stop = 1;
	pthread_cond_broadcast(&pm->cv);
	/*
	 * A step in flight (SSDP wait, HTTP) finishes first; then the deletes.
	 * Past the budget the process leaves without them: the leases expire.
	 */
	pm_deadline(&ts, PORTMAP_STOP_MS + PORTMAP_DISCOVER_MS / 2);
	while (!pm->done)
		if (pthread_cond_timedwait(&pm->cv, &pm->mu, &ts) == ETIMEDOUT)
			break;
	done = pm->done;
	close(pm->efd);
	pm->efd = -1;
	pthread_mutex_unlock(&pm->mu);
	for (i = 0; i < n->nsocks; i++)
		n->socks[i].port_external = 0;
	n->portmap = NULL;
	if (done) {
		pthread_join(pm->thread, NULL);
		free(pm);
	} else {
		/* The worker still uses pm: it is left to the exiting process. */
		log_warnx("portmap: mappings not all removed within %d ms",
		    PORTMAP_STOP_MS + PORTMAP_DISCOVER_MS / 2);
		pthread_detach(pm->thread);
	}
}

void
portmap_status(struct netd *n, char *text, size_t textcap,
    char *external, size_t extcap)
{
	struct portmap *pm = n->portmap;
	char one[PORTMAP_STATUS_MAX];
	uint64_t now = env_now_ms(&n->env);
	int i;

	text[0] = '\0';
	external[0] = '\0';
	if (pm == NULL) {
		strlcpy(text, "off", textcap);
		return;
	}
	if (pm->nt == 0) {
		strlcpy(text, pm->idle, textcap);
		return;
	}
	pm_sync(n, pm);
	pthread_mutex_lock(&pm->mu);
	for (i = 0; i < pm->nt; i++) {
		const struct pm_view *v = &pm->t[i].v;

		if (v->proto != PORTMAP_NONE)
			portmap_format(one, sizeof(one), v->proto, v->ext_ip,
			    v->ext_port, v->ip, v->port,
			    v->renew_at > now ? (v->renew_at - now + 999) / 1000 : 0);
		else if (pm->nt > 1)
			snprintf(one, sizeof(one), "%s: %s", v->ip, v->state);
		else
			strlcpy(one, v->state, sizeof(one));
		if (i > 0)
			strlcat(text, "; ", textcap);
		strlcat(text, one, textcap);
		if (external[0] == '\0' && v->ext_ip[0] != '\0')
			strlcpy(external, v->ext_ip, extcap);
	}
	pthread_mutex_unlock(&pm->mu);
}
