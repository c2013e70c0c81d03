/* router.h - method + path to a handler.
 *
 * Paths match with or without their trailing slash (docs/api.md), ids are decimal
 * 1..2^63-1 without sign or leading zeros. */
#ifndef ORDERD_ROUTER_H
#define ORDERD_ROUTER_H

#include <stdint.h>

#include "http/request.h"

enum handler {
	H_NONE = 0,
	H_PRODUCT_LIST,
	H_PRODUCT_CREATE,
	H_PRODUCT_GET,
	H_PRODUCT_RESTOCK,
	H_ORDER_LIST,
	H_ORDER_CREATE,
	H_ORDER_GET,
	H_ORDER_ABORT,
	H_CHECKOUT,
	H_GOODS_CREATE,
	H_GOODS_GET,
	H_ORDER_PAY,
	H_ORDER_SHIP,
	H_REGISTER,
	H_LOGIN,
	H_LOGOUT,
	H_ACCOUNT,
	H_LEDGER,
	H_CREDIT,
	H_TRANSFER,
	H_STATUS,
	H__MAX
};

struct route_match {
	enum handler h;
	int64_t id;		/* the <id> segment, when the path has one */
	char name[40];		/* the <name> segment, when the path has one */
	char allow[64];		/* methods the path accepts, for 405's Allow */
	int route;		/* 1 + the index of the route matched (its label); 0 = none */
};

enum route_result {
	ROUTE_OK = 0,
	ROUTE_NOT_FOUND,	/* no such path: 404 */
	ROUTE_METHOD		/* path exists, method does not: 405 + allow */
};

enum route_result router_match(const char *path, enum method, struct route_match *);

/* The number of routes, and the label of route (1..router_routes(), as in
 * route_match.route): its method and pattern with {id} and {name} for the
 * variable segments, "POST /order/{id}/abort/". NULL for any other. Labels
 * are what GET /status/ counts requests by (bounded: never the raw path). */
int	router_routes(void);
const char *router_label(int route);

#endif
