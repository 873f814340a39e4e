// Graph passes run once per model at load, before planning (Model::build).
//
//   SEER_RETURN_IF_ERROR(fold_constants(graph, store, services));   // constant subgraphs -> values
//   SEER_RETURN_IF_ERROR(fuse_patterns(graph, store));              // MatMul+Add, LayerNorm, GELU
//   SEER_RETURN_IF_ERROR(eliminate_transposes(graph));              // cancelling Transpose pairs
//   remove_dead_nodes(graph);                                       // then graph.finalize()
//
// Each pass edits the graph in place and keeps it topologically sorted (or calls finalize()).
// Not thread-safe (one graph, one loader thread).
#pragma once

#include "core/status.h"
#include "engine/graph.h"
#include "engine/op.h"
#include "engine/weight_store.h"

namespace seer::engine {

// Runs every foldable node whose inputs are all constant, storing its outputs in `store`, unless
// an output would be much larger than its inputs (an Expand of a scalar is better left to run).
Status fold_constants(Graph& graph, WeightStore& store, PrepareServices& services);
// Drops nodes none of whose outputs reaches a graph output; drops unreferenced constants.
Status remove_dead_nodes(Graph& graph);
// Rewrites known subgraphs into fused ops (engine/fused_ops.h) when the target op is registered.
// Returns how many rewrites were made through *count.
Status fuse_patterns(Graph& graph, WeightStore& store, int* count = nullptr);
// Removes Transpose pairs that cancel, directly adjacent or around a unary elementwise op (the
// NHWC↔NCHW pairs exporters leave around convolutions); merges adjacent Transposes.
Status eliminate_transposes(Graph& graph, int* count = nullptr);

}  // namespace seer::engine
