/*
 * A guest that floods its QEMU's event stream. Usage: port-flood PORT VALUE COUNT: writes the
 * byte VALUE to the I/O port PORT COUNT times, then prints "port-flood done COUNT". Each write of
 * 2 to pvpanic's port (0x505) makes QEMU emit a GUEST_CRASHLOADED event, and QEMU does not rate
 * limit that event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: port-flood PORT VALUE COUNT\n");
    return 2;
  }
  unsigned port = strtoul(argv[1], NULL, 0);
  unsigned char value = strtoul(argv[2], NULL, 0);
  unsigned long count = strtoul(argv[3], NULL, 0);
  if (ioperm(port, 1, 1) != 0) {
    perror("ioperm");
    return 1;
  }
  for (unsigned long i = 0; i < count; i++) outb(value, port);
  printf("port-flood done %lu\n", count);
  return 0;
}
