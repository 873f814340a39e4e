#include <malloc.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // glibc raises its mmap threshold to the size of the largest block freed so far (up to
  // 32 MiB), after which decoded photos and tiles come from arena heaps that never shrink: RSS
  // climbs with every new size of photo and stays there. A fixed 1 MiB threshold keeps every
  // large temporary in its own mapping, returned to the OS on free, so memory stays flat.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  return seer::cli::run_cli(argc, argv);
}
