#include "engine/onnx/onnx_import.h"

#include <google/protobuf/io/coded_stream.h>
#include <onnx/onnx_pb.h>
#include <sys/stat.h>

#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <map>

#include "core/log.h"
#include "engine/op.h"

namespace seer::engine {
namespace {

// Raw initializers smaller than this whose bytes are not aligned to their element size are
// copied to aligned memory, so every vectorised loop may assume natural alignment. Larger ones
// (matrices that MatMul/Conv pack at load, embedding tables that Gather copies with memcpy) are
// used in place: x86 loads tolerate the misalignment and copying them would double the weights.
constexpr uint64_t kCopyMisalignedBelow = 1 << 20;

// ---- protobuf wire format, just enough to cut raw_data out of the initializers ----
struct Reader {
  const uint8_t* base;
  uint64_t pos, end;
  bool ok = true;
  bool done() const { return pos >= end || !ok; }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= end) { ok = false; return 0; }
      uint8_t b = base[pos++];
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  // Skips the payload of a field with this wire type; returns [start, end) of its bytes.
  void skip(int wire, uint64_t* start, uint64_t* stop) {
    *start = pos;
    switch (wire) {
      case 0: varint(); break;
      case 1: pos += 8; break;
      case 5: pos += 4; break;
      case 2: {
        uint64_t len = varint();
        *start = pos;
        pos += len;
        break;
      }
      default: ok = false;
    }
    if (pos > end) ok = false;
    *stop = pos;
  }
};

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

struct RawSpan {
  uint64_t offset = 0, length = 0;
  bool present = false;
};

enum class FieldAction { kCopy, kTaken, kFailed };

// Walks the fields of one message in [begin, end): `take(field, wire, key, start, stop)` sees each
// field's payload [start, stop) and either handles it (kTaken), asks for it to be copied to `out`
// unchanged (kCopy), or fails the walk (kFailed).
template <typename Take>
bool rewrite_fields(const uint8_t* base, uint64_t begin, uint64_t end, std::string& out, Take take) {
  Reader r{base, begin, end};
  while (!r.done()) {
    const uint64_t field_start = r.pos;
    const uint64_t key = r.varint();
    const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    uint64_t s, e;
    r.skip(wire, &s, &e);
    if (!r.ok) return false;
    switch (take(field, wire, key, s, e)) {
      case FieldAction::kCopy:
        out.append(reinterpret_cast<const char*>(base + field_start), e - field_start);
        break;
      case FieldAction::kTaken: break;
      case FieldAction::kFailed: return false;
    }
  }
  return r.ok;
}

// Appends a length-delimited field `key` holding `payload`.
void put_submessage(std::string& out, uint64_t key, const std::string& payload) {
  put_varint(out, key);
  put_varint(out, payload.size());
  out += payload;
}

// Copies a TensorProto without field 9 (raw_data), recording where raw_data was.
bool strip_tensor(const uint8_t* base, uint64_t begin, uint64_t end, std::string& out, RawSpan* raw) {
  return rewrite_fields(base, begin, end, out, [&](int field, int wire, uint64_t, uint64_t s, uint64_t e) {
    if (field != 9 || wire != 2) return FieldAction::kCopy;
    raw->offset = s;
    raw->length = e - s;
    raw->present = true;
    return FieldAction::kTaken;
  });
}

// Copies a GraphProto with every initializer (field 5) stripped of its raw_data.
bool strip_graph(const uint8_t* base, uint64_t begin, uint64_t end, std::string& out,
                 std::vector<RawSpan>* raws) {
  return rewrite_fields(base, begin, end, out, [&](int field, int wire, uint64_t key, uint64_t s, uint64_t e) {
    if (field != 5 || wire != 2) return FieldAction::kCopy;
    std::string t;
    RawSpan raw;
    if (!strip_tensor(base, s, e, t, &raw)) return FieldAction::kFailed;
    raws->push_back(raw);
    put_submessage(out, key, t);
    return FieldAction::kTaken;
  });
}

// Copies a ModelProto with its graph (field 7) stripped as above.
bool strip_model(const uint8_t* base, uint64_t size, std::string& out, std::vector<RawSpan>* raws) {
  return rewrite_fields(base, 0, size, out, [&](int field, int wire, uint64_t key, uint64_t s, uint64_t e) {
    if (field != 7 || wire != 2) return FieldAction::kCopy;
    std::string g;
    if (!strip_graph(base, s, e, g, raws)) return FieldAction::kFailed;
    put_submessage(out, key, g);
    return FieldAction::kTaken;
  });
}

// ---- conversion ----
class Importer {
 public:
  Importer(const ImportOptions& opt, std::string base_dir, const uint8_t* file, WeightStore& store)
      : opt_(opt), base_dir_(std::move(base_dir)), file_(file), store_(store) {}

