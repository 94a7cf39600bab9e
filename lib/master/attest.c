/*
 * master/attest.c: fleet-wide attestation check for `mcp status` through
 * the master.  Every unikernel component the agents reported is grouped by
 * its image reference; a component whose reference boots another OCI
 * image on some other instance (the tag names different images on
 * different nodes: re-pushed, re-built or re-loaded locally) gets one line
 * per disagreeing instance in its FleetService's attestation_mismatch.
 * The attested hash covers kernel + initramfs, and the initramfs also
 * carries per-instance settings (address, environment), so equal images
 * may hash differently: the image ID is what is compared, the hashes are
 * shown.  Pure: works on the assembled response only.
 */
#include "master/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

struct vm_ref {
	Mcp__V1__FleetService *f;
	const Mcp__V1__ComponentStatus *cs;
};

static void
flag_add(Mcp__V1__FleetService *f, const char *line)
{
	f->attestation_mismatch = realloc(f->attestation_mismatch,
	    (f->n_attestation_mismatch + 1) * sizeof(char *));
	if (f->attestation_mismatch == NULL)
		abort();
	f->attestation_mismatch[f->n_attestation_mismatch++] = xstrdup(line);
}

void
master_attest_flag(Mcp__V1__MasterStatusResponse *st)
{
	struct vm_ref *v = NULL;
	size_t n = 0, i, j, k;

	for (i = 0; i < st->n_services; i++) {
		const Mcp__V1__ServiceStatus *s = st->services[i]->status;

		for (k = 0; s && k < s->n_components; k++) {
			const Mcp__V1__ComponentStatus *cs = s->components[k];

			if (strcmp(cs->runtime, "unikernel") != 0 || cs->image_id == NULL ||
			    cs->image_id[0] == '\0')
				continue;
			v = realloc(v, (n + 1) * sizeof(*v));
			if (v == NULL)
				abort();
			v[n].f = st->services[i];
			v[n++].cs = cs;
		}
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			char line[1024];

			if (i == j || strcmp(v[i].cs->image, v[j].cs->image) != 0 ||
			    strcmp(v[i].cs->image_id, v[j].cs->image_id) == 0)
				continue;
			snprintf(line, sizeof(line), "%s: image %s boots %s here (attested %s) "
			    "but %s on node %s (service %s, attested %s)", v[i].cs->name,
			    v[i].cs->image, v[i].cs->image_id, v[i].cs->image_hash,
			    v[j].cs->image_id, v[j].f->node, v[j].f->name, v[j].cs->image_hash);
			flag_add(v[i].f, line);
		}
	free(v);
}
