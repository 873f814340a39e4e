#include "engine/op.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace seer::engine {

static std::string_view canonical_domain(std::string_view d) {
  return d == "ai.onnx" ? std::string_view() : d;
}

OpRegistry& OpRegistry::global() {
  static OpRegistry* registry = new OpRegistry();  // never destroyed: used by static init
  return *registry;
}

void OpRegistry::add(OpDef def) {
  def.domain = std::string(canonical_domain(def.domain));
  for (const OpDef& d : defs_)
    if (d.name == def.name && d.domain == def.domain && d.min_opset <= def.max_opset &&
        def.min_opset <= d.max_opset) {
      std::fprintf(stderr, "seer: op %s (domain '%s') registered twice with overlapping opsets\n",
                   def.name.c_str(), def.domain.c_str());
      std::abort();
    }
  defs_.push_back(std::move(def));
}

const OpDef* OpRegistry::find(std::string_view op_type, std::string_view domain, int opset) const {
  domain = canonical_domain(domain);
  for (const OpDef& d : defs_)
    if (d.name == op_type && d.domain == domain && opset >= d.min_opset && opset <= d.max_opset)
      return &d;
  return nullptr;
}

Status OpRegistry::resolve(const Node& node, const OpDef** out) const {
  const OpDef* def = find(node.op_type, node.domain, node.opset);
  if (!def) {
    std::string known;
    for (const OpDef& d : defs_)
      if (d.name == node.op_type && d.domain == canonical_domain(node.domain))
        known += fmt::format("{}{}..{}", known.empty() ? "" : ", ", d.min_opset,
                             d.max_opset == INT_MAX ? std::string() : std::to_string(d.max_opset));
    return Status::unsupported("op {} (domain {}, opset {}) in node '{}' is not implemented{}",
                               node.op_type, node.domain.empty() ? "ai.onnx" : node.domain,
                               node.opset, node.name,
                               known.empty() ? "" : " (seer has opsets " + known + ")");
  }
  for (const Attribute& a : node.attributes)
    if (std::find(def->attributes.begin(), def->attributes.end(), a.name) == def->attributes.end())
      return Status::unsupported("attribute '{}' of op {} (domain {}, opset {}) in node '{}' is not "
                                 "implemented",
                                 a.name, node.op_type, node.domain.empty() ? "ai.onnx" : node.domain,
                                 node.opset, node.name);
  *out = def;
  return Status();
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> out;
  for (const OpDef& d : defs_) out.push_back((d.domain.empty() ? "" : d.domain + ":") + d.name);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace seer::engine
