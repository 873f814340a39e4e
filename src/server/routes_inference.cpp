// The inference routes: /v1/tag, /v1/vision/batch-caption, /v1/caption, /v1/chat/completions
// (/v1/classify is in routes_classify.cpp). Each parses JSON into typed requests (api_json.h),
// acquires the model (loading it if needed), prepares the images, queues them on the scheduler,
// waits, and formats the results.
#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <mutex>
#include <thread>

#include "core/base64.h"
#include "core/log.h"
#include "server/http_util.h"
#include "server/inference_run.h"

namespace seer {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

InferenceRequest tag_request(std::string bytes, const TagParams& params) {
  TagRequest t;
  t.image.encoded = std::move(bytes);
  t.params = params;
  return t;
}

// A request for "text about an image" as the model's kind answers it: a tagger tags, a VLM writes.
InferenceRequest text_request(ModelKind kind, std::string bytes, std::string prompt, std::string length,
                              int max_tokens) {
  if (kind == ModelKind::kTagger) return tag_request(std::move(bytes), {});
  if (kind == ModelKind::kClassifier) {
    ClassifyRequest c;
    c.image.encoded = std::move(bytes);
    return c;
  }
  TextRequest t;
  t.image.encoded = std::move(bytes);
  t.prompt = std::move(prompt);
  t.length = std::move(length);
  t.max_tokens = max_tokens;
  return t;
}

// ---- Server-sent events ----------------------------------------------------------------------

// Text pieces produced on the compute thread (on_token), written by the HTTP thread.
struct StreamState {
  std::mutex mu;
  std::deque<std::string> pieces;
  std::atomic<bool> client_gone{false};
  JobPtr job;
  Clock::time_point start;
};

// Streams `state`'s job: on_piece(piece) for each produced piece (or the whole text at the end
// when the model produced none), then on_end(result). Runs in httplib's content provider.
void stream_job(const std::shared_ptr<StreamState>& st, httplib::DataSink& sink,
                const std::function<std::string(const std::string&)>& piece_event,
                const std::function<std::string(const StatusOr<InferenceResult>&, bool streamed)>& end_events) {
  bool streamed = false;
  auto flush = [&] {
    std::deque<std::string> pieces;
    {
      std::lock_guard lock(st->mu);
      pieces.swap(st->pieces);
    }
    for (auto& p : pieces) {
      streamed = true;
      const std::string ev = piece_event(p);
      if (!sink.is_writable() || !sink.write(ev.data(), ev.size())) {
        st->client_gone = true;
        st->job->cancel();
        return false;
      }
    }
    return true;
  };
  while (!st->job->done()) {
    if (!flush()) return;
    // Polling keeps the compute thread free of socket writes; 20 ms is below what a reader notices.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!sink.is_writable()) {
      st->client_gone = true;
      st->job->cancel();
      return;
    }
  }
  if (!flush()) return;
  const std::string tail = end_events(st->job->wait(), streamed);
  sink.write(tail.data(), tail.size());
  sink.done();
}

std::string sse(const OrderedJson& j) { return "data: " + j.dump() + "\n\n"; }

// Starts a streamed text job: the model is acquired, the image decoded and the job queued
// before the 200 goes out, so that 404/415/503/507 are still proper statuses.
StatusOr<std::shared_ptr<StreamState>> start_stream(ServerContext& ctx, const ModelDescriptor& model,
                                                    const CallCommon& common, InferenceRequest request) {
  auto st = std::make_shared<StreamState>();
  if (auto* tr = std::get_if<TextRequest>(&request)) {
    std::weak_ptr<StreamState> weak = st;
    tr->on_token = [weak](std::string_view piece) {
      auto s = weak.lock();
      if (!s) return false;
      std::lock_guard lock(s->mu);
      s->pieces.emplace_back(piece);
      return !s->client_gone.load();
    };
  }
  SEER_ASSIGN_OR_RETURN(std::shared_ptr<LoadedModel> lease, ctx.manager.acquire(model.id));
  st->start = Clock::now();
  SEER_RETURN_IF_ERROR(ctx.scheduler.prepare(lease->backend(), std::span(&request, 1))[0]);
  std::optional<std::chrono::milliseconds> timeout;
  if (common.timeout_s) timeout = std::chrono::milliseconds(static_cast<int64_t>(*common.timeout_s * 1000));
  SEER_ASSIGN_OR_RETURN(st->job, ctx.scheduler.submit(std::move(lease), std::move(request), timeout));
  return st;
}

// Runs one request (non-streamed) and returns its result, or the call's failure.
StatusOr<InferenceResult> run_one(ServerContext& ctx, const httplib::Request& req, httplib::Response& res,
                                  const ModelDescriptor& model, const CallCommon& common, InferenceRequest request,
                                  double* seconds) {
  std::vector<InferenceRequest> one;
  one.push_back(std::move(request));
  SEER_ASSIGN_OR_RETURN(InferenceRun run, run_inference(ctx, req, res, model, common, std::move(one)));
  *seconds = run.seconds();
  return std::move(run.results[0]);
}

// ---- routes ------------------------------------------------------------------------------------

