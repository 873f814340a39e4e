#include <malloc.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // glibc raises its mmap threshold to the size of the largest block freed so far (up to
  // 32 MiB), after which decoded photos and tiles come from arena heaps that never shrink: RSS
  // climbs with every new size of photo and stays there. A fixed 1 MiB threshold keeps every
  // large temporary in its own mapping, returned to the OS on free, so memory stays flat.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // Setting the mmap threshold also freezes the trim threshold at its 128 KiB default: every
  // free of a few hundred KiB at the heap top went back to the OS and was faulted in again for
  // the next image (a 4 KiB fault is a VM exit here). Up to 4 MiB per arena stays mapped.
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  return seer::cli::run_cli(argc, argv);
}