  Status run(const onnx::ModelProto& model, const std::vector<RawSpan>& raws, Graph* g);

  Status tensor_bytes(const onnx::TensorProto& t, const RawSpan* raw, DataType* dtype, Shape* shape,
                      const void** data);

 private:
  StatusOr<Shape> dims_of(const onnx::TensorProto& t);
  Status convert_attr(const onnx::AttributeProto& a, Attribute* out);
  int value_id(Graph& g, const std::string& name);
  void apply_type(Value& v, const onnx::TypeProto& type);
  Status constant_node(Graph& g, const onnx::NodeProto& n);

  const ImportOptions& opt_;
  std::string base_dir_;
  const uint8_t* file_;  // the mapped file, or null for byte imports (raw_data then inline)
  WeightStore& store_;
  std::map<std::string, int> ids_;
};

int Importer::value_id(Graph& g, const std::string& name) {
  auto it = ids_.find(name);
  if (it != ids_.end()) return it->second;
  int id = g.add_value(name);
  ids_.emplace(name, id);
  return id;
}

void Importer::apply_type(Value& v, const onnx::TypeProto& type) {
  if (!type.has_tensor_type()) return;
  const auto& tt = type.tensor_type();
  if (v.dtype == DataType::kUndefined) v.dtype = dtype_from_onnx(tt.elem_type());
  if (!tt.has_shape() || v.shape_known || !Shape::fits(tt.shape().dim_size())) return;
  v.shape = Shape();
  v.dim_params.clear();
  for (const auto& d : tt.shape().dim()) {
    v.shape.push_back(d.has_dim_value() ? d.dim_value() : kDynamicDim);
    v.dim_params.push_back(d.has_dim_param() ? d.dim_param() : std::string());
  }
  v.shape_known = true;
}

StatusOr<Shape> Importer::dims_of(const onnx::TensorProto& t) {
  if (!Shape::fits(t.dims_size()))
    return Status::unsupported("tensor '{}' has rank {} (seer supports up to {})", t.name(),
                               t.dims_size(), kMaxRank);
  Shape s;
  for (int64_t d : t.dims()) {
    if (d < 0) return Status::invalid_argument("tensor '{}' has a negative dim", t.name());
    s.push_back(d);
  }
  return s;
}

template <typename Src, typename Dst>
void narrow_copy(const google::protobuf::RepeatedField<Src>& src, void* dst) {
  Dst* d = static_cast<Dst*>(dst);
  for (int i = 0; i < src.size(); ++i) d[i] = static_cast<Dst>(src[i]);
}

Status Importer::tensor_bytes(const onnx::TensorProto& t, const RawSpan* raw, DataType* dtype,
                              Shape* shape, const void** data) {
  *dtype = dtype_from_onnx(t.data_type());
  if (*dtype == DataType::kUndefined || *dtype == DataType::kString)
    return Status::unsupported("tensor '{}' has data type {} (not supported)", t.name(),
                               t.data_type());
  SEER_ASSIGN_OR_RETURN(*shape, dims_of(t));
  const uint64_t n = static_cast<uint64_t>(shape->numel());
  const uint64_t bytes = n * dtype_size(*dtype);
  const size_t esize = dtype_size(*dtype);

  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    uint64_t offset = 0, length = bytes;
    bool has_length = false;
    for (const auto& kv : t.external_data()) {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoull(kv.value());
      else if (kv.key() == "length") { length = std::stoull(kv.value()); has_length = true; }
    }
    if (location.empty() || location.find("..") != std::string::npos || location[0] == '/')
      return Status::invalid_argument("tensor '{}': bad external data location '{}'", t.name(),
                                      location);
    if (has_length && length != bytes)
      return Status::invalid_argument("tensor '{}': external length {} != {} bytes of its shape",
                                      t.name(), length, bytes);
    std::string path = (std::filesystem::path(base_dir_) / location).string();
    SEER_ASSIGN_OR_RETURN(const void* p, store_.map_file(path, offset, bytes));
    *data = p;
    if (reinterpret_cast<uintptr_t>(p) % esize != 0 && bytes < kCopyMisalignedBelow) {
      SEER_ASSIGN_OR_RETURN(void* c, store_.allocate(bytes));
      std::memcpy(c, p, bytes);
      *data = c;
    }
    return Status();
  }

