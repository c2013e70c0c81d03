/* nodes.h - the ordered list of database nodes (--db-nodes, ORDERD_DB_NODES)
 * and the rules a worker follows to pick one of them. Pure: no I/O, so the
 * rules are unit tested on their own (tests/unit/check_nodes.c).
 *
 * The list is "A,B,C": each entry a unix socket path (it starts with '/') or
 * HOST:PORT ([V6ADDR]:PORT for an IPv6 address). Every pool is given the same
 * list, so all of them write to the first node that is up and synced. */
#ifndef ORDERD_NODES_H
#define ORDERD_NODES_H

#include <stddef.h>

#define NODES_MAX	16
#define NODE_ADDR_MAX	256

struct db_node {
	char socket[NODE_ADDR_MAX];	/* a unix socket path, or "" */
	char host[NODE_ADDR_MAX];	/* the host of HOST:PORT, or "" */
	unsigned port;			/* 0 for a socket */
};

/* Parses list into out[0..max-1]: the number of nodes (1..max), or -1 after
 * writing why into err (an empty entry, a missing or bad port, too many
 * entries, an entry too long). */
int	nodes_parse(const char *list, struct db_node *out, int max, char *err, size_t errlen);

/* "host:port" or the socket path, for logs. */
const char *nodes_name(const struct db_node *n, char *buf, size_t len);

/* The order in which to try n nodes (order[0..n-1], indexes into the list)
 * when connecting. current is the index of the node the worker used last
 * (its connection failed, or the node answered "not ready"), or -1 for none
 * yet. The list's order, with current moved to the end: a worker starts on
 * the first node, moves on only when its node fails, and then goes back to
 * the earliest node that works - so it stays where it is while its node
 * works (no flapping when node 1 comes back), and all pools converge on the
 * first healthy node of the list. */
void	nodes_order(int n, int current, int *order);

/* The order in which to try n nodes with one of them first, then the
 * list's order (preferred -1: the list's order). For a worker whose node
 * timed out, that node: a stall is no reason to move. For a new worker (no
 * node used yet), the first usable node on which other workers of the
 * cluster's pools already are, so that a pool started while the others
 * write to node 2 joins them rather than opening a second writer on node 1. */
void	nodes_prefer(int n, int preferred, int *order);

/* nodes_order() for a worker whose node (failed) failed, when a sibling of
 * its pool has already moved to the node pool (-1: none known): that node
 * first, unless it is the failed one. Workers whose last nodes differ (one
 * moved to node 2 when node 1 failed, another stayed on node 1 that
 * returned) then still end up on one node when one of them fails. */
void	nodes_follow(int n, int failed, int pool, int *order);

/* Whether a node may be used, from what it reports: a plain server
 * (wsrep_on 0) always; a Galera node only when wsrep_ready is ON and
 * wsrep_local_state is 4 (Synced). */
int	nodes_usable(int wsrep_on, int ready, long local_state);

#endif
