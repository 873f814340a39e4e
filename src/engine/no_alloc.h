// A debug guard that makes heap allocation on the engine's run path fatal.
//
//   {
//     NoAllocScope guard;          // Model::run does this around every step
//     kernel->run(ctx);            // operator new here -> abort with a message (when enabled)
//     {
//       AllowAllocScope allow("oneDNN memory handles");   // a known, bounded exception
//       ...
//     }
//   }
//
// Enforced when the process starts with SEER_NO_ALLOC_ON_RUN=1 in its environment (every ctest
// test does: `make test` runs the whole suite, the real binary included, under the check) or in
// builds configured with -DSEER_NO_ALLOC_ON_RUN=ON. The global operator new/delete are replaced by
// malloc/free plus a thread-local check (not in sanitizer builds, whose runtimes replace them).
// The flag is thread-local: OpenMP worker threads are not checked (they run kernel loops, which
// do not allocate).
#pragma once

namespace seer::engine {

class NoAllocScope {
 public:
  NoAllocScope();
  ~NoAllocScope();
  NoAllocScope(const NoAllocScope&) = delete;
  NoAllocScope& operator=(const NoAllocScope&) = delete;

 private:
  int saved_;
};

class AllowAllocScope {
 public:
  explicit AllowAllocScope(const char* why);
  ~AllowAllocScope();
  AllowAllocScope(const AllowAllocScope&) = delete;
  AllowAllocScope& operator=(const AllowAllocScope&) = delete;

 private:
  int saved_;
};

// True when this process enforces the guard.
bool no_alloc_enforced();

}  // namespace seer::engine
