/*
 * tests/unit/test_guest_kernel.c: the guest kernel's manifest
 * (image/kernel.c) and the machine type chosen from it
 * (runtime/qemu_machine.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"
#include "runtime/qemu.h"
#include "util/file.h"

static const char minimal_manifest[] =
    "# written by scripts/build-guest-kernel.sh\n"
    "source=linux-source-6.1 6.1.192-3\n"
    "release=6.1.192\n"
    "config_sha256=2ec815deaf5b\n"
    "modules=none\n"
    "features=pvh virtio-pci virtio-mmio virtio-net acpi acpi-button evdev 9p smp\n";

static const char debian_manifest[] =
    "source=linux-image-6.1.0-57-amd64\n"
    "release=6.1.0-57-amd64\n"
    "modules=modules\n"
    "features=pvh virtio-pci(module) virtio-net(module) acpi-button(module) evdev(module)\n";

static void
test_manifest_parse(void **state)
{
	struct image_kernel k;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	memset(&k, 0, sizeof(k));
	assert_int_equal(image_kernel_manifest_parse(minimal_manifest, "m", &k, &err), 0);
	assert_int_equal(k.manifest, 1);
	assert_int_equal(k.modules_none, 1);
	assert_string_equal(k.source, "linux-source-6.1 6.1.192-3");
	assert_string_equal(k.release, "6.1.192");
	assert_true(image_kernel_has(&k, "virtio-mmio"));
	assert_true(image_kernel_has(&k, "pvh"));
	assert_true(image_kernel_has(&k, "smp"));
	assert_false(image_kernel_has(&k, "virtio"));	/* whole words only */
	assert_false(image_kernel_has(&k, "mmio"));

	assert_int_equal(image_kernel_manifest_parse(debian_manifest, "d", &k, &err), 0);
	assert_int_equal(k.modules_none, 0);
	assert_false(image_kernel_has(&k, "virtio-net"));	/* only as a module */
	assert_true(image_kernel_has(&k, "virtio-net(module)"));

	/* CRLF and trailing blanks are tolerated */
	assert_int_equal(image_kernel_manifest_parse("modules=none \r\n", "c", &k, &err), 0);
	assert_int_equal(k.modules_none, 1);
}