// /v1/tag and /v1/vision/batch-caption: each image of the call as a TagRequest on a tagger.
StatusOr<InferenceRun> run_tag_call(ServerContext& ctx, const httplib::Request& req, httplib::Response& res,
                                    TagCall& call, const char* route) {
  SEER_ASSIGN_OR_RETURN(ModelDescriptor model, resolve_model(ctx, call.common.model, {ModelKind::kTagger}, route));
  std::vector<InferenceRequest> reqs;
  reqs.reserve(call.images.size());
  for (auto& img : call.images) reqs.push_back(tag_request(std::move(img), call.params));
  return run_inference(ctx, req, res, model, call.common, std::move(reqs));
}

void tag_route(ServerContext& ctx, const httplib::Request& req, const json& body, httplib::Response& res) {
  auto call = parse_tag_call(body, ctx.limits);
  if (!call.ok()) return reply_error(res, call.status());
  auto run = run_tag_call(ctx, req, res, *call, "/v1/tag");
  if (!run.ok()) return reply_error(res, run.status());
  // One image: exactly the `seer tag --jsonl` record without "path" (the model is in the
  // X-Seer-Model header); several: {"results": [record | {"error"}], "count", "model", "duration"}.
  if (call->single) {
    if (!run->results[0].ok()) return reply_error(res, run->results[0].status());
    return reply_json(res, tag_record(std::get<TagOutput>(*run->results[0])));
  }
  OrderedJson list = OrderedJson::array();
  for (auto& r : run->results) list.push_back(r.ok() ? tag_record(std::get<TagOutput>(*r)) : error_body(r.status()));
  OrderedJson o;
  o["results"] = std::move(list);
  o["count"] = run->results.size();
  o["model"] = run->model_id;
  o["duration"] = run->seconds();
  reply_json(res, o);
}

void batch_caption_route(ServerContext& ctx, const httplib::Request& req, const json& body, httplib::Response& res) {
  auto call = parse_batch_caption_call(body, ctx.limits);
  if (!call.ok()) return reply_error(res, call.status());
  auto run = run_tag_call(ctx, req, res, *call, "/v1/vision/batch-caption");
  if (!run.ok()) return reply_error(res, run.status());
  // The original shape: {"captions": [{"text"}], "count", "duration"}. A failed image keeps its
  // slot (empty text plus the error) so indices still match the request.
  OrderedJson captions = OrderedJson::array();
  for (auto& r : run->results) {
    OrderedJson c;
    c["text"] = r.ok() ? result_text(*r) : "";
    if (!r.ok()) c["error"] = error_body(r.status())["error"];
    captions.push_back(std::move(c));
  }
  OrderedJson o;
  o["captions"] = std::move(captions);
  o["count"] = run->results.size();
  o["duration"] = std::round(run->seconds() * 1000) / 1000;
  reply_json(res, o);
}

void caption_route(ServerContext& ctx, const httplib::Request& http_req, const json& body, httplib::Response& res) {
  auto call = parse_caption_call(body, ctx.limits);
  if (!call.ok()) return reply_error(res, call.status());
  auto model = resolve_model(ctx, call->common.model, {ModelKind::kTagger, ModelKind::kVlm}, "/v1/caption");
  if (!model.ok()) return reply_error(res, model.status());
  InferenceRequest req = text_request(model->kind, std::move(call->image), "", call->length, 0);
  if (call->stream) {
    auto st = start_stream(ctx, *model, call->common, std::move(req));
    if (!st.ok()) return reply_error(res, st.status());
    res.set_header(kModelHeader, model->id);
    auto state = *st;
    res.set_chunked_content_provider("text/event-stream", [state](size_t, httplib::DataSink& sink) {
      stream_job(
          state, sink, [](const std::string& p) { return sse(OrderedJson{{"chunk", p}}); },
          [state](const StatusOr<InferenceResult>& r, bool streamed) {
            if (!r.ok()) return sse(error_body(r.status()));
            const std::string text = result_text(*r);
            std::string out = streamed ? "" : sse(OrderedJson{{"chunk", text}});
            out += sse(OrderedJson{{"stats", text_stats(text, seconds_since(state->start))}});
            out += sse(OrderedJson{{"completed", true}});
            return out;
          });
      return true;
    });
    return;
  }
  double seconds = 0;
  auto result = run_one(ctx, http_req, res, *model, call->common, std::move(req), &seconds);
  if (!result.ok()) return reply_error(res, result.status());
  const std::string text = result_text(*result);
  OrderedJson o;
  o["caption"] = text;
  o["_stats"] = text_stats(text, seconds);
  reply_json(res, o);
}

std::atomic<uint64_t> g_chat_seq{0};

