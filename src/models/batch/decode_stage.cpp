#include "models/batch/decode_stage.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "models/batch/content_hash.h"

namespace seer {

std::string_view to_string(OutcomeKind k) {
  switch (k) {
    case OutcomeKind::kDone: return "done";
    case OutcomeKind::kSkipped: return "skipped";
    case OutcomeKind::kFailed: return "failed";
  }
  return "?";
}

std::string_view to_string(SkipReason r) {
  switch (r) {
    case SkipReason::kNone: return "";
    case SkipReason::kIndexed: return "indexed";
    case SkipReason::kSidecarExists: return "sidecar exists";
  }
  return "?";
}

StatusOr<FileBytes> read_file_bytes(const WalkedFile& f, const DecodeLimits& limits, MemoryLedger& ledger,
                                    const std::string& owner) {
  if (f.size > limits.max_input_bytes) {
    return Status::payload_too_large("{}: {} bytes, over the {} byte input limit", f.path.string(),
                                     f.size, limits.max_input_bytes);
  }
  int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return Status::not_found("{}: no such file", f.path.string());
    return Status::internal("{}: {}", f.path.string(), std::strerror(e));
  }
  // A ledger buffer (tag decode): one of 2 MiB and more is huge-page backed, so a 12-MP JPEG
  // faults in a handful of times instead of ~500 (each a VM exit here). One byte of room past
  // the walked size, so the read that finds the end needs no regrowth.
  auto alloc = [&](size_t bytes) { return ledger.allocate(DeviceId{}, owner, MemoryTag::kDecode, bytes); };
  auto fail = [&](Status s) {
    ::close(fd);
    return s;
  };
  SEER_ASSIGN_OR_RETURN(Buffer buf, alloc(f.size + 1));
  size_t done = 0;
  while (true) {
    if (done == buf.size()) {  // grew since the walk
      auto bigger = alloc(buf.size() + (1u << 20));
      if (!bigger.ok()) return fail(bigger.status());
      std::memcpy(bigger->data(), buf.data(), done);
      buf = std::move(bigger).value();
    }
    ssize_t n = ::read(fd, buf.as<uint8_t>() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Status::internal("{}: read: {}", f.path.string(), std::strerror(errno)));
    if (n == 0) break;
    done += static_cast<size_t>(n);
    if (done > limits.max_input_bytes) {
      return fail(Status::payload_too_large("{}: over the {} byte input limit", f.path.string(),
                                            limits.max_input_bytes));
    }
  }
  ::close(fd);
  return FileBytes{std::move(buf), done};
}

DecodeStage::DecodeStage(std::span<const WalkedFile> files, std::span<const SkipReason> skip,
                         const PreprocessSpec& spec, DecodeStageOptions options,
                         MemoryLedger& ledger)
    : files_(files), skip_(skip), spec_(spec), options_(std::move(options)), ledger_(ledger),
      ring_(std::max<size_t>(1, options_.window)) {
  options_.window = ring_.size();
  options_.load.decode.limits = options_.limits;
  pool_ = std::make_unique<ThreadPool>(std::max<size_t>(1, options_.threads), options_.window);
  dispatcher_ = std::thread([this] { dispatch(); });
}

DecodeStage::~DecodeStage() {
  stop();
  dispatcher_.join();
  pool_.reset();  // finishes the decodes already submitted (their slots are still in the ring)
}

void DecodeStage::stop() {
  std::lock_guard lk(mu_);
  stop_ = true;
  ready_.notify_all();
  room_.notify_all();
}

void DecodeStage::dispatch() {
  const size_t window = options_.window;
  for (size_t i = 0; i < files_.size(); ++i) {
    {
      std::unique_lock lk(mu_);
      room_.wait(lk, [&] { return stop_ || i < released_ + window; });
      if (stop_) return;
      DecodedFile& s = ring_[i % window];
      s = DecodedFile{};
      s.file = i;
      const WalkedFile& f = files_[i];
      if (!f.error.ok() || skip_[i] != SkipReason::kNone) {
        s.ready = true;
        if (!f.error.ok()) {
          s.kind = OutcomeKind::kFailed;
          s.error = f.error;
        } else {
          s.kind = OutcomeKind::kSkipped;
          s.skip = skip_[i];
        }
        ready_.notify_all();
        continue;
      }
    }
    pool_->submit([this, i] {
      if (options_.nice > 0) {
        // Once per worker thread: Linux applies a thread id's niceness to that thread only.
        thread_local const bool niced =
            ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), options_.nice) == 0;
        (void)niced;
      }
      DecodedFile local;
      local.file = i;
      local.ready = true;
      auto bytes = read_file_bytes(files_[i], options_.limits, ledger_, options_.load.decode.owner);
      if (!bytes.ok()) {
        local.kind = OutcomeKind::kFailed;
        local.error = bytes.status();
      } else {
        if (options_.hash) local.hash = xxh64(bytes->span());
        auto tile = load_tile(bytes->span(), spec_, options_.load, ledger_);
        bytes->buffer.reset();  // the encoded file goes before the tile waits in the ring
        if (tile.ok()) {
          local.tile = std::move(tile).value();
        } else {
          local.kind = OutcomeKind::kFailed;
          local.error = tile.status();
        }
      }
      std::lock_guard lk(mu_);
      ring_[i % options_.window] = std::move(local);
      ready_.notify_all();
    });
  }
}

DecodedFile* DecodeStage::wait(size_t i) {
  std::unique_lock lk(mu_);
  DecodedFile& s = ring_[i % options_.window];
  ready_.wait(lk, [&] { return stop_ || (s.ready && s.file == i); });
  if (stop_) return nullptr;
  // The slot is the consumer's until release() passes it, so it is read without the lock.
  return &s;
}

void DecodeStage::release(size_t next) {
  std::lock_guard lk(mu_);
  for (size_t f = released_; f < next; ++f) ring_[f % options_.window] = DecodedFile{};
  released_ = std::max(released_, next);
  room_.notify_all();
}

}  // namespace seer
