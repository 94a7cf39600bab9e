/*
 * runtime/qemu_machine.c: which guest kernel boots by default and on which
 * QEMU machine type, decided from the kernel's manifest (image/kernel.c).
 *
 * -M pc: PCI, virtio-net-pci, ACPI power button; any kernel (Debian's
 * loads the drivers as modules).  -M microvm: no PCI, no firmware tables
 * beyond ACPI's, virtio-net-device on virtio-mmio; needs a kernel with
 * virtio-mmio, the ACPI power button and evdev built in.  Under TCG the
 * kernel cannot calibrate the TSC on microvm without a PIT (no HPET, no
 * ACPI PM timer there) and boots hang at random, so the PIT is always on
 * (see QEMU_MICROVM_M); tests/integration/guest_kernel.sh boots it 20
 * times in a row.
 */
#include "runtime/qemu.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "image/image.h"

#define KERNEL_DIR	"/var/lib/mcp/kernel"

const char *
qemu_kernel_default(void)
{
	static const char *const minimal = KERNEL_DIR "/minimal/vmlinux";

	return access(minimal, R_OK) == 0 ? minimal : KERNEL_DIR "/vmlinux";
}

/* What microvm needs the kernel to drive (manifest features). */
static const char *const microvm_needs[] = { "virtio-mmio", "virtio-net", "acpi-button",
	"evdev", NULL };

int
qemu_machine_pick(const char *want, const struct image_kernel *k, struct qemu_machine *out,
    struct mcp_err *err)
{
	const char *missing = NULL;

	for (size_t i = 0; microvm_needs[i] && !missing; i++)
		if (!k->modules_none || !image_kernel_has(k, microvm_needs[i]))
			missing = k->modules_none ? microvm_needs[i] : "everything built in";
	if (want == NULL || want[0] == '\0' || strcmp(want, "auto") == 0)
		want = missing ? "pc" : "microvm";
	if (strcmp(want, "pc") == 0) {
		*out = (struct qemu_machine){ "pc", QEMU_PC_M, "virtio-net-pci" };
		return 0;
	}
	if (strcmp(want, "microvm") != 0)
		return mcp_err_set(err, MCP_E_INVALID, "machine \"%s\": want auto, pc or microvm",
		    want);
	if (missing)
		return mcp_err_set(err, MCP_E_PRECONDITION, "machine microvm: the guest kernel %s "
		    "lacks %s (its manifest: %s); build it with scripts/build-guest-kernel.sh "
		    "or use machine = \"pc\"", k->path, missing,
		    k->manifest ? (k->features[0] ? k->features : "no features") : "none");
	*out = (struct qemu_machine){ "microvm", QEMU_MICROVM_M, "virtio-net-device" };
	return 0;
}
