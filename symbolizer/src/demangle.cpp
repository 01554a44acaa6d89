#include "prof/symbolizer/demangle.h"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <optional>

namespace prof::symbolizer {
namespace {

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Rust legacy symbols demangle as C++ names whose last component is `h` + 16 hex digits (the
// crate hash); perf, rustfilt and rustc-demangle all drop it. The `$LT$`-style escapes and `..`
// for `::` come from rustc's legacy mangling of characters C++ identifiers cannot hold.
std::string clean_rust_legacy(std::string s) {
  std::size_t pos = s.rfind("::h");
  if (pos == std::string::npos || s.size() != pos + 3 + 16) return s;
  for (std::size_t i = pos + 3; i < s.size(); ++i)
    if (!is_hex(s[i])) return s;
  s.resize(pos);
  static constexpr std::pair<std::string_view, std::string_view> kEscapes[] = {
      {"$SP$", "@"},  {"$BP$", "*"},  {"$RF$", "&"},  {"$LT$", "<"},  {"$GT$", ">"},
      {"$LP$", "("},  {"$RP$", ")"},  {"$C$", ","},   {"$u7e$", "~"}, {"$u20$", " "},
      {"$u27$", "'"}, {"$u5b$", "["}, {"$u5d$", "]"}, {"$u7b$", "{"}, {"$u7d$", "}"},
      {"$u3b$", ";"}, {"$u2b$", "+"}, {"$u22$", "\""}};
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    bool replaced = false;
    if (s[i] == '$') {
      for (const auto& [from, to] : kEscapes) {
        if (std::string_view(s).substr(i, from.size()) == from) {
          out += to;
          i += from.size();
          replaced = true;
          break;
        }
      }
    } else if (s[i] == '.' && i + 1 < s.size() && s[i + 1] == '.') {
      out += "::";
      i += 2;
      replaced = true;
    }
    if (!replaced) out += s[i++];
  }
  return out;
}

// Rust v0 mangling (RFC 2603, "Rust Symbol Mangling v0"): a recursive-descent printer. Output
// follows rustc-demangle's alternate form (`{:#}`): crate disambiguators are not shown.
class V0Printer {
 public:
  explicit V0Printer(std::string_view s) : s_(s) {}

  std::optional<std::string> run() {
    if (!print_path(false)) return std::nullopt;
    // An optional instantiating crate and vendor suffix follow; neither is printed.
    return out_;
  }

 private:
  static constexpr int kMaxDepth = 200;

  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  char next() { return pos_ < s_.size() ? s_[pos_++] : '\0'; }

  std::optional<std::uint64_t> base62() {
    if (eat('_')) return 0;
    std::uint64_t v = 0;
    while (true) {
      char c = next();
      int d;
      if (c == '_') break;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'z') d = 10 + (c - 'a');
      else if (c >= 'A' && c <= 'Z') d = 36 + (c - 'A');
      else return std::nullopt;
      if (v > (UINT64_MAX - 61) / 62) return std::nullopt;
      v = v * 62 + static_cast<std::uint64_t>(d);
    }
    return v + 1;
  }
  std::optional<std::uint64_t> opt_base62(char tag) {
    if (!eat(tag)) return 0;
    auto v = base62();
    if (!v) return std::nullopt;
    return *v + 1;
  }
  std::optional<std::uint64_t> decimal() {
    if (peek() < '0' || peek() > '9') return std::nullopt;
    if (eat('0')) return 0;
    std::uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      if (v > 1'000'000) return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(next() - '0');
    }
    return v;
  }
  std::optional<std::string_view> ident() {
    bool puny = eat('u');
    auto len = decimal();
    if (!len) return std::nullopt;
    eat('_');
    if (*len > s_.size() - pos_) return std::nullopt;
    auto id = s_.substr(pos_, *len);
    pos_ += *len;
    if (puny) punycode_ = true;
    return id;
  }

