/*
 * util/clock.h: a monotonic clock in milliseconds for deadlines, and a
 * plain sleep; shared by every module that waits on a child or a socket.
 */
#ifndef MCP_UTIL_CLOCK_H
#define MCP_UTIL_CLOCK_H

long long mcp_now_ms(void);
void mcp_sleep_ms(int ms);

#endif
