// Caption sidecars: `<stem>.txt` next to each image, written atomically.
//
//   SidecarOptions opt{.mode = SidecarMode::kAppend};
//   SEER_ASSIGN_OR_RETURN(SidecarOutcome o, write_sidecar("/p/cat.jpg", result.text_tags, opt));
//   // /p/cat.txt now holds its old tags plus the new ones that were missing, ", "-joined
//
// Atomic: the content goes to a temporary file in the same folder (`.cat.txt.seer-tmp.<pid>.<n>`),
// is fsync'd, then renamed over the sidecar, so a reader (or a run killed with SIGKILL) sees the
// old file or the new one, never a torn one. kSkipExisting renames with RENAME_NOREPLACE, so a
// sidecar that appears meanwhile is not clobbered. The folder itself is not fsync'd (a power
// cut may lose the rename; the tag index then re-tags the image).
// Content: the tags joined with ", " and one trailing newline (kohya's format).
// kAppend merges: existing text is kept as is, and each new tag is added unless the file holds
// it already, compared after trimming, ASCII-lowercasing, `\(`/`\)` -> `(`/`)` and `_` -> ` `
// (so `ribbon_(cloth)`, `ribbon \(cloth\)` and `Ribbon (cloth)` are one tag). Re-running an
// append is therefore idempotent: a resumed run never duplicates tags.
//
// Thread-safe (no shared state but an atomic counter for temp names).
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace seer {

enum class SidecarMode { kSkipExisting, kOverwrite, kAppend };
std::string_view to_string(SidecarMode m);

struct SidecarOptions {
  SidecarMode mode = SidecarMode::kSkipExisting;
  std::string extension = ".txt";
  bool fsync = true;  // off only for tests and throwaway output
};

enum class SidecarOutcome {
  kWritten,    // created or overwritten
  kAppended,   // merged into an existing file (at least one new tag)
  kUnchanged,  // append found every tag already there: file untouched
  kSkipped,    // a sidecar existed and the mode is kSkipExisting
};
std::string_view to_string(SidecarOutcome o);

// `/p/cat.jpg` -> `/p/cat.txt` (the last extension is replaced; `a.b.png` -> `a.b.txt`).
std::filesystem::path sidecar_path(const std::filesystem::path& image,
                                   std::string_view extension = ".txt");

// The merged content of kAppend, without the trailing newline: `existing` (trailing blanks and
// newlines trimmed) followed by ", tag" for each tag it does not hold yet.
std::string merge_caption(std::string_view existing, std::span<const std::string> tags);

// Writes the sidecar of `image`. `tags` are the caption items (TagResult::text_tags).
StatusOr<SidecarOutcome> write_sidecar(const std::filesystem::path& image,
                                       std::span<const std::string> tags,
                                       const SidecarOptions& options);

// Writes `content` to `path` atomically (temp file in the same folder, fsync, rename). With
// no_replace, an existing `path` is left alone and the result is false.
StatusOr<bool> write_file_atomic(const std::filesystem::path& path, std::string_view content,
                                 bool fsync, bool no_replace);

}  // namespace seer
