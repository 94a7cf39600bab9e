/*
 * image/elf.c: is this file a static x86-64 ELF executable?  A unikernel
 * image has no dynamic loader and no shared libraries, so an executable
 * with a PT_INTERP program header (dynamically linked) cannot run there.
 * Reads only the ELF header and the program header table.
 */
#include "image/image.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
read_at(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n == (ssize_t)len ? 0 : -1;
}

int
image_elf_check(const char *path, struct mcp_err *err)
{
	Elf64_Ehdr eh;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd == -1)
		return mcp_err_errno(err, errno, "%s", path);
	if (fstat(fd, &st) == -1) {
		mcp_err_errno(err, errno, "%s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		mcp_err_set(err, MCP_E_INVALID, "%s: not a regular file", path);
		goto out;
	}
	if (read_at(fd, &eh, sizeof(eh), 0) == -1 ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		mcp_err_set(err, MCP_E_INVALID, "%s: not an ELF executable", path);
		goto out;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64) {
		mcp_err_set(err, MCP_E_INVALID, "%s: not an x86-64 ELF executable", path);
		goto out;
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		mcp_err_set(err, MCP_E_INVALID, "%s: ELF file is not an executable", path);
		goto out;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > 4096) {
		mcp_err_set(err, MCP_E_INVALID, "%s: bad ELF program header table", path);
		goto out;
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		char interp[256] = "";

		if (read_at(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) == -1) {
			mcp_err_set(err, MCP_E_INVALID, "%s: truncated ELF program headers", path);
			goto out;
		}
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz > 0 && ph.p_filesz < sizeof(interp))
			if (read_at(fd, interp, ph.p_filesz, (off_t)ph.p_offset) == -1)
				interp[0] = '\0';
		interp[sizeof(interp) - 1] = '\0';
		mcp_err_set(err, MCP_E_INVALID,
		    "%s: dynamically linked (interpreter %s); a unikernel needs a "
		    "statically linked executable", path, interp[0] ? interp : "?");
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
