#include "engine/no_alloc.h"

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

// The replaced operator new below is compiled into every build but sanitizer ones (their runtimes
// replace it themselves); it checks only while enforced.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SEER_ALLOC_HOOK 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SEER_ALLOC_HOOK 0
#endif
#endif
#ifndef SEER_ALLOC_HOOK
#define SEER_ALLOC_HOOK 1
#endif

namespace seer::engine {
namespace {
thread_local int g_forbid = 0;  // > 0 inside a NoAllocScope not paused by AllowAllocScope

// Read once, the first time a NoAllocScope allocates (never during static initialisation).
bool enforced_now() {
#if !SEER_ALLOC_HOOK
  return false;
#elif defined(SEER_NO_ALLOC_ON_RUN)
  return true;
#else
  static const bool from_env = [] {
    const char* e = std::getenv("SEER_NO_ALLOC_ON_RUN");
    return e && *e && *e != '0';
  }();
  return from_env;
#endif
}
}  // namespace

NoAllocScope::NoAllocScope() : saved_(g_forbid) { g_forbid = 1; }
NoAllocScope::~NoAllocScope() { g_forbid = saved_; }
AllowAllocScope::AllowAllocScope(const char*) : saved_(g_forbid) { g_forbid = 0; }
AllowAllocScope::~AllowAllocScope() { g_forbid = saved_; }

bool no_alloc_enforced() { return enforced_now(); }

}  // namespace seer::engine

#if SEER_ALLOC_HOOK
// Replaced global allocation functions: plain malloc/free, plus the check while enforced.
namespace {
void* checked_alloc(std::size_t n, std::size_t align) {
  if (seer::engine::g_forbid && seer::engine::enforced_now()) {
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
