// Result<T> and Error: how every library in profile reports failure.
//
// Pipeline position: shared by all stages (prof::common). Libraries never print and never exit;
// they return Result<T> — a value or an Error{code, message} carrying context (file, line, byte
// offset) — and the CLI turns an Error into one line: `profile: error: <message>`.
//
//   prof::Result<int> parse_count(std::string_view s) {
//     if (s.empty()) return prof::Error{prof::Errc::kParse, "empty count"};
//     return 42;
//   }
//   auto r = parse_count("x");
//   if (!r) std::cerr << r.error().message;
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace prof {

// Broad classes of failure. The CLI maps kUsage to exit status 2, everything else to 1.
enum class Errc {
  kUsage,        // bad command line
  kIo,           // open/read/write failed (message carries strerror)
  kParse,        // input does not follow its format (message names file:line or byte offset)
  kUnsupported,  // valid input we deliberately do not handle (compressed perf.data, ...)
  kPermission,   // EACCES/EPERM from the kernel (message says what to change)
  kNotFound,     // a named thing (event, pid, file) does not exist
  kNoData,       // input was readable but held nothing to work on
  kInternal,     // a bug: should never be seen
};

struct Error {
  Errc code = Errc::kInternal;
  std::string message;

  // Prefixes context, e.g. err.with_context("perf.data") -> "perf.data: <message>".
  Error with_context(std::string_view context) const& {
    return Error{code, std::string(context) + ": " + message};
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }
  Error& error() {
    assert(!has_value());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> ok() { return {}; }

}  // namespace prof

// Early return of the Error from an expression yielding Result<...>.
#define PROF_TRY(expr)                                      \
  do {                                                      \
    auto prof_try_result_ = (expr);                         \
    if (!prof_try_result_) return prof_try_result_.error(); \
  } while (0)