void chat_route(ServerContext& ctx, const httplib::Request& http_req, const json& body, httplib::Response& res) {
  auto call = parse_chat_call(body, ctx.limits);
  if (!call.ok()) return reply_error(res, call.status());
  if (!call->image) {
    return reply_error(res, Status::invalid_argument("the last user message needs an image_url part (a data URI)"));
  }
  auto model = resolve_model(ctx, call->common.model, {ModelKind::kTagger, ModelKind::kVlm}, "/v1/chat/completions");
  if (!model.ok()) return reply_error(res, model.status());
  InferenceRequest req = text_request(model->kind, std::move(*call->image), call->text, "normal", call->max_tokens);
  const auto created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string id = fmt::format("chatcmpl-{}-{}", created, g_chat_seq++);
  const std::string model_id = model->id;
  if (call->stream) {
    auto st = start_stream(ctx, *model, call->common, std::move(req));
    if (!st.ok()) return reply_error(res, st.status());
    res.set_header(kModelHeader, model_id);
    auto state = *st;
    auto chunk = [id, created, model_id](const OrderedJson& delta, const OrderedJson& finish) {
      OrderedJson c;
      c["id"] = id;
      c["object"] = "chat.completion.chunk";
      c["created"] = created;
      c["model"] = model_id;
      c["choices"] = OrderedJson::array({OrderedJson{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}});
      return sse(c);
    };
    res.set_chunked_content_provider("text/event-stream", [state, chunk](size_t, httplib::DataSink& sink) {
      stream_job(
          state, sink,
          [chunk](const std::string& p) { return chunk(OrderedJson{{"role", "assistant"}, {"content", p}}, nullptr); },
          [chunk](const StatusOr<InferenceResult>& r, bool streamed) {
            if (!r.ok()) return sse(error_body(r.status())) + "data: [DONE]\n\n";
            std::string out =
                streamed ? "" : chunk(OrderedJson{{"role", "assistant"}, {"content", result_text(*r)}}, nullptr);
            out += chunk(OrderedJson::object(), "stop");
            out += "data: [DONE]\n\n";
            return out;
          });
      return true;
    });
    return;
  }
  double seconds = 0;
  auto result = run_one(ctx, http_req, res, *model, call->common, std::move(req), &seconds);
  if (!result.ok()) return reply_error(res, result.status());
  const std::string text = result_text(*result);
  const int words = text_stats(text, 0)["tokens"].get<int>();
  OrderedJson o;
  o["id"] = id;
  o["object"] = "chat.completion";
  o["created"] = created;
  o["model"] = model_id;
  o["choices"] = OrderedJson::array(
      {OrderedJson{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}, {"finish_reason", "stop"}}});
  // As the fork does: completion tokens are a word count (no tokenizer for taggers).
  o["usage"] = {{"prompt_tokens", 0}, {"completion_tokens", words}, {"total_tokens", words}};
  reply_json(res, o);
}

// /v1/caption also takes form fields and multipart (Moondream Station merges them into kwargs).
// The route reads its own body (a content-reader handler): cpp-httplib 0.11 is a compiled
// library whose own form parsing answers 413 above CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH
// (8 KiB, fixed when Debian built it), far below one image. The body limit still applies: the
// reader stops at the server's payload maximum (413).
StatusOr<json> caption_body(const httplib::Request& req, const httplib::ContentReader& reader) {
  json j = json::object();
  for (const auto& [k, v] : req.params) j[k] = v;  // query parameters, as the fork merges them
  auto too_large = [] { return Status::payload_too_large("the request body is over the limit"); };
  if (req.is_multipart_form_data()) {
    httplib::MultipartFormDataItems parts;
    const bool ok = reader(
        [&](const httplib::MultipartFormData& part) {
          parts.push_back(part);
          return true;
        },
        [&](const char* data, size_t n) {
          parts.back().content.append(data, n);
          return true;
        });
    if (!ok) return too_large();
    for (auto& f : parts) {
      // A file part holds raw bytes: base64 them so that one path decodes every image.
      if (!f.filename.empty()) j[f.name == "image" ? "image_url" : f.name] = base64_encode(f.content);
      else j[f.name] = std::move(f.content);
    }
    return j;
  }
  std::string body;
  if (!reader([&](const char* data, size_t n) {
        body.append(data, n);
        return true;
      })) {
    return too_large();
  }
  if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
    httplib::Params form;
    httplib::detail::parse_query_text(body, form);  // percent-decodes, '+' is a space
    for (auto& [k, v] : form) j[k] = std::move(v);
    return j;
  }
  return parse_json_body(body);
}

}  // namespace

void register_inference_routes(httplib::Server& http, ServerContext& ctx) {
  auto route = [&ctx](void (*fn)(ServerContext&, const httplib::Request&, const json&, httplib::Response&)) {
    return [&ctx, fn](const httplib::Request& req, httplib::Response& res) {
      auto body = parse_json_body(req.body);
      if (!body.ok()) return reply_error(res, body.status());
      fn(ctx, req, *body, res);
    };
  };
  http.Post("/v1/tag", route(tag_route));
  http.Post("/v1/vision/batch-caption", route(batch_caption_route));
  http.Post("/v1/batch-caption", route(batch_caption_route));  // the fork's older path
  http.Post("/v1/chat/completions", route(chat_route));
  http.Post("/v1/caption", [&ctx](const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
    auto body = caption_body(req, reader);
    if (!body.ok()) return reply_error(res, body.status());
    caption_route(ctx, req, *body, res);
  });
}

}  // namespace seer
