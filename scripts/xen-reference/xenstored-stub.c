/*
 * LD_PRELOAD shim that lets Debian's real C xenstored (Xen 4.17) serve its Unix socket on a host
 * without Xen. The hypervisor handles become dummies; every domid below DOMID_FIRST_RESERVED is
 * reported as an existing, running domain (so permission entries naming a domain are kept, as on
 * a host where that domain runs); dom0's xenbus port and ring page (/proc/xen/xsd_port,
 * /proc/xen/xsd_kva) are served from anonymous memory files; grant maps are anonymous pages; the
 * event-channel fd is a pipe that never becomes readable. Socket clients are then dom0, exactly as
 * on a Xen host, and the store logic is Xen's own.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char dummy[4096];
static int evtchn_pipe[2] = { -1, -1 };
static int next_port = 10;

void *xc_interface_open(void *logger, void *dombuild_logger, unsigned flags) { return dummy; }
int xc_interface_close(void *xch) { return 0; }

/* xc_dominfo_t starts with domid, ssidref, then the dying/crashed/shutdown/... bit-field word. */
int xc_domain_getinfo(void *xch, uint32_t first, unsigned max, void *info)
{
    uint32_t *w = info;
    if (max < 1 || first >= 0x7FF0)
        return 0;
    w[0] = first;
    w[1] = 0;
    w[2] = 1u << 5; /* running */
    return 1;
}

void *xengnttab_open(void *logger, unsigned flags) { return dummy; }
int xengnttab_close(void *xgt) { return 0; }
int xengnttab_set_max_grants(void *xgt, uint32_t n) { return 0; }
void *xengnttab_map_grant_ref(void *xgt, uint32_t domid, uint32_t ref, int prot)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}
int xengnttab_unmap(void *xgt, void *addr, uint32_t count) { return munmap(addr, 4096 * count); }

void *xenevtchn_open(void *logger, unsigned flags) { return dummy; }
void *xenevtchn_fdopen(void *logger, int fd, unsigned flags) { return dummy; }
int xenevtchn_fd(void *xce)
{
    if (evtchn_pipe[0] < 0 && pipe(evtchn_pipe) < 0)
        return -1;
    return evtchn_pipe[0];
}
int xenevtchn_bind_virq(void *xce, unsigned virq) { return 1; }
int xenevtchn_bind_interdomain(void *xce, uint32_t domid, uint32_t port) { return next_port++; }
int xenevtchn_notify(void *xce, uint32_t port) { return 0; }
int xenevtchn_pending(void *xce) { return -1; }
int xenevtchn_unmask(void *xce, uint32_t port) { return 0; }
int xenevtchn_unbind(void *xce, uint32_t port) { return 0; }

static int memfile(const char *content, size_t size)
{
    int fd = memfd_create("xsd", 0);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, size) < 0 || (content && pwrite(fd, content, strlen(content), 0) < 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

int open(const char *path, int flags, ...)
{
    static int (*real_open)(const char *, int, ...);
    mode_t mode = 0;
    if (flags & O_CREAT) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (strcmp(path, "/proc/xen/xsd_port") == 0)
        return memfile("2\n", 2);
    if (strcmp(path, "/proc/xen/xsd_kva") == 0)
        return memfile(NULL, 4096);
    if (!real_open)
        real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    return real_open(path, flags, mode);
}