  // Runs `f` at the back-referenced position, then returns to just after the backref.
  template <typename F>
  bool backref(F&& f) {
    std::size_t start = pos_ - 1;
    auto target = base62();
    if (!target) return false;
    std::size_t t = static_cast<std::size_t>(*target);  // s_ starts right after "_R"
    if (t >= start) return false;  // must point backwards, or a crafted name could loop
    std::size_t saved = pos_;
    pos_ = t;
    bool ok = f();
    pos_ = saved;
    return ok;
  }

  bool print_path(bool in_type) {
    if (++depth_ > kMaxDepth) return false;
    struct DepthGuard {
      int& d;
      ~DepthGuard() { --d; }
    } guard{depth_};
    char tag = next();
    switch (tag) {
      case 'C': {
        if (!opt_base62('s')) return false;
        auto id = ident();
        if (!id) return false;
        out_ += *id;
        return true;
      }
      case 'N': {
        char ns = next();
        if (!((ns >= 'a' && ns <= 'z') || (ns >= 'A' && ns <= 'Z'))) return false;
        if (!print_path(in_type)) return false;
        auto dis = opt_base62('s');
        if (!dis) return false;
        auto id = ident();
        if (!id) return false;
        if (ns >= 'A' && ns <= 'Z') {
          out_ += "::{";
          out_ += ns == 'C' ? "closure" : ns == 'S' ? "shim" : std::string(1, ns);
          if (!id->empty()) {
            out_ += ':';
            out_ += *id;
          }
          out_ += '#';
          out_ += std::to_string(*dis);
          out_ += '}';
        } else if (!id->empty()) {
          out_ += "::";
          out_ += *id;
        }
        return true;
      }
      case 'M': {
        if (!opt_base62('s')) return false;
        if (!skip_path()) return false;
        out_ += '<';
        if (!print_type()) return false;
        out_ += '>';
        return true;
      }
      case 'X':
        if (!opt_base62('s') || !skip_path()) return false;
        [[fallthrough]];
      case 'Y': {
        out_ += '<';
        if (!print_type()) return false;
        out_ += " as ";
        if (!print_path(true)) return false;
        out_ += '>';
        return true;
      }
      case 'I': {
        if (!print_path(in_type)) return false;
        out_ += in_type ? "<" : "::<";
        for (bool first = true; !eat('E'); first = false) {
          if (pos_ >= s_.size()) return false;
          if (!first) out_ += ", ";
          if (!print_generic_arg()) return false;
        }
        out_ += '>';
        return true;
      }
      case 'B': return backref([&] { return print_path(in_type); });
      default: return false;
    }
  }

  // Impl paths only disambiguate; rustc-demangle does not print them either.
  bool skip_path() {
    std::string saved = std::move(out_);
    out_.clear();
    bool ok = print_path(false);
    out_ = std::move(saved);
    return ok;
  }

  bool print_generic_arg() {
    if (eat('L')) {
      auto l = base62();
      if (!l) return false;
      out_ += "'_";
      return true;
    }
    if (eat('K')) return print_const();
    return print_type();
  }

  bool print_const() {
    if (eat('p')) {
      out_ += '_';
      return true;
    }
    if (eat('B')) return backref([&] { return print_const(); });
    char ty = next();
    if (!(ty >= 'a' && ty <= 'z')) return false;
    bool neg = eat('n');
    std::uint64_t v = 0;
    bool any = false;
    while (is_hex(peek())) {
      char c = next();
      v = v * 16 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
      any = true;
    }
    if (!eat('_')) return false;
    if (ty == 'b') {
      out_ += v ? "true" : "false";
    } else if (ty == 'c') {
      out_ += '\'';
      out_ += static_cast<char>(v < 128 ? v : '?');
      out_ += '\'';
    } else {
      if (neg) out_ += '-';
      out_ += any ? std::to_string(v) : "0";
    }
    return true;
  }

