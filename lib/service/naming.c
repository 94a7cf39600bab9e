/*
 * service/naming.c: the names derived from a service definition (SPEC §3):
 * the container / VM name of a (service, component), the environment
 * variable that carries a route's port, the tag of an image.  Agent,
 * monitor, CLI and master call these; nothing else builds such names.
 */
#include "service/service.h"

#include <stdio.h>
#include <string.h>

int
svc_name_valid(const char *name)
{
	size_t i, n;

	if (name == NULL)
		return 0;
	n = strlen(name);
	if (n == 0 || n > SVC_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (c == '-' && i > 0)
			continue;
		return 0;
	}
	return 1;
}

/*
 * The tag is what follows the last ':' after the last '/' ("host:5000/x"
 * has none).  Refs with a digest ('@') report no tag: the tag of
 * "repo:tag@sha256:..." cannot be returned as a suffix of the string.
 */
const char *
svc_image_tag(const char *image)
{
	const char *slash, *colon;

	if (image == NULL || strchr(image, '@'))
		return "";
	slash = strrchr(image, '/');
	colon = strrchr(slash ? slash : image, ':');
	return colon ? colon + 1 : "";
}

char *
svc_instance_name(char *out, size_t outsz, const char *service,
    const char *component)
{
	if (outsz == 0)
		return out;
	if (component == NULL || *component == '\0' ||
	    strcmp(service, component) == 0)
		snprintf(out, outsz, "%s", service);
	else
		snprintf(out, outsz, "%s-%s", service, component);
	return out;
}

void
svc_port_env_name(char *out, size_t outsz, const struct svc_component *c,
    const struct svc_route *r)
{
	size_t i, n;

	(void)c;	/* the name depends on the route alone */
	if (outsz == 0)
		return;
	if (r == NULL || r->name == NULL || r->name[0] == '\0') {
		snprintf(out, outsz, "PORT");
		return;
	}
	n = (size_t)snprintf(out, outsz, "PORT_%s", r->name);
	if (n >= outsz)
		n = outsz - 1;
	for (i = 5; i < n; i++) {
		if (out[i] >= 'a' && out[i] <= 'z')
			out[i] = (char)(out[i] - 'a' + 'A');
		else if (out[i] == '-')
			out[i] = '_';
	}
}
