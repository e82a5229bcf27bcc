// Definite assignment over Wasm's structured control flow (see local_zeroing.hpp).
#include "wasm-policy/local_zeroing.hpp"

#include "wasm-policy/expression_children.hpp"

#include <cstring>

namespace xfw::wasm {

namespace {

// The locals written on every path to a point; `reachable` false is the state after a branch,
// return or trap, which every other state absorbs at a join.
struct Assigned {
    bool reachable = true;
    std::vector<bool> written;
};

Assigned join(const Assigned& a, const Assigned& b) {
    if (!a.reachable) return b;
    if (!b.reachable) return a;
    Assigned out = a;
    for (size_t i = 0; i < out.written.size(); ++i) out.written[i] = a.written[i] && b.written[i];
    return out;
}

Assigned unreachable_state(size_t locals) { return {false, std::vector<bool>(locals, false)}; }

struct Analysis {
    uint32_t params;
    std::vector<bool> read_unwritten;

    struct Target {
        const char* name;
        bool is_loop;      // a branch to a loop goes back to its header: it joins nothing after it
        Assigned at_exit;  // joined over the branches to a block's end
    };
    std::vector<Target> targets;

    void branch_to(const char* name, const Assigned& state) {
        for (size_t i = targets.size(); i-- > 0;) {
            if (std::strcmp(targets[i].name, name) != 0) continue;
            if (!targets[i].is_loop) targets[i].at_exit = join(targets[i].at_exit, state);
            return;
        }
    }

    Assigned walk(BinaryenExpressionRef x, Assigned state) {
        if (!x || !state.reachable) return state;
        const BinaryenExpressionId id = BinaryenExpressionGetId(x);
        if (id == BinaryenLocalGetId()) {
            const BinaryenIndex i = BinaryenLocalGetGetIndex(x);
            if (i >= params && !state.written[i]) read_unwritten[i] = true;
            return state;
        }
        if (id == BinaryenLocalSetId()) {
            state = walk(BinaryenLocalSetGetValue(x), std::move(state));
            if (state.reachable) state.written[BinaryenLocalSetGetIndex(x)] = true;
            return state;
        }
        if (id == BinaryenBlockId()) {
            const char* name = BinaryenBlockGetName(x);
            if (name) targets.push_back({name, false, unreachable_state(read_unwritten.size())});
            for (BinaryenIndex i = 0; i < BinaryenBlockGetNumChildren(x); ++i)
                state = walk(BinaryenBlockGetChildAt(x, i), std::move(state));
            if (name) {
                state = join(state, targets.back().at_exit);
                targets.pop_back();
            }
            return state;
        }
        if (id == BinaryenLoopId()) {
            // Back-edges carry at least what the entry had (writes only accumulate along a path),
            // so the entry state is the header's.
            const char* name = BinaryenLoopGetName(x);
            if (name) targets.push_back({name, true, {}});
            state = walk(BinaryenLoopGetBody(x), std::move(state));
            if (name) targets.pop_back();
            return state;
        }
        if (id == BinaryenIfId()) {
            state = walk(BinaryenIfGetCondition(x), std::move(state));
            Assigned taken = walk(BinaryenIfGetIfTrue(x), state);
            Assigned other = BinaryenIfGetIfFalse(x) ? walk(BinaryenIfGetIfFalse(x), state) : state;
            return join(taken, other);
        }
        if (id == BinaryenBreakId()) {
            state = walk(BinaryenBreakGetValue(x), std::move(state));
            state = walk(BinaryenBreakGetCondition(x), std::move(state));
            if (!state.reachable) return state;
            branch_to(BinaryenBreakGetName(x), state);
            if (!BinaryenBreakGetCondition(x)) state.reachable = false;
            return state;
        }
        if (id == BinaryenSwitchId()) {
            state = walk(BinaryenSwitchGetValue(x), std::move(state));
            state = walk(BinaryenSwitchGetCondition(x), std::move(state));
            if (!state.reachable) return state;
            for (BinaryenIndex i = 0; i < BinaryenSwitchGetNumNames(x); ++i) branch_to(BinaryenSwitchGetNameAt(x, i), state);
            branch_to(BinaryenSwitchGetDefaultName(x), state);
            state.reachable = false;
            return state;
        }
        for (BinaryenExpressionRef c : children_of(x)) state = walk(c, std::move(state));
        if (id == BinaryenReturnId() || id == BinaryenUnreachableId()) state.reachable = false;
        return state;
    }
};

}  // namespace

std::vector<bool> locals_read_before_written(BinaryenFunctionRef function) {
    const uint32_t params = BinaryenTypeArity(BinaryenFunctionGetParams(function));
    const size_t locals = params + BinaryenFunctionGetNumVars(function);
    Analysis analysis{params, std::vector<bool>(locals, false), {}};
    Assigned entry{true, std::vector<bool>(locals, false)};
    for (uint32_t p = 0; p < params; ++p) entry.written[p] = true;
    analysis.walk(BinaryenFunctionGetBody(function), std::move(entry));
    return analysis.read_unwritten;
}

}  // namespace xfw::wasm
