/*
 * LD_PRELOAD shim that lets Debian's real C xenstored (Xen 4.17) serve its Unix socket on a host
 * without Xen. The hypervisor handles become dummies; every domid below DOMID_FIRST_RESERVED is
 * reported as an existing, running domain (so permission entries naming a domain are kept, as on
 * a host where that domain runs); dom0's xenbus port and ring page (/proc/xen/xsd_port,
 * /proc/xen/xsd_kva) are served from anonymous memory files; grant maps are anonymous pages; the
 * event-channel fd is a pipe that never becomes readable. Socket clients are then dom0, exactly as
 * on a Xen host, and the store logic is Xen's own.
 * With XS_REF_RING_DIR set, an introduced domain's ring page is the file RINGDIR/ring-<domid> and
 * the event channel is the FIFO RINGDIR/evtchn (any byte written = an event), so that
 * xenstored-bridge.c can be that domain's end of the ring.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char dummy[4096];

typedef int (*open_fn)(const char *, int, ...);
static open_fn real_open_fn(void)
{
    static open_fn real_open;
    if (!real_open)
        real_open = (open_fn)dlsym(RTLD_NEXT, "open");
    return real_open;
}

/* A one-page file at PATH, shared with whoever maps it too. */
static int memfile_at(const char *path)
{
    int fd = real_open_fn()(path, O_RDWR | O_CREAT, 0600);
    if (fd >= 0 && ftruncate(fd, 4096) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}
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
    const char *dir = getenv("XS_REF_RING_DIR");
    int fd = -1;
    if (dir) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/ring-%u", dir, (unsigned)domid);
        fd = memfile_at(path);
        if (fd < 0)
            return NULL;
    }
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);
    if (fd >= 0)
        close(fd);
    return p == MAP_FAILED ? NULL : p;
}
int xengnttab_unmap(void *xgt, void *addr, uint32_t count) { return munmap(addr, 4096 * count); }

void *xenevtchn_open(void *logger, unsigned flags) { return dummy; }
void *xenevtchn_fdopen(void *logger, int fd, unsigned flags) { return dummy; }
int xenevtchn_fd(void *xce)
{
    const char *dir = getenv("XS_REF_RING_DIR");
    if (evtchn_pipe[0] >= 0)
        return evtchn_pipe[0];
    if (dir) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/evtchn", dir);
        if (mkfifo(path, 0600) < 0 && errno != EEXIST)
            return -1;
        evtchn_pipe[0] = real_open_fn()(path, O_RDWR | O_NONBLOCK);
        return evtchn_pipe[0];
    }
    if (pipe(evtchn_pipe) < 0)
        return -1;
    return evtchn_pipe[0];
}
int xenevtchn_bind_virq(void *xce, unsigned virq) { return 1; }
int xenevtchn_bind_interdomain(void *xce, uint32_t domid, uint32_t port) { return next_port++; }
int xenevtchn_notify(void *xce, uint32_t port) { return 0; }
/* An event: any port but the VIRQ's (1), which would mean "a domain died". */
int xenevtchn_pending(void *xce)
{
    char b[64];
    while (read(evtchn_pipe[0], b, sizeof(b)) > 0)
        ;
    return 10;
}
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
    return real_open_fn()(path, flags, mode);
}