  if (raw && raw->present) {
    if (raw->length != bytes)
      return Status::invalid_argument("tensor '{}': raw_data has {} bytes, its shape {} needs {}",
                                      t.name(), raw->length, shape->to_string(), bytes);
    const uint8_t* p = file_ + raw->offset;
    if (reinterpret_cast<uintptr_t>(p) % esize == 0 || bytes >= kCopyMisalignedBelow) {
      *data = p;
      return Status();
    }
    SEER_ASSIGN_OR_RETURN(void* c, store_.allocate(bytes));
    std::memcpy(c, p, bytes);
    *data = c;
    return Status();
  }
  if (t.has_raw_data()) {  // raw_data left in place (constant attributes, byte imports)
    if (t.raw_data().size() != bytes)
      return Status::invalid_argument("tensor '{}': raw_data has {} bytes, its shape {} needs {}",
                                      t.name(), t.raw_data().size(), shape->to_string(), bytes);
    SEER_ASSIGN_OR_RETURN(void* c, store_.allocate(bytes));
    std::memcpy(c, t.raw_data().data(), bytes);
    *data = c;
    return Status();
  }

  SEER_ASSIGN_OR_RETURN(void* c, store_.allocate(bytes));
  *data = c;
  auto check = [&](int have) -> Status {
    if (static_cast<uint64_t>(have) != n)
      return Status::invalid_argument("tensor '{}': {} typed values for shape {}", t.name(), have,
                                      shape->to_string());
    return Status();
  };
  switch (*dtype) {
    case DataType::kFloat32:
      SEER_RETURN_IF_ERROR(check(t.float_data_size()));
      std::memcpy(c, t.float_data().data(), bytes);
      break;
    case DataType::kFloat64:
      SEER_RETURN_IF_ERROR(check(t.double_data_size()));
      std::memcpy(c, t.double_data().data(), bytes);
      break;
    case DataType::kInt64:
      SEER_RETURN_IF_ERROR(check(t.int64_data_size()));
      std::memcpy(c, t.int64_data().data(), bytes);
      break;
    case DataType::kUInt32:
      SEER_RETURN_IF_ERROR(check(t.uint64_data_size()));
      narrow_copy<uint64_t, uint32_t>(t.uint64_data(), c);
      break;
    case DataType::kUInt64:
      SEER_RETURN_IF_ERROR(check(t.uint64_data_size()));
      std::memcpy(c, t.uint64_data().data(), bytes);
      break;
    case DataType::kInt32:
      SEER_RETURN_IF_ERROR(check(t.int32_data_size()));
      std::memcpy(c, t.int32_data().data(), bytes);
      break;
    case DataType::kInt16: SEER_RETURN_IF_ERROR(check(t.int32_data_size())); narrow_copy<int32_t, int16_t>(t.int32_data(), c); break;
    case DataType::kUInt16:
    case DataType::kFloat16:
    case DataType::kBFloat16: SEER_RETURN_IF_ERROR(check(t.int32_data_size())); narrow_copy<int32_t, uint16_t>(t.int32_data(), c); break;
    case DataType::kInt8: SEER_RETURN_IF_ERROR(check(t.int32_data_size())); narrow_copy<int32_t, int8_t>(t.int32_data(), c); break;
    case DataType::kUInt8:
    case DataType::kBool: SEER_RETURN_IF_ERROR(check(t.int32_data_size())); narrow_copy<int32_t, uint8_t>(t.int32_data(), c); break;
    default: return Status::unsupported("tensor '{}': data type {}", t.name(), to_string(*dtype));
  }
  return Status();
}

Status Importer::convert_attr(const onnx::AttributeProto& a, Attribute* out) {
  out->name = a.name();
  using K = Attribute::Kind;
  switch (a.type()) {
    case onnx::AttributeProto::FLOAT: out->kind = K::kFloat; out->f = a.f(); break;
    case onnx::AttributeProto::INT: out->kind = K::kInt; out->i = a.i(); break;
    case onnx::AttributeProto::STRING: out->kind = K::kString; out->s = a.s(); break;
    case onnx::AttributeProto::FLOATS: out->kind = K::kFloats; out->floats.assign(a.floats().begin(), a.floats().end()); break;
    case onnx::AttributeProto::INTS: out->kind = K::kInts; out->ints.assign(a.ints().begin(), a.ints().end()); break;
    case onnx::AttributeProto::STRINGS: out->kind = K::kStrings; out->strings.assign(a.strings().begin(), a.strings().end()); break;
    case onnx::AttributeProto::TENSOR: {
      out->kind = K::kTensor;
      const void* p = nullptr;
      SEER_RETURN_IF_ERROR(tensor_bytes(a.t(), nullptr, &out->t.dtype, &out->t.shape, &p));
      out->t.ptr = const_cast<void*>(p);
      break;
    }
    case onnx::AttributeProto::GRAPH:
    case onnx::AttributeProto::GRAPHS:
      out->kind = K::kGraph;  // no op seer runs takes a subgraph: resolve() rejects the node
      break;
    default:
      return Status::unsupported("attribute '{}' has type {} (not supported)", a.name(),
                                 static_cast<int>(a.type()));
  }
  return Status();
}

Status Importer::constant_node(Graph& g, const onnx::NodeProto& n) {
  if (n.output_size() != 1 || n.attribute_size() != 1)
    return Status::invalid_argument("Constant node '{}' needs one output and one attribute", n.name());
  const onnx::AttributeProto& a = n.attribute(0);
  Value& v = g.values[value_id(g, n.output(0))];
  auto scalar_or_list = [&](DataType dt, const void* src, size_t count, bool scalar) -> Status {
    SEER_ASSIGN_OR_RETURN(void* c, store_.allocate(count * dtype_size(dt)));
    std::memcpy(c, src, count * dtype_size(dt));
    v.dtype = dt;
    v.shape = scalar ? Shape() : Shape{static_cast<int64_t>(count)};
    v.constant = c;
    return Status();
  };
  if (a.name() == "value") {
    DataType dt;
    Shape s;
    const void* p;
    SEER_RETURN_IF_ERROR(tensor_bytes(a.t(), nullptr, &dt, &s, &p));
    v.dtype = dt;
    v.shape = s;
    v.constant = p;
  } else if (a.name() == "value_float") {
    float f = a.f();
    SEER_RETURN_IF_ERROR(scalar_or_list(DataType::kFloat32, &f, 1, true));
  } else if (a.name() == "value_int") {
    int64_t i = a.i();
    SEER_RETURN_IF_ERROR(scalar_or_list(DataType::kInt64, &i, 1, true));
  } else if (a.name() == "value_floats") {
    SEER_RETURN_IF_ERROR(scalar_or_list(DataType::kFloat32, a.floats().data(), a.floats_size(), false));
  } else if (a.name() == "value_ints") {
    SEER_RETURN_IF_ERROR(scalar_or_list(DataType::kInt64, a.ints().data(), a.ints_size(), false));
  } else {
    return Status::unsupported("attribute '{}' of op Constant (domain ai.onnx) in node '{}' is not "
                               "implemented", a.name(), n.name());
  }
  v.shape_known = true;
  return Status();
}

Status Importer::run(const onnx::ModelProto& model, const std::vector<RawSpan>& raws, Graph* out) {
  Graph& g = *out;
  for (const auto& op : model.opset_import()) {
    std::string d = op.domain() == "ai.onnx" ? "" : op.domain();
    g.opsets[d] = static_cast<int>(op.version());
  }
  if (!g.opsets.count("")) g.opsets[""] = 1;
  const onnx::GraphProto& gp = model.graph();
  g.name = gp.name();

  for (int i = 0; i < gp.initializer_size(); ++i) {
    const onnx::TensorProto& t = gp.initializer(i);
    Value& v = g.values[value_id(g, t.name())];
    const void* p = nullptr;
    SEER_RETURN_IF_ERROR(tensor_bytes(t, i < static_cast<int>(raws.size()) ? &raws[i] : nullptr,
                                      &v.dtype, &v.shape, &p)
                             .with_context(fmt::format("initializer '{}'", t.name())));
    v.constant = p;
    v.shape_known = true;
  }
  if (gp.sparse_initializer_size() > 0)
    return Status::unsupported("sparse initializers are not supported");
  for (const auto& in : gp.input()) {
    int id = value_id(g, in.name());
    if (g.values[id].constant) continue;  // an initializer listed as input: a constant here
    apply_type(g.values[id], in.type());
    g.inputs.push_back(id);
  }
  for (const auto& vi : gp.value_info()) apply_type(g.values[value_id(g, vi.name())], vi.type());
  for (const auto& o : gp.output()) {
    int id = value_id(g, o.name());
    apply_type(g.values[id], o.type());
    g.outputs.push_back(id);
  }

  for (int i = 0; i < gp.node_size(); ++i) {
    const onnx::NodeProto& n = gp.node(i);
    std::string domain = n.domain() == "ai.onnx" ? "" : n.domain();
    auto os = g.opsets.find(domain);
    if (os == g.opsets.end())
      return Status::invalid_argument("node '{}' uses domain '{}', which the model does not import",
                                      n.name(), domain);
    if (n.op_type() == "Constant" && domain.empty()) {
      SEER_RETURN_IF_ERROR(constant_node(g, n));
      continue;
    }
    std::vector<int> ins, outs;
    for (const auto& name : n.input()) ins.push_back(name.empty() ? kNoValue : value_id(g, name));
    for (const auto& name : n.output()) outs.push_back(name.empty() ? kNoValue : value_id(g, name));
    std::string name = n.name().empty() ? fmt::format("{}_{}", n.op_type(), i) : n.name();
    int id = g.add_node(n.op_type(), domain, os->second, std::move(ins), std::move(outs), name);
    for (const auto& a : n.attribute()) {
      Attribute attr;
      SEER_RETURN_IF_ERROR(convert_attr(a, &attr).with_context(g.nodes[id].describe()));
      g.nodes[id].attributes.push_back(std::move(attr));
    }
  }
  SEER_RETURN_IF_ERROR(g.finalize());
  if (opt_.resolve_ops) {
    for (const Node& n : g.nodes) {
      const OpDef* def;
      SEER_RETURN_IF_ERROR(OpRegistry::global().resolve(n, &def));
    }
  }
  return Status();
}

Status parse_structure(const void* data, size_t size, onnx::ModelProto* model) {
  google::protobuf::io::CodedInputStream in(static_cast<const uint8_t*>(data),
                                            static_cast<int>(std::min<size_t>(size, INT_MAX)));
  in.SetTotalBytesLimit(INT_MAX);
  if (size > INT_MAX || !model->ParseFromCodedStream(&in))
    return Status::invalid_argument("not a valid ONNX ModelProto");
  return Status();
}

}  // namespace

StatusOr<ImportedGraph> import_onnx(const std::string& path, const ImportOptions& options) {
  if (!options.ledger) return Status::internal("import_onnx: no ledger");
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Status::not_found("model file '{}' not found", path);
  ImportedGraph out;
  out.file_bytes = static_cast<uint64_t>(st.st_size);
  out.weights = std::make_unique<WeightStore>(*options.ledger, options.device, options.owner, options.reservation);
  SEER_ASSIGN_OR_RETURN(const void* mapped, out.weights->map_file(path, 0, out.file_bytes));
  const uint8_t* base = static_cast<const uint8_t*>(mapped);

  std::string structure;
  std::vector<RawSpan> raws;
  if (!strip_model(base, out.file_bytes, structure, &raws))
    return Status::invalid_argument("'{}' is not a valid ONNX file (bad protobuf framing)", path);
  onnx::ModelProto model;
  SEER_RETURN_IF_ERROR(parse_structure(structure.data(), structure.size(), &model)
                           .with_context(path));
  std::string dir = std::filesystem::path(path).parent_path().string();
  Importer importer(options, dir.empty() ? "." : dir, base, *out.weights);
  SEER_RETURN_IF_ERROR(importer.run(model, raws, &out.graph).with_context(path));
  return out;
}

StatusOr<NpyArray> read_tensor_proto(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::not_found("cannot open '{}'", path);
  std::stringstream ss;
  ss << f.rdbuf();
  onnx::TensorProto t;
  if (!t.ParseFromString(ss.str())) return Status::invalid_argument("'{}' is not a TensorProto", path);
  MemoryLedger ledger;
  WeightStore store(ledger, DeviceId{}, "tensor_proto");
  ImportOptions opt;
  opt.ledger = &ledger;
  Importer importer(opt, ".", nullptr, store);
  NpyArray out;
  const void* p = nullptr;
  SEER_RETURN_IF_ERROR(importer.tensor_bytes(t, nullptr, &out.dtype, &out.shape, &p));
  const uint8_t* b = static_cast<const uint8_t*>(p);
  out.data.assign(b, b + byte_size(out.dtype, out.shape));
  return out;
}

StatusOr<ImportedGraph> import_onnx_bytes(const void* data, size_t size, const ImportOptions& options,
                                          const std::string& base_dir) {
  if (!options.ledger) return Status::internal("import_onnx: no ledger");
  ImportedGraph out;
  out.file_bytes = size;
  out.weights = std::make_unique<WeightStore>(*options.ledger, options.device, options.owner, options.reservation);
  onnx::ModelProto model;
  SEER_RETURN_IF_ERROR(parse_structure(data, size, &model));
  Importer importer(options, base_dir, nullptr, *out.weights);
  SEER_RETURN_IF_ERROR(importer.run(model, {}, &out.graph));
  return out;
}

}  // namespace seer::engine
