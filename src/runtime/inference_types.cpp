#include "runtime/inference_types.h"

namespace seer {

ImageInput& image_of(InferenceRequest& request) {
  return std::visit([](auto& r) -> ImageInput& { return r.image; }, request);
}

const ImageInput& image_of(const InferenceRequest& request) {
  return std::visit([](const auto& r) -> const ImageInput& { return r.image; }, request);
}

std::string_view request_kind(const InferenceRequest& request) {
  struct Name {
    std::string_view operator()(const TagRequest&) const { return "tag"; }
    std::string_view operator()(const ClassifyRequest&) const { return "classify"; }
    std::string_view operator()(const TextRequest&) const { return "text"; }
  };
  return std::visit(Name{}, request);
}

}  // namespace seer
