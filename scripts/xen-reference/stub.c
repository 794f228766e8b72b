/*
 * LD_PRELOAD shim that lets Debian's real `xl` run its dry run (`xl -N create`) on a host without
 * Xen: the hypervisor and xenstore handles become dummies and the few host queries a dry run
 * makes get fixed answers (this host's online CPUs, as dom0's xl counts them; 1 NUMA node; no
 * domains). Nothing else of libxl is touched, so the config parsing and the JSON are Xen's own.
 */
#include <stdint.h>
#include <unistd.h>

static int host_cpus(void) { long n = sysconf(_SC_NPROCESSORS_ONLN); return n > 0 ? (int)n : 1; }

static char dummy[4096];

void *xc_interface_open(void *logger, void *dombuild_logger, unsigned flags) { return dummy; }
int xc_interface_close(void *xch) { return 0; }
void *xs_open(unsigned long flags) { return dummy; }
void *xs_daemon_open(void) { return dummy; }
void xs_close(void *xsh) {}
void xs_daemon_close(void *xsh) {}
int xs_fileno(void *xsh) { return -1; }
int xc_get_max_cpus(void *xch) { return host_cpus(); }
int xc_get_max_nodes(void *xch) { return 1; }
int xc_get_online_cpus(void *xch) { return host_cpus(); }
int xc_domain_getinfolist(void *xch, unsigned first, unsigned max, void *info) { return 0; }

/* libxl_physinfo: max_cpu_id, nr_cpus (words 2, 3) and nr_nodes (word 20). */
int libxl_get_physinfo(void *ctx, void *physinfo)
{
    uint32_t *w = physinfo;
    w[2] = host_cpus() - 1;
    w[3] = host_cpus();
    w[20] = 1;
    return 0;
}

/* libxl_version_info with empty strings (xl reads the Xen command line for autoballoon). */
struct version_info {
    int major, minor;
    const char *extra, *compiler, *compile_by, *compile_domain, *compile_date, *capabilities, *changeset;
    uint64_t virt_start;
    int pagesize;
    const char *commandline, *build_id;
};
static struct version_info version = { 4, 17, "", "", "", "", "", "", "", 0, 4096, "", "" };
const void *libxl_get_version_info(void *ctx) { return &version; }
