// Classification trees: the planner's strategy for ACLs whose rules mix fields (ClassBench-style
// 5-tuple rules), where no single key makes a map-backed group. A run of steps is reached
// through a decision tree of 32-bit compares on the packet's keys (addresses, ports, protocol,
// family; xdp/classifier_keys.hpp), built HyperSplit-style: each node splits one key at a rule
// boundary so that the larger side holds as few rules as possible. A leaf keeps, in plan order,
// the steps whose tests can pass somewhere in its region, up to the first one that surely
// passes everywhere there (the steps after it can never decide a packet of that region). So a
// leaf decides exactly as the linear code does — the first step whose tests pass — and that
// step counts its own counter slot.
#pragma once

#include "xdp/plan.hpp"

#include <cstddef>

namespace xfw {

struct TreeOptions {
    // Shortest run of steps given a tree; shorter runs stay compiled compares (measured break-even,
    // bench/bench_classify.cpp BM_TreeRunLength; docs/scalable-classification.md).
    size_t min_run = 24;
    // A region with at most this many candidate steps becomes a leaf.
    size_t leaf_steps = 4;
    size_t max_depth = 40;
    // Leaf entries (steps summed over leaves) allowed per step of the run: rules that span many
    // regions are copied into each, and a run whose tree would copy more stays linear.
    size_t max_copies_per_step = 24;
};

// Rewrites `plan.trees`: a tree over every eligible run (steps that only fall through to the next
// step on a miss, jump nowhere but the next step, and are jumped to only from the step before,
// but the first). Trees do not change steps, counters or maps.
void build_classifier_trees(xdp::Plan& plan, const TreeOptions& options);

}  // namespace xfw