static void
test_manifest_errors(void **state)
{
	struct image_kernel k;
	struct mcp_err err = MCP_ERR_INIT;
	char big[600];

	(void)state;
	assert_int_equal(image_kernel_manifest_parse("release=6.1\n", "/k/manifest", &k, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_non_null(strstr(err.msg, "/k/manifest"));
	assert_non_null(strstr(err.msg, "no modules= line"));

	assert_int_equal(image_kernel_manifest_parse("modules=none\nbogus line\n", "/k/manifest",
	    &k, &err), -1);
	assert_non_null(strstr(err.msg, "/k/manifest:2"));
	assert_non_null(strstr(err.msg, "bogus line"));

	assert_int_equal(image_kernel_manifest_parse("modules=\n", "x", &k, &err), -1);
	assert_non_null(strstr(err.msg, "modules is empty"));

	snprintf(big, sizeof(big), "modules=none\nrelease=%0500d\n", 1);
	assert_int_equal(image_kernel_manifest_parse(big, "x", &k, &err), -1);
	assert_non_null(strstr(err.msg, "x:2"));
	assert_non_null(strstr(err.msg, "too long"));
}

/* A kernel dir with vmlinux (+ manifest) and a symlink to it, like minimal/. */
static void
test_probe(void **state)
{
	char dir[] = "/tmp/mcp-test-gk.XXXXXX", path[256], link[256];
	struct image_kernel k;
	struct mcp_err err = MCP_ERR_INIT;
	char desc[RT_KERNEL_MAX];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/6.1.192-3-2ec815deaf5b", dir);
	assert_int_equal(file_mkdirs(path, 0755, NULL), 0);
	snprintf(path, sizeof(path), "%s/6.1.192-3-2ec815deaf5b/vmlinux", dir);
	assert_int_equal(file_write_atomic(path, "ELF", 3, 0644, NULL), 0);
	snprintf(link, sizeof(link), "%s/minimal", dir);
	assert_int_equal(symlink("6.1.192-3-2ec815deaf5b", link), 0);
	snprintf(link, sizeof(link), "%s/minimal/vmlinux", dir);

	/* no manifest yet: modular, as before manifests */
	assert_int_equal(image_kernel_probe(link, &k, &err), 0);
	assert_int_equal(k.manifest, 0);
	assert_int_equal(k.modules_none, 0);
	assert_string_equal(k.path, path);	/* symlinks resolved */
	image_kernel_describe(&k, desc, sizeof(desc));
	assert_non_null(strstr(desc, "no manifest"));

	snprintf(path, sizeof(path), "%s/6.1.192-3-2ec815deaf5b/manifest", dir);
	assert_int_equal(file_write_atomic(path, minimal_manifest, strlen(minimal_manifest),
	    0644, NULL), 0);
	assert_int_equal(image_kernel_probe(link, &k, &err), 0);
	assert_int_equal(k.manifest, 1);
	assert_int_equal(k.modules_none, 1);
	image_kernel_describe(&k, desc, sizeof(desc));
	assert_string_equal(desc, "6.1.192 (linux-source-6.1 6.1.192-3, everything built in)");

	/* a broken manifest is an error naming it */
	assert_int_equal(file_write_atomic(path, "junk\n", 5, 0644, NULL), 0);
	assert_int_equal(image_kernel_probe(link, &k, &err), -1);
	assert_non_null(strstr(err.msg, path));

	/* a missing kernel is an error naming it */
	snprintf(path, sizeof(path), "%s/nope/vmlinux", dir);
	assert_int_equal(image_kernel_probe(path, &k, &err), -1);
	assert_non_null(strstr(err.msg, path));

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

static void
test_machine_pick(void **state)
{
	struct image_kernel minimal, debian, none, partial;
	struct qemu_machine m;
	struct mcp_err err = MCP_ERR_INIT;

	(void)state;
	memset(&minimal, 0, sizeof(minimal));
	memset(&debian, 0, sizeof(debian));
	memset(&none, 0, sizeof(none));
	memset(&partial, 0, sizeof(partial));
	assert_int_equal(image_kernel_manifest_parse(minimal_manifest, "m", &minimal, &err), 0);
	assert_int_equal(image_kernel_manifest_parse(debian_manifest, "d", &debian, &err), 0);
	assert_int_equal(image_kernel_manifest_parse("modules=none\nfeatures=pvh virtio-pci "
	    "virtio-net acpi-button evdev\n", "p", &partial, &err), 0);
	strcpy(none.path, "/k/vmlinux");

	/* auto: microvm only for a kernel with everything microvm needs built in */
	assert_int_equal(qemu_machine_pick("auto", &minimal, &m, &err), 0);
	assert_string_equal(m.name, "microvm");
	assert_string_equal(m.nic, "virtio-net-device");
	assert_non_null(strstr(m.m_arg, "acpi=on"));
	assert_int_equal(qemu_machine_pick(NULL, &minimal, &m, &err), 0);
	assert_string_equal(m.name, "microvm");
	assert_int_equal(qemu_machine_pick("auto", &debian, &m, &err), 0);
	assert_string_equal(m.name, "pc");
	assert_string_equal(m.nic, "virtio-net-pci");
	assert_int_equal(qemu_machine_pick("", &none, &m, &err), 0);
	assert_string_equal(m.name, "pc");
	assert_int_equal(qemu_machine_pick("auto", &partial, &m, &err), 0);
	assert_string_equal(m.name, "pc");

	/* pc boots anything */
	assert_int_equal(qemu_machine_pick("pc", &minimal, &m, &err), 0);
	assert_string_equal(m.name, "pc");
	assert_string_equal(m.m_arg, "pc");

	/* microvm asked for, kernel cannot: a clear refusal */
	assert_int_equal(qemu_machine_pick("microvm", &debian, &m, &err), -1);
	assert_int_equal(err.code, MCP_E_PRECONDITION);
	assert_non_null(strstr(err.msg, "everything built in"));
	assert_int_equal(qemu_machine_pick("microvm", &partial, &m, &err), -1);
	assert_non_null(strstr(err.msg, "virtio-mmio"));
	assert_int_equal(qemu_machine_pick("microvm", &none, &m, &err), -1);
	assert_non_null(strstr(err.msg, "/k/vmlinux"));

	assert_int_equal(qemu_machine_pick("q35", &minimal, &m, &err), -1);
	assert_int_equal(err.code, MCP_E_INVALID);
	assert_non_null(strstr(err.msg, "q35"));
}

/* microvm under TCG gets tsc_early_khz (qemu_machine.c says why); nothing else does */
static void
test_machine_cmdline(void **state)
{
	struct image_kernel minimal;
	struct qemu_machine pc, micro;
	struct mcp_err err = MCP_ERR_INIT;
	char out[64];
	long khz;

	(void)state;
	memset(&minimal, 0, sizeof(minimal));
	assert_int_equal(image_kernel_manifest_parse(minimal_manifest, "m", &minimal, &err), 0);
	assert_int_equal(qemu_machine_pick("microvm", &minimal, &micro, &err), 0);
	assert_int_equal(qemu_machine_pick("pc", &minimal, &pc, &err), 0);

	qemu_machine_cmdline(&micro, "tcg", 2596059, out, sizeof(out));
	assert_string_equal(out, "tsc_early_khz=2596059");
	qemu_machine_cmdline(&micro, "kvm", 2596059, out, sizeof(out));
	assert_string_equal(out, "");
	qemu_machine_cmdline(&micro, "tcg", 0, out, sizeof(out));
	assert_string_equal(out, "");
	qemu_machine_cmdline(&pc, "tcg", 2596059, out, sizeof(out));
	assert_string_equal(out, "");

	/* 2.596 GHz over 50 ms */
	assert_int_equal(qemu_tsc_khz_from(1000, 0, 1000 + 129802950ULL, 50000000), 2596059);
	assert_int_equal(qemu_tsc_khz_from(1000, 0, 900, 50000000), 0);	/* backwards */
	assert_int_equal(qemu_tsc_khz_from(1000, 0, 2000, 500000), 0);	/* < 1 ms */
	assert_int_equal(qemu_tsc_khz_from(0, 0, 1000, 50000000), 0);	/* 20 kHz: no TSC */

	/* the real host: a plausible TSC (x86), measured once */
	khz = qemu_host_tsc_khz();
#if defined(__x86_64__)
	assert_true(khz >= 100000 && khz <= 20000000);
	assert_int_equal(qemu_host_tsc_khz(), khz);
	printf("measure: host TSC %ld kHz\n", khz);
#else
	(void)khz;
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_parse),
		cmocka_unit_test(test_manifest_errors),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_machine_pick),
		cmocka_unit_test(test_machine_cmdline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
