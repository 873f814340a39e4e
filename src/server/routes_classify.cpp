// POST /v1/classify: image classification (issue 8).
//
//   {"image_url": "<data URI or base64>", "model": "nsfwjs/mobilenet_v2"}
//     -> {"label": "Neutral", "score": 0.93, "predictions": [{"label", "score"}, ... every class,
//        score descending]}            (the model that answered is in the X-Seer-Model header)
//   {"images": [...], ...} -> {"results": [<record or {"error"}>, ...], "count", "model", "duration"}
//
// "image" is accepted for "image_url" (as /v1/tag and /v1/caption do); "top_k" keeps the first k
// predictions; "timeout" (seconds) as everywhere. With no "model": the default classifier (the
// one whose seer.json says "default": true, i.e. nsfwjs/mobilenet_v2 after `make models`), else
// the server's usual choice (resolve_model). run_inference decodes each image into the model's
// tile on the image pool and queues it on the scheduler, which batches it with other requests.
#include "runtime/classifier_backend.h"
#include "server/http_util.h"
#include "server/inference_run.h"

namespace seer {

namespace {

using nlohmann::json;

StatusOr<ModelDescriptor> classifier_for(ServerContext& ctx, const std::string& requested) {
  if (requested.empty()) {
    const std::vector<ModelDescriptor> models = ctx.catalog.list();
    if (auto id = default_classifier_id(models)) {
      for (const auto& m : models) {
        if (m.id == *id) return m;
      }
    }
  }
  return resolve_model(ctx, requested, {ModelKind::kClassifier}, "/v1/classify");
}

void classify_route(ServerContext& ctx, const httplib::Request& req, json body, httplib::Response& res) {
  // Moondream Station's image field is image_url; the typed parser knows image/images.
  if (body.contains("image_url")) {
    if (body.contains("image") || body.contains("images")) {
      return reply_error(res, Status::invalid_argument("give one of 'image_url', 'image' or 'images'"));
    }
    body["image"] = std::move(body["image_url"]);
    body.erase("image_url");
  }
  auto call = parse_classify_call(body, ctx.limits);
  if (!call.ok()) return reply_error(res, call.status());
  auto model = classifier_for(ctx, call->common.model);
  if (!model.ok()) return reply_error(res, model.status());
  std::vector<InferenceRequest> reqs;
  reqs.reserve(call->images.size());
  for (auto& bytes : call->images) {
    ClassifyRequest c;
    c.image.encoded = std::move(bytes);
    c.top_k = call->top_k;
    reqs.push_back(std::move(c));
  }
  // A bad image fails its own slot only; the others still run.
  auto run = run_inference(ctx, req, res, *model, call->common, std::move(reqs));
  if (!run.ok()) return reply_error(res, run.status());
  if (call->single) {
    if (!run->results[0].ok()) return reply_error(res, run->results[0].status());
    return reply_json(res, classify_record(std::get<ClassifyOutput>(*run->results[0])));
  }
  OrderedJson list = OrderedJson::array();
  for (auto& r : run->results) {
    list.push_back(r.ok() ? classify_record(std::get<ClassifyOutput>(*r)) : error_body(r.status()));
  }
  OrderedJson o;
  o["results"] = std::move(list);
  o["count"] = run->results.size();
  o["model"] = run->model_id;
  o["duration"] = run->seconds();
  reply_json(res, o);
}

}  // namespace

void register_classify_routes(httplib::Server& http, ServerContext& ctx) {
  http.Post("/v1/classify", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto body = parse_json_body(req.body);
    if (!body.ok()) return reply_error(res, body.status());
    classify_route(ctx, req, std::move(*body), res);
  });
}

}  // namespace seer
