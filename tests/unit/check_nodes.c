/* check_nodes.c - the database node list (--db-nodes) and the rules a worker
 * follows to choose a node (fcgi/base/nodes.c). */
#include "config.h"

#include <string.h>

#include <check.h>

#include "base/nodes.h"

static struct db_node nodes[NODES_MAX];
static char err[200];

START_TEST(parses_sockets_and_host_ports_in_their_order)
{
	int n = nodes_parse("/var/run/n1.sock, 127.0.0.1:3412 ,db3.example:3306",
	    nodes, NODES_MAX, err, sizeof(err));

	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(nodes[0].socket, "/var/run/n1.sock");
	ck_assert_str_eq(nodes[0].host, "");
	ck_assert_uint_eq(nodes[0].port, 0);
	ck_assert_str_eq(nodes[1].host, "127.0.0.1");
	ck_assert_uint_eq(nodes[1].port, 3412);
	ck_assert_str_eq(nodes[1].socket, "");
	ck_assert_str_eq(nodes[2].host, "db3.example");
	ck_assert_uint_eq(nodes[2].port, 3306);
}
END_TEST

START_TEST(parses_one_node_and_ipv6_in_brackets)
{
	char name[300];

	ck_assert_int_eq(nodes_parse("[::1]:3306", nodes, NODES_MAX, err, sizeof(err)), 1);
	ck_assert_str_eq(nodes[0].host, "::1");
	ck_assert_uint_eq(nodes[0].port, 3306);
	ck_assert_str_eq(nodes_name(&nodes[0], name, sizeof(name)), "[::1]:3306");
	ck_assert_int_eq(nodes_parse("h:1", nodes, NODES_MAX, err, sizeof(err)), 1);
	ck_assert_str_eq(nodes_name(&nodes[0], name, sizeof(name)), "h:1");
}
END_TEST

START_TEST(refuses_bad_lists_with_a_reason)
{
	static const char *const bad[] = {
		"", " ", ",", "/a,,/b", "/a,", "host", "host:", ":3306", "host:0",
		"host:65536", "host:12a", "host:123456", "[::1]", "[::1]3306", "ho st:1",
		"[]:1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(nodes_parse(bad[i], nodes, NODES_MAX, err, sizeof(err)) == -1,
		    "'%s' was accepted", bad[i]);
		ck_assert_msg(err[0] != '\0', "no reason for '%s'", bad[i]);
	}
}
END_TEST

START_TEST(refuses_more_than_the_maximum)
{
	char list[NODES_MAX * 8 + 16] = "";
	int i;

	for (i = 0; i <= NODES_MAX; i++)
		strcat(list, i == 0 ? "/s" : ",/s");
	ck_assert_int_eq(nodes_parse(list, nodes, NODES_MAX, err, sizeof(err)), -1);
	list[strlen(list) - 3] = '\0';
	ck_assert_int_eq(nodes_parse(list, nodes, NODES_MAX, err, sizeof(err)), NODES_MAX);
}
END_TEST

START_TEST(a_new_worker_tries_the_list_in_order)
{
	int order[3];

	nodes_order(3, -1, order);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 1);
	ck_assert_int_eq(order[2], 2);
}
END_TEST

START_TEST(a_failed_node_is_tried_last)
{
	int order[3];

	/* node 1 (index 0) lost: 2, then 3, then 1 again */
	nodes_order(3, 0, order);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 0);
}
END_TEST

START_TEST(when_the_second_node_fails_the_first_comes_back_first)
{
	int order[3];

	/* A worker on node 2 (node 1 had failed) goes back to node 1 only now
	 * that node 2 failed; while node 2 works it is never asked to move. */
	nodes_order(3, 1, order);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 1);
}
END_TEST

START_TEST(one_node_is_retried)
{
	int order[1];

	nodes_order(1, 0, order);
	ck_assert_int_eq(order[0], 0);
}
END_TEST

START_TEST(a_new_worker_tries_the_node_the_others_use_first)
{
	int order[3];

	nodes_prefer(3, 1, order);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 0);
	ck_assert_int_eq(order[2], 2);
	nodes_prefer(3, -1, order);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 1);
	ck_assert_int_eq(order[2], 2);
}
END_TEST

START_TEST(a_worker_whose_node_failed_follows_its_pool)
{
	int order[3];

	/* Node 2 failed under a worker whose siblings already moved to node 3:
	 * node 3 first, not node 1 (the list's first), node 2 last. */
	nodes_follow(3, 1, 2, order);
	ck_assert_int_eq(order[0], 2);
	ck_assert_int_eq(order[1], 0);
	ck_assert_int_eq(order[2], 1);
	/* The pool's node is the failed one (nobody moved yet): the list. */
	nodes_follow(3, 1, 1, order);
	ck_assert_int_eq(order[0], 0);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 1);
	/* None known: nodes_order(). */
	nodes_follow(3, 0, -1, order);
	ck_assert_int_eq(order[0], 1);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 0);
}
END_TEST

START_TEST(only_synced_galera_nodes_or_plain_servers_are_usable)
{
	ck_assert_int_eq(nodes_usable(0, 0, 0), 1);	/* plain MariaDB */
	ck_assert_int_eq(nodes_usable(1, 1, 4), 1);	/* Synced */
	ck_assert_int_eq(nodes_usable(1, 0, 4), 0);	/* not ready */
	ck_assert_int_eq(nodes_usable(1, 1, 1), 0);	/* Joining */
	ck_assert_int_eq(nodes_usable(1, 1, 2), 0);	/* Donor/Desynced */
	ck_assert_int_eq(nodes_usable(1, 1, 3), 0);	/* Joined, catching up */
	ck_assert_int_eq(nodes_usable(1, 0, 0), 0);	/* non-primary */
}
END_TEST

static Suite *
nodes_suite(void)
{
	Suite *s = suite_create("nodes");
	TCase *tc = tcase_create("nodes");

	tcase_add_test(tc, parses_sockets_and_host_ports_in_their_order);
	tcase_add_test(tc, parses_one_node_and_ipv6_in_brackets);
	tcase_add_test(tc, refuses_bad_lists_with_a_reason);
	tcase_add_test(tc, refuses_more_than_the_maximum);
	tcase_add_test(tc, a_new_worker_tries_the_list_in_order);
	tcase_add_test(tc, a_failed_node_is_tried_last);
	tcase_add_test(tc, when_the_second_node_fails_the_first_comes_back_first);
	tcase_add_test(tc, one_node_is_retried);
	tcase_add_test(tc, a_new_worker_tries_the_node_the_others_use_first);
	tcase_add_test(tc, a_worker_whose_node_failed_follows_its_pool);
	tcase_add_test(tc, only_synced_galera_nodes_or_plain_servers_are_usable);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(nodes_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
