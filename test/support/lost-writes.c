/*
 * A guest-side detector of lost memory writes (a live migration that does not send a page again
 * after the guest wrote it). Usage: lost-writes [PAGES]. It writes round number R+1 into one word
 * of each of PAGES pages (default 64: few enough that the vCPU's TLB keeps them), after checking
 * that each still holds R; a page holding anything else is a lost write: it prints
 * "LOST page P: holds V, wrote R" and exits 1. Every 200000 rounds it prints "round R".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  size_t pages = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
  volatile unsigned long *words = aligned_alloc(4096, pages * 4096);
  if (pages == 0 || words == NULL) return 2;
  memset((void *)words, 0, pages * 4096);
  for (unsigned long round = 0;; round++) {
    for (size_t p = 0; p < pages; p++) {
      volatile unsigned long *w = &words[p * (4096 / sizeof *words)];
      if (*w != round) {
        printf("LOST page %zu: holds %lu, wrote %lu\n", p, *w, round);
        return 1;
      }
      *w = round + 1;
    }
    if (round % 200000 == 0) {
      printf("round %lu\n", round);
      fflush(stdout);
    }
  }
}
