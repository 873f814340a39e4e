#include "engine/no_alloc.h"

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace seer::engine {
namespace {
thread_local int g_forbid = 0;  // > 0 inside a NoAllocScope not paused by AllowAllocScope
}

NoAllocScope::NoAllocScope() : saved_(g_forbid) { g_forbid = 1; }
NoAllocScope::~NoAllocScope() { g_forbid = saved_; }
AllowAllocScope::AllowAllocScope(const char*) : saved_(g_forbid) { g_forbid = 0; }
AllowAllocScope::~AllowAllocScope() { g_forbid = saved_; }

#ifdef SEER_NO_ALLOC_ON_RUN
bool no_alloc_enforced() { return true; }
#else
bool no_alloc_enforced() { return false; }
#endif

}  // namespace seer::engine

#ifdef SEER_NO_ALLOC_ON_RUN
// Replaced global allocation functions: the checked path of SEER_NO_ALLOC_ON_RUN builds.
namespace {
void* checked_alloc(std::size_t n, std::size_t align) {
  if (seer::engine::g_forbid) {
    seer::engine::g_forbid = 0;  // let the message itself print
    std::fprintf(stderr, "seer: heap allocation of %zu bytes on the engine run path "
                         "(SEER_NO_ALLOC_ON_RUN)\n", n);
    std::abort();
  }
  if (n == 0) n = 1;
  void* p = align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align)
                                              : std::malloc(n);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return checked_alloc(n, 0); }
void* operator new[](std::size_t n) { return checked_alloc(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return checked_alloc(n, static_cast<size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return checked_alloc(n, static_cast<size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try { return checked_alloc(n, 0); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try { return checked_alloc(n, 0); } catch (...) { return nullptr; }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif
