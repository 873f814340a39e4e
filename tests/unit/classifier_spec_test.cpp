// Classifier spec parsing: nsfwjs seer.json (as tools/nsfwjs/setup_models.js writes it) and HF
// config.json + preprocessor_config.json (as the committed vit-classifier-tiny folder holds), the
// refusals, the activations, and folder recognition.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "models/classifier/classifier.h"
#include "models/classifier/classifier_spec.h"
#include "runtime/classifier_backend.h"
#include "test_util/temp_dir.h"

namespace seer {
namespace {

namespace fs = std::filesystem;

// The fields of tools/nsfwjs/setup_models.js's seer.json for mobilenet_v2 (hashes left out).
std::string nsfwjs_json(int size = 224, const std::string& activation = "softmax", bool is_default = true) {
  return R"({"seer_meta_version": 1, "kind": "classifier", "family": "nsfwjs", "name": "nsfwjs/mobilenet_v2",
    "default": )" + std::string(is_default ? "true" : "false") + R"(, "format": "layers-model",
    "input": {"name": "input_1", "layout": "NHWC", "shape": [-1, )" + std::to_string(size) + ", " +
         std::to_string(size) + R"(, 3], "dtype": "float32"},
    "preprocess": {"color": "RGB", "alpha": "dropped", "scale": 0.00392156862745098,
      "resize": {"width": )" + std::to_string(size) + R"(, "height": )" + std::to_string(size) + R"(,
        "method": "bilinear", "align_corners": true, "half_pixel_centers": false, "keep_aspect": false},
      "mean": [0, 0, 0], "std": [1, 1, 1]},
    "output": {"name": "dense_3", "activation": ")" + activation + R"(", "shape": [-1, 5]},
    "labels": ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"]})";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

const fs::path kVitTiny = fs::path(SEER_SOURCE_DIR) / "tests/fixtures/models/vit-classifier-tiny";

TEST(ClassifierSpec, NsfwjsSeerJsonIsTheNsfwjsPipeline) {
  auto s = parse_nsfwjs_spec(nsfwjs_json(299));
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->format, "tfjs");
  EXPECT_EQ(s->name, "nsfwjs/mobilenet_v2");
  EXPECT_TRUE(s->is_default);
  EXPECT_EQ(s->labels, (std::vector<std::string>{"Drawing", "Hentai", "Neutral", "Porn", "Sexy"}));
  EXPECT_EQ(s->activation, ClassifierActivation::kNone);  // the graph ends in softmax
  const PreprocessSpec& p = s->preprocess;
  EXPECT_EQ(p.width, 299);
  EXPECT_EQ(p.height, 299);
  EXPECT_EQ(p.filter, ResizeFilter::kTfBilinearAlignCorners);
  EXPECT_EQ(p.fit, FitMode::kSquash);
  EXPECT_EQ(p.alpha, AlphaMode::kDrop);
  EXPECT_EQ(p.layout, TensorLayout::kNHWC);
  EXPECT_EQ(p.order, ChannelOrder::kRGB);
  EXPECT_EQ(p.scale, 1.0f);  // the float tile already holds x / 255
  EXPECT_EQ(p.mean, (std::array<float, 3>{0, 0, 0}));
  EXPECT_EQ(p.std, (std::array<float, 3>{1, 1, 1}));
  EXPECT_FALSE(parse_nsfwjs_spec(nsfwjs_json(224, "softmax", false))->is_default);
  EXPECT_EQ(parse_nsfwjs_spec(nsfwjs_json(224, "linear"))->activation, ClassifierActivation::kSoftmax);
}

TEST(ClassifierSpec, NsfwjsRefusesWhatItCannotReproduce) {
  auto code = [](std::string text) { return parse_nsfwjs_spec(text).status().code(); };
  std::string j = nsfwjs_json();
  EXPECT_EQ(code("not json"), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"kind": "tagger"})"), StatusCode::kInvalidArgument);
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = j;
    const size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  };
  EXPECT_EQ(code(replaced(R"("align_corners": true)", R"("align_corners": false)")), StatusCode::kUnsupported);
  EXPECT_EQ(code(replaced(R"("layout": "NHWC")", R"("layout": "NCHW")")), StatusCode::kUnsupported);
  EXPECT_EQ(code(replaced(R"("scale": 0.00392156862745098)", R"("scale": 1)")), StatusCode::kUnsupported);
  EXPECT_EQ(code(replaced(R"("activation": "softmax")", R"("activation": "tanh")")), StatusCode::kUnsupported);
  EXPECT_EQ(code(replaced(R"("shape": [-1, 5])", R"("shape": [-1, 4])")), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(replaced(R"("width": 224)", R"("width": 225)")), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(replaced(R"("labels": [)", R"("labelz": [)")), StatusCode::kInvalidArgument);
}

TEST(ClassifierSpec, HfViTFolderIsViTImageProcessor) {
  auto s = parse_hf_classifier_spec(slurp(kVitTiny / "config.json"), slurp(kVitTiny / "preprocessor_config.json"));
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->format, "onnx");
  EXPECT_EQ(s->name, "seer/vit-classifier-tiny");
  EXPECT_EQ(s->labels, (std::vector<std::string>{"normal", "nsfw"}));
  EXPECT_EQ(s->activation, ClassifierActivation::kSoftmax);  // logits
  EXPECT_FALSE(s->is_default);
  const PreprocessSpec& p = s->preprocess;
  EXPECT_EQ(p.width, 64);
  EXPECT_EQ(p.height, 64);
  EXPECT_EQ(p.filter, ResizeFilter::kPillowBilinear);  // resample 2
  EXPECT_EQ(p.fit, FitMode::kSquash);
  EXPECT_EQ(p.layout, TensorLayout::kNCHW);
  EXPECT_EQ(p.order, ChannelOrder::kRGB);
  EXPECT_EQ(p.scale, static_cast<float>(0.00392156862745098));
  EXPECT_EQ(p.mean, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
  EXPECT_EQ(p.std, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
}

TEST(ClassifierSpec, HfVariants) {
  const std::string config = R"({"id2label": {"1": "b", "0": "a", "2": "c"}, "problem_type": "multi_label_classification"})";
  auto s = parse_hf_classifier_spec(config, R"({"size": 32, "resample": 3, "do_normalize": false,
      "image_mean": [0.1, 0.2, 0.3], "do_rescale": true, "rescale_factor": 0.5})");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->labels, (std::vector<std::string>{"a", "b", "c"}));  // by index, not key order
  EXPECT_EQ(s->activation, ClassifierActivation::kSigmoid);
  EXPECT_EQ(s->preprocess.width, 32);
  EXPECT_EQ(s->preprocess.filter, ResizeFilter::kPillowBicubic);
  EXPECT_EQ(s->preprocess.scale, 0.5f);
  EXPECT_EQ(s->preprocess.mean, (std::array<float, 3>{0, 0, 0}));  // do_normalize false
  EXPECT_EQ(s->preprocess.std, (std::array<float, 3>{1, 1, 1}));
  // ImageNet mean/std and defaults (no resample: BILINEAR; no rescale_factor: 1/255).
  s = parse_hf_classifier_spec(R"({"id2label": {"0": "x"}})", R"({"size": {"height": 48, "width": 40},
      "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]})");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->preprocess.width, 40);
  EXPECT_EQ(s->preprocess.height, 48);
  EXPECT_EQ(s->preprocess.filter, ResizeFilter::kPillowBilinear);
  EXPECT_EQ(s->preprocess.scale, static_cast<float>(1.0 / 255.0));
  EXPECT_EQ(s->preprocess.std[2], 0.225f);

  auto code = [](const std::string& c, const std::string& p) { return parse_hf_classifier_spec(c, p).status().code(); };
  const std::string ok_pre = R"({"size": 32})";
  EXPECT_EQ(code("{}", ok_pre), StatusCode::kInvalidArgument);                                  // no id2label
  EXPECT_EQ(code(R"({"id2label": {"0": "a", "2": "c"}})", ok_pre), StatusCode::kInvalidArgument);  // a hole
  EXPECT_EQ(code(R"({"id2label": {"x": "a"}})", ok_pre), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(R"({"id2label": {"0": "a"}, "problem_type": "regression"})", ok_pre), StatusCode::kUnsupported);
  EXPECT_EQ(code(R"({"id2label": {"0": "a"}})", R"({"size": {"shortest_edge": 224}})"), StatusCode::kUnsupported);
  EXPECT_EQ(code(R"({"id2label": {"0": "a"}})", R"({"size": 32, "resample": 0})"), StatusCode::kUnsupported);
  EXPECT_EQ(code(R"({"id2label": {"0": "a"}})", R"({"size": 32, "do_center_crop": true})"), StatusCode::kUnsupported);
  EXPECT_EQ(code(R"({"id2label": {"0": "a"}})", R"({"size": 32, "image_std": [1, 0, 1]})"), StatusCode::kInvalidArgument);
}

TEST(ClassifierSpec, Activations) {
  std::vector<float> row = {1.0f, 2.0f, 3.0f};
  apply_activation(ClassifierActivation::kSoftmax, row);
  // numpy: np.exp([1,2,3]) / np.exp([1,2,3]).sum()
  EXPECT_NEAR(row[0], 0.09003057317038046, 1e-7);
  EXPECT_NEAR(row[1], 0.24472847105479767, 1e-7);
  EXPECT_NEAR(row[2], 0.6652409557748219, 1e-7);
  std::vector<float> big = {1000.0f, 1000.0f};  // no overflow
  apply_activation(ClassifierActivation::kSoftmax, big);
  EXPECT_FLOAT_EQ(big[0], 0.5f);
  row = {0.0f, 2.0f};
  apply_activation(ClassifierActivation::kSigmoid, row);
  EXPECT_FLOAT_EQ(row[0], 0.5f);
  EXPECT_NEAR(row[1], 0.8807970779778823, 1e-7);
  row = {0.25f, 0.75f};
  apply_activation(ClassifierActivation::kNone, row);
  EXPECT_EQ(row, (std::vector<float>{0.25f, 0.75f}));
}

TEST(ClassifierSpec, RecognisesBothLayoutsAndNothingElse) {
  test::TempDir dir("seer-classifier-spec");
  const fs::path nsfw = dir.path() / "nsfwjs/mobilenet_v2";
  write(nsfw / "model.json", "{}");
  write(nsfw / "seer.json", nsfwjs_json());
  write(nsfw / "group1-shard1of1.bin", "12345");
  EXPECT_EQ(classifier_layout(nsfw), "tfjs");
  EXPECT_TRUE(Classifier::recognise(nsfw));
  auto d = recognise_classifier(nsfw);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->kind, ModelKind::kClassifier);
  EXPECT_EQ(d->format, "tfjs");
  EXPECT_EQ(d->files, (std::vector<std::string>{"model.json", "seer.json", "group1-shard1of1.bin"}));
  EXPECT_EQ(d->size_bytes, 2u + nsfwjs_json().size() + 5u);
  auto spec = read_classifier_spec(nsfw);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->model_path, nsfw);  // the engine's TF.js importer reads the folder

  EXPECT_TRUE(Classifier::recognise(kVitTiny));
  d = recognise_classifier(kVitTiny);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->format, "onnx");
  EXPECT_EQ(read_classifier_spec(kVitTiny)->model_path, kVitTiny / "model.onnx");

  // A seer.json of another kind, a config.json without id2label, a folder missing a file.
  const fs::path other = dir.path() / "other";
  write(other / "model.json", "{}");
  write(other / "seer.json", R"({"kind": "detector"})");
  EXPECT_FALSE(Classifier::recognise(other));
  const fs::path text = dir.path() / "text";
  write(text / "model.onnx", "x");
  write(text / "config.json", R"({"model_type": "gpt2"})");
  write(text / "preprocessor_config.json", R"({"size": 32})");
  EXPECT_FALSE(Classifier::recognise(text));
  const fs::path half = dir.path() / "half";
  write(half / "model.onnx", "x");
  write(half / "config.json", R"({"id2label": {"0": "a"}})");
  EXPECT_FALSE(recognise_classifier(half).has_value());
  EXPECT_EQ(read_classifier_spec(half).status().code(), StatusCode::kNotFound);
}

TEST(ClassifierSpec, DefaultClassifierIsTheSeerJsonDefault) {
  test::TempDir dir("seer-classifier-default");
  std::vector<ModelDescriptor> models;
  auto add = [&](const std::string& id, bool is_default) {
    write(dir.path() / id / "model.json", "{}");
    write(dir.path() / id / "seer.json", nsfwjs_json(224, "softmax", is_default));
    auto d = recognise_classifier(dir.path() / id);
    ASSERT_TRUE(d.has_value());
    d->id = id;
    d->path = dir.path() / id;
    models.push_back(*d);
  };
  add("nsfwjs/inception_v3", false);
  add("nsfwjs/mobilenet_v2", true);
  EXPECT_EQ(default_classifier_id(models), "nsfwjs/mobilenet_v2");
  models.pop_back();
  EXPECT_EQ(default_classifier_id(models), std::nullopt);
}

}  // namespace
}  // namespace seer