  bool print_type() {
    if (++depth_ > kMaxDepth) return false;
    struct DepthGuard {
      int& d;
      ~DepthGuard() { --d; }
    } guard{depth_};
    char c = peek();
    static constexpr std::pair<char, std::string_view> kBasic[] = {
        {'a', "i8"},   {'b', "bool"},  {'c', "char"},  {'d', "f64"}, {'e', "str"}, {'f', "f32"},
        {'h', "u8"},   {'i', "isize"}, {'j', "usize"}, {'l', "i32"}, {'m', "u32"}, {'n', "i128"},
        {'o', "u128"}, {'s', "i16"},   {'t', "u16"},   {'u', "()"},  {'v', "..."}, {'x', "i64"},
        {'y', "u64"},  {'z', "!"},     {'p', "_"}};
    for (const auto& [k, name] : kBasic) {
      if (c == k) {
        ++pos_;
        out_ += name;
        return true;
      }
    }
    switch (c) {
      case 'A':
      case 'S': {
        ++pos_;
        out_ += '[';
        if (!print_type()) return false;
        if (c == 'A') {
          out_ += "; ";
          if (!print_const()) return false;
        }
        out_ += ']';
        return true;
      }
      case 'T': {
        ++pos_;
        out_ += '(';
        std::size_t n = 0;
        for (; !eat('E'); ++n) {
          if (pos_ >= s_.size()) return false;
          if (n) out_ += ", ";
          if (!print_type()) return false;
        }
        if (n == 1) out_ += ',';
        out_ += ')';
        return true;
      }
      case 'R':
      case 'Q': {
        ++pos_;
        out_ += c == 'R' ? "&" : "&mut ";
        if (eat('L') && !base62()) return false;
        return print_type();
      }
      case 'P':
      case 'O':
        ++pos_;
        out_ += c == 'P' ? "*const " : "*mut ";
        return print_type();
      case 'F': {
        ++pos_;
        if (!opt_base62('G')) return false;
        if (eat('U')) out_ += "unsafe ";
        if (eat('K')) {
          out_ += "extern \"";
          if (eat('C')) {
            out_ += 'C';
          } else {
            auto abi = ident();
            if (!abi) return false;
            out_ += *abi;
          }
          out_ += "\" ";
        }
        out_ += "fn(";
        for (bool first = true; !eat('E'); first = false) {
          if (pos_ >= s_.size()) return false;
          if (!first) out_ += ", ";
          if (!print_type()) return false;
        }
        out_ += ')';
        if (eat('u')) return true;
        out_ += " -> ";
        return print_type();
      }
      case 'D': {
        ++pos_;
        if (!opt_base62('G')) return false;
        out_ += "dyn ";
        for (bool first = true; !eat('E'); first = false) {
          if (pos_ >= s_.size()) return false;
          if (!first) out_ += " + ";
          if (!print_path(true)) return false;
          while (eat('p')) {
            auto name = ident();
            if (!name) return false;
            out_ += "<";
            out_ += *name;
            out_ += " = ";
            if (!print_type()) return false;
            out_ += ">";
          }
        }
        if (!eat('L') || !base62()) return false;
        return true;
      }
      case 'B': ++pos_; return backref([&] { return print_type(); });
      default: return print_path(true);
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::string out_;

 public:
  bool punycode_ = false;
};

}  // namespace

std::string demangle_rust_v0(std::string_view name) {
  // Symbols may carry a `.llvm.NNN` or similar suffix after the mangled part.
  if (name.substr(0, 2) != "_R") return "";
  std::string_view body = name.substr(2);
  if (!body.empty() && body[0] >= '0' && body[0] <= '9') {
    while (!body.empty() && body[0] >= '0' && body[0] <= '9') body.remove_prefix(1);
    if (!body.empty() && body[0] == '_') body.remove_prefix(1);
  }
  V0Printer p(body);
  auto r = p.run();
  return r ? *r : std::string();
}

namespace {

constexpr std::size_t kConversionOperator = static_cast<std::size_t>(-1);

// The length of the operator symbol at the start of `rest` (what follows `operator` in a
// demangled name): the longest of C++'s operator tokens, so `<=><char>` is `<=>` followed by
// template arguments. kConversionOperator for ` type` (conversion operators), 0 when `rest`
// does not start an operator (an identifier such as `operators`).
std::size_t operator_token(std::string_view rest) {
  static constexpr std::string_view kTokens[] = {
      "<=>", "<<=", ">>=", "->*", "()", "[]", "<<", ">>", "<=", ">=", "==", "!=",  "&&", "||",
      "++",  "--",  "+=",  "-=",  "*=", "/=", "%=", "&=", "|=", "^=", "->", "<",   ">",  "=",
      "!",   "+",   "-",   "*",   "/",  "%",  "&",  "|",  "^",  "~",  ",",  "\"\""};
  for (std::string_view t : kTokens)
    if (rest.substr(0, t.size()) == t) return t.size();
  for (std::string_view t : {" new[]", " delete[]", " new", " delete", " co_await"})
    if (rest.substr(0, t.size()) == t &&
        (rest.size() == t.size() || rest[t.size()] == '<' || rest[t.size()] == ' '))
      return t.size();
  if (!rest.empty() && rest[0] == ' ') return kConversionOperator;
  return 0;
}

// The `(` that the `)` at `close` closes; npos when there is none.
std::size_t matching_open(const std::string& s, std::size_t close) {
  int depth = 0;
  for (std::size_t i = close + 1; i-- > 0;) {
    if (s[i] == ')') ++depth;
    else if (s[i] == '(' && --depth == 0) return i;
  }
  return std::string::npos;
}

// True where the text at `rest` (after a space) is a member function's qualifiers followed by
// `::`: the space in `X::f(int) const::{lambda()#1}` belongs to the name.
bool qualifiers_then_scope(std::string_view rest) {
  bool any = false;
  while (true) {
    bool matched = false;
    for (std::string_view q : {"const", "volatile", "&&", "&", "noexcept", "restrict"}) {
      if (rest.substr(0, q.size()) == q) {
        rest.remove_prefix(q.size());
        matched = any = true;
        break;
      }
    }
    if (!matched) return false;
    if (rest.substr(0, 2) == "::") return any;
    if (rest.empty() || rest[0] != ' ') return false;
    rest.remove_prefix(1);
  }
}

// A template function's name without its return type, which precedes it separated by a space
// outside any brackets. Operator names (`operator<<`, `operator()`, `operator<=>`) are no
// brackets, but template arguments right after them are (`operator()<int*>`); a `<` or `>`
// inside parentheses may be a comparison (`decltype ((a)<(b)) f<int>`): a `)` closes whatever
// is open since its `(`, and a `>` closes only a `<`.
std::string drop_return_type(std::string s) {
  std::size_t cut = std::string::npos;
  std::string open;  // the brackets open at i, innermost last
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == 'o' && s.compare(i, 8, "operator") == 0 &&
        (i == 0 || s[i - 1] == ':' || s[i - 1] == ' ')) {
      std::size_t len = operator_token(std::string_view(s).substr(i + 8));
      if (len == kConversionOperator)
        break;  // its name is the rest: `X::operator std::string_view`
      if (len != 0) {
        i += 8 + len;
        if (i + 1 < s.size() && s[i] == ' ' && s[i + 1] == '<') ++i;  // `operator< <int>`
        --i;
        continue;
      }
    }
    char c = s[i];
    if (c == '<' || c == '(' || c == '[' || c == '{') {
      open += c;
    } else if (c == ')') {
      while (!open.empty() && open.back() != '(') open.pop_back();
      if (!open.empty()) open.pop_back();
    } else if ((c == '>' && !open.empty() && open.back() == '<') ||
               (c == ']' && !open.empty() && open.back() == '[') ||
               (c == '}' && !open.empty() && open.back() == '{')) {
      open.pop_back();
    } else if (c == ' ' && open.empty() &&
               !qualifiers_then_scope(std::string_view(s).substr(i + 1))) {
      cut = i;
    }
  }
  if (cut != std::string::npos) s.erase(0, cut + 1);
  return s;
}

}  // namespace

