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
// Active only in builds configured with -DSEER_NO_ALLOC_ON_RUN=ON (which replaces the global
// operator new/delete); otherwise both scopes cost nothing. The flag is thread-local: OpenMP
// worker threads are not checked (they run kernel loops, which do not allocate).
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

// True when this build enforces the guard.
bool no_alloc_enforced();

}  // namespace seer::engine
