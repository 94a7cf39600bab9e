/*
 * image/tags.c: which image ID each tag named when this node last built a
 * VM from it.  Builds are keyed on the image ID, never on the tag, so a
 * tag re-pointed in the local store (an image re-built or re-loaded under
 * the same name) gets a new build; this record only lets the builder say
 * that it happened ("tag now names X, was Y") instead of doing it silently.
 *
 * One small file per tag: cache_dir/oci/tags/<sha256(tag)>, holding
 * "<id>\n<tag>\n" (the tag is kept to tell a hash collision from a hit),
 * written atomically.  A missing or unreadable record means "unknown".
 */
#include "image/image.h"

#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/hash.h"

/* The record's path for tag. */
static void
tag_path(const char *cache_dir, const char *tag, char *out, size_t outsz)
{
	char hex[HASH_HEX_LEN + 1];

	hash_sha256_hex(tag, strlen(tag), hex);
	snprintf(out, outsz, "%s/oci/tags/%s", cache_dir, hex);
}

int
image_tag_parse(const char *text, const char *tag, char id[IMAGE_HASH_MAX])
{
	const char *nl = strchr(text, '\n');
	size_t idlen = nl ? (size_t)(nl - text) : 0, taglen = strlen(tag);

	id[0] = '\0';
	if (nl == NULL || idlen < 8 || idlen >= IMAGE_HASH_MAX ||
	    strncmp(text, "sha256:", 7) != 0 || strncmp(nl + 1, tag, taglen) != 0 ||
	    strcmp(nl + 1 + taglen, "\n") != 0)
		return -1;
	memcpy(id, text, idlen);
	id[idlen] = '\0';
	return 0;
}

int
image_tag_moved(const char *cache_dir, const char *tag, const char *id, int record,
    char prev[IMAGE_HASH_MAX], struct mcp_err *err)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct buf b = BUF_INIT;
	int moved = 0, same = 0;

	prev[0] = '\0';
	tag_path(cache_dir, tag, path, sizeof(path));
	if (file_read(path, &b, 4096, NULL) == 0 && image_tag_parse(b.data, tag, prev) == 0) {
		same = strcmp(prev, id) == 0;
		moved = !same;
	}
	buf_free(&b);
	if (!moved)
		prev[0] = '\0';
	if (!record || same)
		return moved;
	snprintf(dir, sizeof(dir), "%s/oci/tags", cache_dir);
	buf_printf(&b, "%s\n%s\n", id, tag);
	if (file_mkdirs(dir, 0700, err) == -1 ||
	    file_write_atomic(path, b.data, b.len, 0600, err) == -1) {
		buf_free(&b);
		return mcp_err_prefix(err, "record the ID of image %s", tag);
	}
	buf_free(&b);
	return moved;
}