std::string strip_cxx_params(std::string s) {
  // GCC's clones (`.constprop.0`, `.isra.0`, `.part.0`, `.cold`, `.lto_priv.0`) demangle as
  // trailing ` [clone .constprop.0]`s; libiberty parses them only with parameters on, so perf
  // names a clone after its function (a `.cold` part included).
  while (s.ends_with(']')) {
    std::size_t clone = s.rfind(" [clone .");
    if (clone == std::string::npos || s.find(']', clone) != s.size() - 1) break;
    s.resize(clone);
  }
  // Special names keep their parameters in libiberty's no-parameter mode too.
  for (std::string_view thunk : {"non-virtual thunk to ", "virtual thunk to ",
                                 "covariant return thunk to ", "transaction clone for "})
    if (std::string_view(s).substr(0, thunk.size()) == thunk) return s;
  // Trailing qualifiers of member functions.
  for (bool again = true; again;) {
    again = false;
    for (std::string_view q : {" const", " volatile", " &&", " &", " noexcept", " restrict"}) {
      if (s.size() > q.size() && std::string_view(s).substr(s.size() - q.size()) == q) {
        s.resize(s.size() - q.size());
        again = true;
      }
    }
  }
  if (s.empty() || s.back() != ')') return s;
  std::size_t open = matching_open(s, s.size() - 1);
  if (open == std::string::npos || open == 0) return s;
  s.resize(open);
  // A function returning a pointer to function or array wraps its name:
  // `void (*pick<int>(int))(long)`, here now `void (*pick<int>(int))`.
  if (s.ends_with(')')) {
    std::size_t inner = matching_open(s, s.size() - 1);
    if (inner != std::string::npos && inner > 0 && s[inner - 1] == ' ') {
      std::string name = strip_cxx_params(s.substr(inner + 1, s.size() - inner - 2));
      // Drop the declarator in front of the name: `*`, `&`, `X::*` (pointer to member).
      std::size_t from = 0;
      int depth = 0;
      for (std::size_t i = 0; i + 2 < name.size(); ++i) {
        if (name[i] == '<' || name[i] == '(') ++depth;
        else if (name[i] == '>' || name[i] == ')') --depth;
        else if (depth == 0 && name.compare(i, 3, "::*") == 0) from = i + 3;
      }
      while (from < name.size() && (name[from] == '*' || name[from] == '&' || name[from] == ' '))
        ++from;
      return name.substr(from);
    }
  }
  return drop_return_type(std::move(s));
}

std::string demangle(std::string_view name, bool with_params) {
  if (name.size() > 2 && name[0] == '_' && name[1] == 'R') {
    std::string r = demangle_rust_v0(name);
    if (!r.empty()) return r;
    return std::string(name);
  }
  if (name.size() < 3 || name[0] != '_' || name[1] != 'Z') return std::string(name);
  // `_Znwm@plt` (a PLT slot named after its target) and `name@@VERSION`: no Itanium name holds
  // an `@`, so the name before it is demangled and the rest kept (`operator new@plt`, as perf).
  if (std::size_t at = name.find('@'); at != std::string_view::npos) {
    std::string base = demangle(name.substr(0, at), with_params);
    if (base == name.substr(0, at)) return std::string(name);
    return base + std::string(name.substr(at));
  }
  std::string mangled(name);
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> out(
      abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status), &std::free);
  if (status != 0 || !out) return mangled;
  std::string result(out.get());
  if (name.substr(0, 3) == "_ZN" && name.back() == 'E') {
    std::string rust = clean_rust_legacy(result);
    if (rust.size() != result.size()) return rust;
  }
  return with_params ? result : strip_cxx_params(std::move(result));
}

}  // namespace prof::symbolizer
