// HyperSplit-style decision trees over runs of plan steps.
#include "control/classifier_tree.hpp"

#include "xdp/classifier_keys.hpp"

#include <algorithm>
#include <tuple>

namespace xfw {

namespace {

using xdp::KeyBox;
using xdp::kTreeKeyCount;
using xdp::TreeKey;

// One box of one step (a step whose tests allow several boxes, e.g. a multiport match, has one
// item per box).
struct Item {
    uint32_t step;
    KeyBox box;
};

struct StepFacts {
    std::vector<KeyBox> boxes;
    // Ends the walk when its tests pass (ACCEPT or DROP, no policy) and every test is exact in
    // key space, so a region inside all its tests' boxes is decided by this step alone.
    bool can_shadow = false;
    std::vector<xdp::TestBoxes> tests;
};

StepFacts facts_of(const xdp::Step& step) {
    StepFacts f;
    f.boxes = xdp::boxes_of_step(step.tests);
    const bool verdict = step.on_match.kind == xdp::Action::Kind::Pass || step.on_match.kind == xdp::Action::Kind::Drop;
    f.can_shadow = verdict;
    for (const xdp::Test& t : step.tests) {
        f.tests.push_back(xdp::boxes_of(t));
        if (!f.tests.back().exact) f.can_shadow = false;
    }
    return f;
}

struct Split {
    size_t key = kTreeKeyCount;
    uint32_t threshold = 0;
    size_t larger = SIZE_MAX, total = SIZE_MAX;  // items on the larger side, on both sides
};

class Builder {
public:
    Builder(const std::vector<StepFacts>& facts, uint32_t first_step, const TreeOptions& options, size_t budget)
        : facts_(facts), first_step_(first_step), options_(options), budget_(budget) {}

    xdp::ClassifierTree tree;
    bool over_budget = false;

    int32_t build(std::vector<Item> items, const KeyBox& region, size_t depth) {
        shadow(items, region);
        if (over_budget || distinct_steps(items) <= options_.leaf_steps || depth >= options_.max_depth)
            return leaf(items);
        const Split split = best_split(items, region);
        if (split.key == kTreeKeyCount || split.larger >= items.size()) return leaf(items);

        const auto key = static_cast<TreeKey>(split.key);
        std::vector<Item> below, at_or_above;
        for (const Item& item : items) {
            if (item.box[key].lo < split.threshold) {
                below.push_back(item);
                below.back().box[key].hi = std::min(item.box[key].hi, split.threshold - 1);
            }
            if (item.box[key].hi >= split.threshold) {
                at_or_above.push_back(item);
                at_or_above.back().box[key].lo = std::max(item.box[key].lo, split.threshold);
            }
        }
        items.clear();
        items.shrink_to_fit();
        KeyBox below_region = region, above_region = region;
        below_region[key].hi = split.threshold - 1;
        above_region[key].lo = split.threshold;

        const auto index = static_cast<int32_t>(tree.nodes.size());
        tree.nodes.push_back({static_cast<uint8_t>(split.key), split.threshold, 0, 0});
        const int32_t b = build(std::move(below), below_region, depth + 1);
        const int32_t a = build(std::move(at_or_above), above_region, depth + 1);
        tree.nodes[static_cast<size_t>(index)].below = b;
        tree.nodes[static_cast<size_t>(index)].at_or_above = a;
        return index;
    }

private:
    const std::vector<StepFacts>& facts_;
    uint32_t first_step_;
    const TreeOptions& options_;
    size_t budget_;
    size_t leaf_entries_ = 0;

    const StepFacts& facts(uint32_t step) const { return facts_[step - first_step_]; }

    // Drops the items after the first step that passes everywhere in `region` (it decides every
    // packet there before they are tried).
    void shadow(std::vector<Item>& items, const KeyBox& region) const {
        for (size_t i = 0; i < items.size(); ++i) {
            const StepFacts& f = facts(items[i].step);
            if (!f.can_shadow) continue;
            const bool everywhere = std::all_of(f.tests.begin(), f.tests.end(), [&](const xdp::TestBoxes& t) {
                return std::any_of(t.boxes.begin(), t.boxes.end(), [&](const KeyBox& b) { return xdp::contains(b, region); });
            });
            if (!everywhere) continue;
            const uint32_t decider = items[i].step;
            std::erase_if(items, [&](const Item& item) { return item.step > decider; });
            return;
        }
    }

