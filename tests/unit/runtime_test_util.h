// Helpers shared by the runtime_* and server_* unit tests: a temporary models dir with fake
// model folders (see runtime/testing/fake_backend.h for the marker file's key=value words).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "runtime/model_catalog.h"
#include "runtime/scheduler/scheduler.h"

namespace seer::testing {

// Options built field by field (designated initializers that skip fields warn under -Wextra).
inline CatalogOptions catalog_options(const std::filesystem::path& models, const std::filesystem::path& cache = "-",
                                      bool watch = true) {
  CatalogOptions o;
  o.models_dir = models;
  o.cache_file = cache;
  o.watch = watch;
  return o;
}
inline SchedulerOptions scheduler_options(int max_queue, int64_t delay_us) {
  SchedulerOptions o;
  o.max_queue = max_queue;
  o.batch_delay = std::chrono::microseconds(delay_us);
  return o;
}
inline ModelDescriptor named(const std::string& id) {
  ModelDescriptor d;
  d.id = id;
  return d;
}

class TempModelsDir {
 public:
  TempModelsDir() {
    std::random_device rd;
    root_ = std::filesystem::temp_directory_path() /
            ("seer-models-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(root_ / "models");
  }
  ~TempModelsDir() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  std::filesystem::path models() const { return root_ / "models"; }
  std::filesystem::path cache_file() const { return root_ / "catalog.sqlite"; }

  // A fake model folder `rel` whose marker holds `spec` ("weights=8MiB max_batch=4").
  void add_fake(const std::string& rel, const std::string& spec = "") const {
    std::filesystem::create_directories(models() / rel);
    std::ofstream(models() / rel / "fake.model") << spec << "\n";
  }
  void write(const std::string& rel, const std::string& text) const {
    std::filesystem::create_directories((models() / rel).parent_path());
    std::ofstream(models() / rel) << text;
  }

 private:
  std::filesystem::path root_;
};

}  // namespace seer::testing
