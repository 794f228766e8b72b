/*
 * Domain connection to the reference xenstored (scripts/xen-reference/xenstored with
 * XS_REF_RING_DIR set): serves SOCKET, one client at a time, and relays its bytes through the
 * xenstore ring page of domain DOMID (XS_REF_RING_DIR/ring-DOMID, mapped by the shim when the
 * domain is introduced), signalling xenstored through the shim's event FIFO
 * (XS_REF_RING_DIR/evtchn). Clients of SOCKET so act as that domain, as a guest does through its
 * ring. The ring outlives a client, so when one leaves the bridge sends RESET_WATCHES and drops
 * what comes back up to its reply: the next client starts clean, as on a fresh socket.
 * Usage: xenstored-bridge RINGDIR DOMID SOCKET
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RING 1024
#define MASK(i) ((i) & (RING - 1))
#define RESET_REQ_ID 0x5eed5eedu

struct intf {
    char req[RING];
    char rsp[RING];
    volatile uint32_t req_cons, req_prod, rsp_cons, rsp_prod;
};

static struct intf *ring;
static int evt = -1;
static unsigned char out[1 << 16]; /* to the ring */
static size_t out_len;
static unsigned char in[1 << 16];  /* from the ring, split into frames */
static size_t in_len;

static void kick(void)
{
    char b = 1;
    if (write(evt, &b, 1) < 0 && errno != EAGAIN)
        perror("evtchn");
}

/* Moves queued bytes into the request ring; true if any moved. */
static int push(void)
{
    size_t n = 0;
    while (n < out_len && ring->req_prod - ring->req_cons < RING) {
        ring->req[MASK(ring->req_prod)] = out[n++];
        __sync_synchronize();
        ring->req_prod++;
    }
    memmove(out, out + n, out_len - n);
    out_len -= n;
    if (n)
        kick();
    return n > 0;
}

/* Moves response bytes out of the ring; true if any moved. */
static int pull(void)
{
    int moved = 0;
    while (ring->rsp_cons != ring->rsp_prod && in_len < sizeof(in)) {
        __sync_synchronize();
        in[in_len++] = ring->rsp[MASK(ring->rsp_cons)];
        __sync_synchronize();
        ring->rsp_cons++;
        moved = 1;
    }
    if (moved)
        kick();
    return moved;
}

/* Length of the first whole frame in `in`, or 0. */
static size_t frame(uint32_t *req_id)
{
    uint32_t h[4];
    if (in_len < 16)
        return 0;
    memcpy(h, in, 16);
    if (in_len < 16 + (size_t)h[3])
        return 0;
    *req_id = h[1];
    return 16 + h[3];
}

static void drop(size_t n)
{
    memmove(in, in + n, in_len - n);
    in_len -= n;
}

int main(int argc, char **argv)
{
    char path[4096];
    if (argc != 4) {
        fprintf(stderr, "usage: xenstored-bridge RINGDIR DOMID SOCKET\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/ring-%s", argv[1], argv[2]);
    int rf = open(path, O_RDWR);
    if (rf < 0) { perror(path); return 1; }
    ring = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rf, 0);
    if (ring == MAP_FAILED) { perror("mmap"); return 1; }
    snprintf(path, sizeof(path), "%s/evtchn", argv[1]);
    evt = open(path, O_RDWR | O_NONBLOCK);
    if (evt < 0) { perror(path); return 1; }

    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[3]);
    unlink(argv[3]);
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4) < 0) { perror("bind"); return 1; }

    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) { perror("accept"); return 1; }
        int open_client = 1;
        while (open_client) {
            struct pollfd p = { .fd = c, .events = POLLIN };
            poll(&p, 1, 1);
            if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
                if (out_len == sizeof(out)) {
                    /* ring full: wait for xenstored */
                } else {
                    ssize_t n = read(c, out + out_len, sizeof(out) - out_len);
                    if (n <= 0)
                        open_client = 0;
                    else
                        out_len += n;
                }
            }
            push();
            pull();
            uint32_t id;
            size_t n;
            while ((n = frame(&id)) > 0) {
                if (send(c, in, n, MSG_NOSIGNAL) < 0)
                    open_client = 0;
                drop(n);
            }
        }
        close(c);
        /* Whatever the client left half-sent is lost with it, as on a closed socket. */
        out_len = 0;
        uint32_t h[4] = { 21 /* RESET_WATCHES */, RESET_REQ_ID, 0, 1 };
        memcpy(out, h, 16);
        out[16] = 0;
        out_len = 17;
        for (int done = 0; !done;) {
            push();
            pull();
            uint32_t id;
            size_t n;
            while (!done && (n = frame(&id)) > 0) {
                done = id == RESET_REQ_ID;
                drop(n);
            }
            if (!done)
                usleep(1000);
        }
    }
}