    static size_t distinct_steps(const std::vector<Item>& items) {
        size_t n = 0;
        for (size_t i = 0; i < items.size(); ++i)
            if (i == 0 || items[i].step != items[i - 1].step) ++n;
        return n;
    }

    int32_t leaf(const std::vector<Item>& items) {
        std::vector<uint32_t> steps;
        for (const Item& item : items)
            if (steps.empty() || steps.back() != item.step) steps.push_back(item.step);
        leaf_entries_ += steps.size();
        if (leaf_entries_ > budget_) over_budget = true;
        tree.leaves.push_back(std::move(steps));
        return ~static_cast<int32_t>(tree.leaves.size() - 1);
    }

    // The split that leaves the fewest items on its larger side (then the fewest copies), over
    // every key and every rule boundary inside the region.
    static Split best_split(const std::vector<Item>& items, const KeyBox& region) {
        Split best;
        const size_t n = items.size();
        std::vector<uint32_t> los(n), his(n);
        for (size_t k = 0; k < kTreeKeyCount; ++k) {
            const auto key = static_cast<TreeKey>(k);
            if (region[key].lo == region[key].hi) continue;
            for (size_t i = 0; i < n; ++i) {
                los[i] = items[i].box[key].lo;
                his[i] = items[i].box[key].hi;
            }
            std::sort(los.begin(), los.end());
            std::sort(his.begin(), his.end());
            auto consider = [&](uint32_t t) {
                const auto below = static_cast<size_t>(std::lower_bound(los.begin(), los.end(), t) - los.begin());
                const auto above = n - static_cast<size_t>(std::lower_bound(his.begin(), his.end(), t) - his.begin());
                const size_t larger = std::max(below, above), total = below + above;
                if (std::tie(larger, total) < std::tie(best.larger, best.total)) best = {k, t, larger, total};
            };
            for (size_t i = 0; i < n; ++i) {
                if (los[i] > region[key].lo && (i == 0 || los[i] != los[i - 1])) consider(los[i]);
                if (his[i] < region[key].hi && (i == 0 || his[i] != his[i - 1])) consider(his[i] + 1);
            }
        }
        return best;
    }
};

bool falls_through(const xdp::Step& s, uint32_t i) {
    return s.on_miss == i + 1 && (s.on_match.kind != xdp::Action::Kind::Goto || s.on_match.target == i + 1);
}

}  // namespace

void build_classifier_trees(xdp::Plan& plan, const TreeOptions& options) {
    plan.trees.clear();
    const auto n = static_cast<uint32_t>(plan.steps.size());
    if (n < 2) return;
    // Steps a jump from elsewhere than the step before lands on (RETURN, the end of a user
    // chain): a run may start there but not go through.
    std::vector<bool> jumped_into(n, false);
    for (uint32_t k = 0; k < n; ++k) {
        const xdp::Step& s = plan.steps[k];
        if (s.on_miss != k + 1 && s.on_miss < n) jumped_into[s.on_miss] = true;
        if (s.on_match.kind == xdp::Action::Kind::Goto && s.on_match.target != k + 1 && s.on_match.target < n)
            jumped_into[s.on_match.target] = true;
    }
    // The last step is the chain policy: never part of a run.
    for (uint32_t first = 0; first + 1 < n;) {
        if (!falls_through(plan.steps[first], first)) {
            ++first;
            continue;
        }
        uint32_t end = first + 1;
        while (end + 1 < n && falls_through(plan.steps[end], end) && !jumped_into[end]) ++end;
        if (end - first >= options.min_run) {
            std::vector<StepFacts> facts;
            std::vector<Item> items;
            for (uint32_t i = first; i < end; ++i) {
                facts.push_back(facts_of(plan.steps[i]));
                for (const KeyBox& b : facts.back().boxes) items.push_back({i, b});
            }
            Builder builder(facts, first, options, options.max_copies_per_step * (end - first));
            builder.build(std::move(items), xdp::universe_box(), 0);
            if (!builder.over_budget && !builder.tree.nodes.empty()) {
                builder.tree.first_step = first;
                builder.tree.end_step = end;
                plan.trees.push_back(std::move(builder.tree));
            }
        }
        first = end;
    }
}

}  // namespace xfw
