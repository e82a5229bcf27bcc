// Errors as values. An Error carries a message written for the operator: what went wrong,
// where (line, token, instruction) and, where possible, what to do about it.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace xfw {

struct Error {
    std::string message;
    // Exit status the CLI uses: 2 for bad input (nothing changed), 1 for environment/runtime
    // failures (missing privilege, kernel refused an operation we expected to succeed).
    int exit_code = 2;
};

inline Error bad_input(std::string message) { return Error{std::move(message), 2}; }
inline Error runtime_error(std::string message) { return Error{std::move(message), 1}; }

template <class T>
class [[nodiscard]] Expected {
public:
    Expected(T value) : v_(std::move(value)) {}
    Expected(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { assert(ok()); return std::get<0>(v_); }
    const T& value() const& { assert(ok()); return std::get<0>(v_); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { assert(!ok()); return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

// Expected<void>
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Error error) : error_(std::move(error)), failed_(true) {}
    static Status success() { return Status(); }

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const { assert(failed_); return error_; }

private:
    Error error_;
    bool failed_ = false;
};

}  // namespace xfw

// Propagate an error from an Expected/Status expression.
#define XFW_TRY(expr)                                      \
    do {                                                   \
        auto&& xfw_try_result_ = (expr);                   \
        if (!xfw_try_result_.ok()) return xfw_try_result_.error(); \
    } while (0)
