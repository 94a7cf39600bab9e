/*
 * util/fault.h: crash injection for tests (test-only; inert in normal use).
 *
 * fault_point("deploy-after-record") makes the process _exit(99) at that
 * point when the environment variable MCP_FAULT names that step, so a test
 * can kill the agent between two steps of an operation and check what a
 * restarted agent reports.  Without MCP_FAULT it does nothing.  Steps:
 *   deploy-after-record  the registry holds the new definition; no instance
 *                        has been touched yet
 *   deploy-after-remove  the old instance is removed; the new one not run
 *   deploy-after-run     the new instance runs; its identity is not recorded
 */
#ifndef MCP_UTIL_FAULT_H
#define MCP_UTIL_FAULT_H

void fault_point(const char *step);

#endif
