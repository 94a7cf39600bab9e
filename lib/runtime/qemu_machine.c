/*
 * runtime/qemu_machine.c: which guest kernel boots by default and on which
 * QEMU machine type, decided from the kernel's manifest (image/kernel.c).
 *
 * -M pc: PCI, virtio-net-pci, ACPI power button; any kernel (Debian's
 * loads the drivers as modules).  -M microvm: no PCI, no firmware tables
 * beyond ACPI's, virtio-net-device on virtio-mmio; needs a kernel with
 * virtio-mmio, the ACPI power button and evdev built in.
 *
 * Why microvm used to hang under TCG: it has a PIT (and an RTC) by
 * default, but no HPET and no ACPI PM timer.  Linux calibrates the TSC
 * against the PIT; under TCG the TSC read between two PIT reads jitters
 * past the kernel's threshold whenever the host is busy, so the fast and
 * the slow PIT calibration both fail, and with no HPET/PM-timer reference
 * left the kernel marks the TSC unstable ("could not calculate TSC khz")
 * and then hangs before init (on -M pc the HPET/PM timer reference
 * rescues the same failure).  pit=on changes nothing (it is on already).
 * The fix: tell the kernel the frequency, tsc_early_khz=<kHz>, which skips
 * the calibration.  Under TCG the guest's TSC is the host's (QEMU's rdtsc
 * returns the host TSC), so the host's TSC frequency, measured once
 * against CLOCK_MONOTONIC_RAW, is the right value.  Under KVM kvm-clock
 * supplies it and nothing is added.  tests/integration/guest_kernel.sh
 * boots microvm 20 times in a row through the agent.
 */
#include "runtime/qemu.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_RDTSC 1
#endif

#include "image/image.h"

#define KERNEL_DIR	"/var/lib/mcp/kernel"
#define PKG_KERNEL	"/usr/lib/mcp/guest-kernel/vmlinux"	/* mcp-guest-kernel */

const char *
qemu_kernel_default(void)
{
	static const char *const minimal = KERNEL_DIR "/minimal/vmlinux";

	if (access(minimal, R_OK) == 0)
		return minimal;
	return access(PKG_KERNEL, R_OK) == 0 ? PKG_KERNEL : KERNEL_DIR "/vmlinux";
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

long
qemu_tsc_khz_from(unsigned long long tsc0, long long ns0, unsigned long long tsc1, long long ns1)
{
	long double khz;

	if (tsc1 <= tsc0 || ns1 - ns0 < 1000000)	/* under 1 ms says nothing */
		return 0;
	khz = (long double)(tsc1 - tsc0) * 1e6L / (long double)(ns1 - ns0);
	if (khz < 100000 || khz > 20000000)	/* 100 MHz .. 20 GHz, else not a TSC */
		return 0;
	return (long)(khz + 0.5L);
}

static long host_tsc_khz;

#ifdef HAVE_RDTSC
static long long
raw_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A (tsc, ns) pair read as close together as this thread manages: the
 * narrowest of a few clock_gettime windows around an rdtsc. */
static void
tsc_ns_pair(unsigned long long *tsc, long long *ns)
{
	long long best = -1;

	for (int i = 0; i < 16; i++) {
		long long a = raw_ns();
		unsigned long long t = __rdtsc();
		long long b = raw_ns();

		if (best < 0 || b - a < best) {
			best = b - a;
			*tsc = t;
			*ns = a + (b - a) / 2;
		}
	}
}

static void
host_tsc_measure(void)
{
	unsigned long long t0, t1;
	long long n0, n1;
	struct timespec pause = { 0, 50 * 1000000L };

	tsc_ns_pair(&t0, &n0);
	nanosleep(&pause, NULL);
	tsc_ns_pair(&t1, &n1);
	host_tsc_khz = qemu_tsc_khz_from(t0, n0, t1, n1);
}
#else
static void host_tsc_measure(void) { host_tsc_khz = 0; }
#endif

long
qemu_host_tsc_khz(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, host_tsc_measure);
	return host_tsc_khz;
}

void
qemu_machine_cmdline(const struct qemu_machine *m, const char *accel, long tsc_khz,
    char *out, size_t outsz)
{
	out[0] = '\0';
	if (strcmp(m->name, "microvm") == 0 && strcmp(accel, "tcg") == 0 && tsc_khz > 0)
		snprintf(out, outsz, "tsc_early_khz=%ld", tsc_khz);
}
