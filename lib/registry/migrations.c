/*
 * registry/migrations.c: the numbered schema migrations of the registry.
 *
 * Version N is reached by running migrations[N-1] on a database at N-1.
 * Never edit a released migration: add a new one.  Each runs in a
 * transaction together with the PRAGMA user_version bump.
 */
#include "registry/registry.h"

#include <stddef.h>

static const char *const migrations[] = {
	/* 1: services, components, routes with host ports, events */
	"CREATE TABLE services ("
	"  name TEXT PRIMARY KEY,"
	"  node TEXT NOT NULL DEFAULT '',"
	"  tier TEXT NOT NULL DEFAULT 'worker',"
	"  active INTEGER NOT NULL DEFAULT 1,"
	"  definition TEXT NOT NULL,"
	"  source TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE components ("
	"  service TEXT NOT NULL REFERENCES services(name) ON DELETE CASCADE,"
	"  name TEXT NOT NULL,"
	"  image TEXT NOT NULL,"
	"  desired TEXT NOT NULL DEFAULT 'running',"
	"  PRIMARY KEY (service, name));"
	"CREATE TABLE routes ("
	"  service TEXT NOT NULL,"
	"  component TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  port INTEGER NOT NULL,"
	"  host_port INTEGER NOT NULL UNIQUE,"
	"  mode TEXT NOT NULL DEFAULT 'l4',"
	"  hostname TEXT NOT NULL DEFAULT '',"
	"  public INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (service, component, name),"
	"  FOREIGN KEY (service, component) REFERENCES components(service, name)"
	"    ON DELETE CASCADE);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time INTEGER NOT NULL,"
	"  service TEXT NOT NULL,"
	"  component TEXT NOT NULL DEFAULT '',"
	"  kind TEXT NOT NULL,"
	"  from_state TEXT NOT NULL DEFAULT '',"
	"  to_state TEXT NOT NULL DEFAULT '',"
	"  detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX events_service ON events(service, time);",

	/* 2: runtimes and VM resources per component */
	"ALTER TABLE components ADD COLUMN runtime TEXT NOT NULL DEFAULT 'container';"
	"ALTER TABLE components ADD COLUMN memory_mb INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE components ADD COLUMN vcpus INTEGER NOT NULL DEFAULT 1;",

	/* 3: monitor state, what was started, VM attestation and address */
	"ALTER TABLE components ADD COLUMN last_observed TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE components ADD COLUMN last_change INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE components ADD COLUMN spec_hash TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE components ADD COLUMN image_hash TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE components ADD COLUMN network TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE components ADD COLUMN vm_ip TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE routes ADD COLUMN vm_addr TEXT NOT NULL DEFAULT '';",

	/*
	 * 4: bridged VMs have no host port (host_port becomes nullable: the
	 * table is rebuilt, rows copied) and VM addresses are unique per node.
	 */
	"CREATE TABLE routes_v4 ("
	"  service TEXT NOT NULL,"
	"  component TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  port INTEGER NOT NULL,"
	"  host_port INTEGER UNIQUE,"
	"  mode TEXT NOT NULL DEFAULT 'l4',"
	"  hostname TEXT NOT NULL DEFAULT '',"
	"  public INTEGER NOT NULL DEFAULT 0,"
	"  vm_addr TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (service, component, name),"
	"  FOREIGN KEY (service, component) REFERENCES components(service, name)"
	"    ON DELETE CASCADE);"
	"INSERT INTO routes_v4 SELECT service, component, name, port, host_port, mode,"
	"  hostname, public, vm_addr FROM routes;"
	"DROP TABLE routes;"
	"ALTER TABLE routes_v4 RENAME TO routes;"
	"CREATE UNIQUE INDEX components_vm_ip ON components(vm_ip) WHERE vm_ip != '';",

	/* 5: edge routes this node serves for the master (SPEC §4.3) */
	"CREATE TABLE edge_routes ("
	"  hostname TEXT PRIMARY KEY,"
	"  backend_hostname TEXT NOT NULL,"
	"  backend_port INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);",

	/*
	 * 6: the identity of the instance the agent created (container ID, VM
	 * instance id), so one planted in its place is told apart.
	 */
	"ALTER TABLE components ADD COLUMN instance_id TEXT NOT NULL DEFAULT '';",
};

int
reg_latest_version(void)
{
	return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *
reg_migration_sql(int v)
{
	if (v < 1 || v > reg_latest_version())
		return NULL;
	return migrations[v - 1];
}
