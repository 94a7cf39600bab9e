/*
 * util/version.h: the one version number of MCP.  Every binary's
 * --version, the agent's Health/NodeInfo answers and the Debian package
 * (Makefile: `make deb` reads it from here) use it.
 */
#ifndef MCP_UTIL_VERSION_H
#define MCP_UTIL_VERSION_H

#define MCP_VERSION "0.1.0"

#endif
