#include "engine/graph.h"

#include <queue>

namespace seer::engine {

std::string_view to_string(Attribute::Kind k) {
  switch (k) {
    case Attribute::Kind::kFloat: return "float";
    case Attribute::Kind::kInt: return "int";
    case Attribute::Kind::kString: return "string";
    case Attribute::Kind::kTensor: return "tensor";
    case Attribute::Kind::kFloats: return "floats";
    case Attribute::Kind::kInts: return "ints";
    case Attribute::Kind::kStrings: return "strings";
    case Attribute::Kind::kGraph: return "graph";
    default: return "undefined";
  }
}

const Attribute* Node::find_attr(std::string_view n) const {
  for (const Attribute& a : attributes)
    if (a.name == n) return &a;
  return nullptr;
}

int64_t Node::attr_int(std::string_view n, int64_t fallback) const {
  const Attribute* a = find_attr(n);
  if (!a) return fallback;
  if (a->kind == Attribute::Kind::kFloat) return static_cast<int64_t>(a->f);
  return a->i;
}

float Node::attr_float(std::string_view n, float fallback) const {
  const Attribute* a = find_attr(n);
  if (!a) return fallback;
  if (a->kind == Attribute::Kind::kInt) return static_cast<float>(a->i);
  return a->f;
}

std::string Node::attr_string(std::string_view n, std::string fallback) const {
  const Attribute* a = find_attr(n);
  return a ? a->s : fallback;
}

std::vector<int64_t> Node::attr_ints(std::string_view n, std::vector<int64_t> fallback) const {
  const Attribute* a = find_attr(n);
  if (!a) return fallback;
  if (a->kind == Attribute::Kind::kInt) return {a->i};
  return a->ints;
}

std::vector<float> Node::attr_floats(std::string_view n, std::vector<float> fallback) const {
  const Attribute* a = find_attr(n);
  if (!a) return fallback;
  if (a->kind == Attribute::Kind::kFloat) return {a->f};
  return a->floats;
}

static Attribute& upsert(std::vector<Attribute>& attrs, std::string name) {
  for (Attribute& a : attrs)
    if (a.name == name) return a;
  attrs.emplace_back();
  attrs.back().name = std::move(name);
  return attrs.back();
}

void Node::set_attr_int(std::string n, int64_t v) {
  Attribute& a = upsert(attributes, std::move(n));
  a.kind = Attribute::Kind::kInt;
  a.i = v;
}
void Node::set_attr_float(std::string n, float v) {
  Attribute& a = upsert(attributes, std::move(n));
  a.kind = Attribute::Kind::kFloat;
  a.f = v;
}
void Node::set_attr_string(std::string n, std::string v) {
  Attribute& a = upsert(attributes, std::move(n));
  a.kind = Attribute::Kind::kString;
  a.s = std::move(v);
}
void Node::set_attr_ints(std::string n, std::vector<int64_t> v) {
  Attribute& a = upsert(attributes, std::move(n));
  a.kind = Attribute::Kind::kInts;
  a.ints = std::move(v);
}

std::string Node::describe() const {
  return fmt::format("{} '{}' ({} opset {})", op_type, name, domain.empty() ? "ai.onnx" : domain,
                     opset);
}

int Graph::add_value(std::string n, DataType dtype, Shape shape, bool shape_known) {
  Value v;
  v.name = std::move(n);
  v.dtype = dtype;
  v.shape = shape;
  v.shape_known = shape_known;
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_node(std::string op_type, std::string domain, int opset, std::vector<int> ins,
                    std::vector<int> outs, std::string n) {
  Node node;
  node.op_type = std::move(op_type);
  node.domain = std::move(domain);
  node.opset = opset;
  node.inputs = std::move(ins);
  node.outputs = std::move(outs);
  node.name = n.empty() ? fmt::format("{}_{}", node.op_type, nodes.size()) : std::move(n);
  nodes.push_back(std::move(node));
  return static_cast<int>(nodes.size()) - 1;
}

int Graph::find_value(std::string_view n) const {
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == n) return static_cast<int>(i);
  return -1;
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> out(values.size());
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int v : nodes[n].inputs)
      if (v != kNoValue && (out[v].empty() || out[v].back() != static_cast<int>(n)))
        out[v].push_back(static_cast<int>(n));
  return out;
}

Status Graph::finalize() {
  std::vector<Node> live;
  live.reserve(nodes.size());
  for (Node& n : nodes)
    if (!n.dead) live.push_back(std::move(n));
  nodes = std::move(live);

  // Kahn's algorithm, stable: among ready nodes the one earliest in the file goes first.
  std::vector<int> producer(values.size(), -1);
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int v : nodes[n].outputs)
      if (v != kNoValue) {
        if (producer[v] != -1)
          return Status::invalid_argument("value '{}' is produced by two nodes ('{}', '{}')",
                                          values[v].name, nodes[producer[v]].name, nodes[n].name);
        producer[v] = static_cast<int>(n);
      }
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> users(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int v : nodes[n].inputs) {
      if (v == kNoValue) continue;
      if (producer[v] >= 0) {
        ++pending[n];
        users[producer[v]].push_back(static_cast<int>(n));
      } else if (values[v].constant == nullptr &&
                 std::find(inputs.begin(), inputs.end(), v) == inputs.end()) {
        return Status::invalid_argument("{} reads '{}', which no node, input or initializer gives",
                                        nodes[n].describe(), values[v].name);
      }
    }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t n = 0; n < nodes.size(); ++n)
    if (pending[n] == 0) ready.push(static_cast<int>(n));
  std::vector<int> order;
  order.reserve(nodes.size());
  while (!ready.empty()) {
    int n = ready.top();
    ready.pop();
    order.push_back(n);
    for (int u : users[n])
      if (--pending[u] == 0) ready.push(u);
  }
  if (order.size() != nodes.size())
    return Status::invalid_argument("the graph has a cycle ({} of {} nodes sortable)",
                                    order.size(), nodes.size());
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  for (int n : order) sorted.push_back(std::move(nodes[n]));
  nodes = std::move(sorted);
  for (Value& v : values) v.producer = -1;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int v : nodes[n].outputs)
      if (v != kNoValue) values[v].producer = static_cast<int>(n);
  for (int o : outputs)
    if (values[o].producer < 0 && values[o].constant == nullptr &&
        std::find(inputs.begin(), inputs.end(), o) == inputs.end())
      return Status::invalid_argument("graph output '{}' has no producer", values[o].name);
  return Status();
}

}  // namespace seer::engine
