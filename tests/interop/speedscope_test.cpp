// write_speedscope: the file is parsed back with a strict JSON reader (below) and checked for
// structure: shared frames, one sampled profile per thread and event, stacks root first with
// inline lines expanded, time order, weights and units, and escaping of awkward names.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/profile.h"
#include "prof/interop/speedscope.h"

namespace prof::interop {
namespace {

// --- a strict JSON reader (RFC 8259: no trailing commas, no raw control characters in
// strings, valid UTF-8 only, escapes decoded to UTF-8) ------------------------------------------
struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool b = false;
  double num = 0;
  std::string str;
  std::vector<Json> items;
  std::map<std::string, Json> fields;

  const Json& operator[](std::string_view key) const {
    auto it = fields.find(std::string(key));
    if (kind != kObject || it == fields.end())
      throw std::runtime_error("no key " + std::string(key));
    return it->second;
  }
  const Json& operator[](std::size_t i) const { return items.at(i); }
  bool has(std::string_view key) const { return fields.count(std::string(key)) != 0; }
  std::size_t size() const { return kind == kArray ? items.size() : fields.size(); }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}
  Json document() {
    Json v = value();
    ws();
    if (i_ != s_.size()) fail("trailing text");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + " at byte " + std::to_string(i_));
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t'))
      ++i_;
  }
  char peek() { return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected ") + c);
    ++i_;
  }
  Json value() {
    ws();
    Json v;
    char c = peek();
    if (c == '{') {
      v.kind = Json::kObject;
      ++i_;
      ws();
      if (peek() == '}') return ++i_, v;
      for (;;) {
        ws();
        std::string k = string();
        ws();
        expect(':');
        if (!v.fields.emplace(k, value()).second) fail("duplicate key " + k);
        ws();
        if (peek() == '}') return ++i_, v;
        expect(',');
      }
    }
    if (c == '[') {
      v.kind = Json::kArray;
      ++i_;
      ws();
      if (peek() == ']') return ++i_, v;
      for (;;) {
        v.items.push_back(value());
        ws();
        if (peek() == ']') return ++i_, v;
        expect(',');
      }
    }
    if (c == '"') {
      v.kind = Json::kString;
      v.str = string();
      return v;
    }
    for (std::string_view lit : {"true", "false", "null"}) {
      if (s_.substr(i_, lit.size()) == lit) {
        i_ += lit.size();
        v.kind = lit == "null" ? Json::kNull : Json::kBool;
        v.b = lit == "true";
        return v;
      }
    }
    std::size_t start = i_;
    if (peek() == '-') ++i_;
    if (peek() < '0' || peek() > '9') fail("unexpected character");
    while ((peek() >= '0' && peek() <= '9') || peek() == '.' || peek() == 'e' || peek() == 'E' ||
           peek() == '+' || peek() == '-')
      ++i_;
    v.kind = Json::kNumber;
    v.num = std::stod(std::string(s_.substr(start, i_ - start)));
    return v;
  }
  static void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  std::uint32_t hex4() {
    if (i_ + 4 > s_.size()) fail("short \\u escape");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) fail("bad hex digit");
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    return v;
  }
  // One UTF-8 sequence, validated as a strict decoder (like TextDecoder's fatal mode) would.
  void utf8(std::string& out) {
    auto byte = [&](std::size_t k) {
      return k < s_.size() ? static_cast<unsigned char>(s_[k]) : 0;
    };
    unsigned char c = byte(i_);
    std::size_t n = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (n == 0) fail("invalid UTF-8 lead byte");
    std::uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (std::size_t k = 1; k < n; ++k) {
      if ((byte(i_ + k) & 0xC0) != 0x80) fail("invalid UTF-8 continuation");
      cp = (cp << 6) | (byte(i_ + k) & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      fail("overlong, surrogate or out-of-range UTF-8");
    out.append(s_.substr(i_, n));
    i_ += n;
  }
  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      if (i_ >= s_.size()) fail("unterminated string");
      char c = s_[i_];
      if (c == '"') return ++i_, out;
      if (static_cast<unsigned char>(c) < 0x20) fail("raw control character in string");
      if (c != '\\') {
        utf8(out);
        continue;
      }
      ++i_;
      char e = peek();
      ++i_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(i_, 2) != "\\u") fail("lone high surrogate");
            i_ += 2;
            std::uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("lone low surrogate");
          }
          put_utf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

Json parse(const std::string& text) { return JsonReader(text).document(); }

// Frame names of one sample of a profile (root first), checking that the indices are valid.
std::vector<std::string> names(const Json& doc, const Json& stack) {
  const Json& frames = doc["shared"]["frames"];
  std::vector<std::string> out;
  for (const Json& f : stack.items) {
    EXPECT_EQ(f.num, static_cast<double>(static_cast<std::size_t>(f.num)));
    out.push_back(frames[static_cast<std::size_t>(f.num)]["name"].str);
  }
  return out;
}

// A small program: main -> work -> (inlined) helper -> leaf, in process 10 (threads 10 and 11)
// and process 20.
struct Fixture {
  Profile p;
  FunctionId main_fn, work_fn, helper_fn, leaf_fn;
  LocationId main_loc, work_loc, leaf_loc;
  MappingId exe;
  Fixture() {
    exe = p.add_mapping("/usr/bin/app");
    main_fn = p.add_function("main");
    work_fn = p.add_function("work");
    helper_fn = p.add_function("helper");
    leaf_fn = p.add_function("leaf");
    main_loc = p.add_location(0x1000, exe, {{.function = main_fn, .srcline = p.intern("app.c:5")}});
    // One address, two lines: helper inlined into work (innermost first).
    work_loc =
        p.add_location(0x2000, exe,
                       {{.function = helper_fn, .srcline = p.intern("util.h:40"), .inlined = true},
                        {.function = work_fn, .srcline = p.intern("app.c:20")}});
    leaf_loc = p.add_location(0x3000, exe, {{.function = leaf_fn}});
  }
  StackId stack(std::initializer_list<LocationId> leaf_first) {
    return p.intern_stack(std::span(leaf_first.begin(), leaf_first.size()));
  }
  void add(StackId st, std::uint64_t time, std::int64_t pid, std::int64_t tid,
           std::uint64_t period = 1000, std::string_view event = "cpu-clock",
           std::string_view comm = "app") {
    p.add_sample({.stack = st,
                  .period = period,
                  .time_ns = time,
                  .comm = p.intern(comm),
                  .event = p.intern(event),
                  .pid = pid,
                  .tid = tid});
  }
};

TEST(SpeedscopeTest, FileHeaderAndFrames) {
  Fixture f;
  f.add(f.stack({f.leaf_loc, f.work_loc, f.main_loc}), 100, 10, 10);
  Json doc = parse(write_speedscope(f.p, {.name = "my capture", .exporter = "profile 1.2"}));
  EXPECT_EQ(doc["$schema"].str, "https://www.speedscope.app/file-format-schema.json");
  EXPECT_EQ(doc["name"].str, "my capture");
  EXPECT_EQ(doc["exporter"].str, "profile 1.2");
  EXPECT_EQ(doc["activeProfileIndex"].num, 0);
  const Json& frames = doc["shared"]["frames"];
  ASSERT_EQ(frames.size(), 4u);
  std::map<std::string, const Json*> by_name;
  for (const Json& fr : frames.items) by_name[fr["name"].str] = &fr;
  ASSERT_EQ(by_name.size(), 4u);
  EXPECT_EQ((*by_name["main"])["file"].str, "app.c");
  EXPECT_EQ((*by_name["main"])["line"].num, 5);
  EXPECT_EQ((*by_name["helper"])["file"].str, "util.h");
  EXPECT_EQ((*by_name["helper"])["line"].num, 40);
  EXPECT_EQ((*by_name["work"])["line"].num, 20);
  EXPECT_FALSE(by_name["leaf"]->has("file"));  // no srcline, no file
  EXPECT_FALSE(by_name["leaf"]->has("line"));

  // Defaults for the name and exporter.
  Json plain = parse(write_speedscope(f.p));
  EXPECT_EQ(plain["name"].str, "profile");
  EXPECT_FALSE(plain["exporter"].str.empty());
}

TEST(SpeedscopeTest, StacksAreRootFirstWithInlineLinesExpanded) {
  Fixture f;
  f.add(f.stack({f.leaf_loc, f.work_loc, f.main_loc}), 100, 10, 10);
  f.add(f.stack({f.work_loc, f.main_loc}), 200, 10, 10);
  f.add(f.stack({f.main_loc}), 300, 10, 10);
  Json doc = parse(write_speedscope(f.p));
  ASSERT_EQ(doc["profiles"].size(), 1u);
  const Json& prof = doc["profiles"][0];
  EXPECT_EQ(prof["type"].str, "sampled");
  ASSERT_EQ(prof["samples"].size(), 3u);
  using V = std::vector<std::string>;
  EXPECT_EQ(names(doc, prof["samples"][0]), (V{"main", "work", "helper", "leaf"}));
  EXPECT_EQ(names(doc, prof["samples"][1]), (V{"main", "work", "helper"}));
  EXPECT_EQ(names(doc, prof["samples"][2]), (V{"main"}));
}

TEST(SpeedscopeTest, OneProfilePerThreadInTimeOrder) {
  Fixture f;
  StackId a = f.stack({f.leaf_loc, f.work_loc, f.main_loc});
  StackId b = f.stack({f.main_loc});
  StackId c = f.stack({f.work_loc, f.main_loc});
  // Added out of order and interleaved between threads.
  f.add(a, 300, 20, 20, 7, "cpu-clock", "other");
  f.add(b, 500, 10, 11, 1);
  f.add(a, 400, 10, 10, 10);
  f.add(b, 100, 10, 10, 20);
  f.add(c, 400, 10, 10, 30);  // same time as the sample at 400: kept after it (stable)
  f.add(a, 200, 10, 10, 40);
  f.add(b, 300, 10, 11, 2);
  f.add(c, 0, 10, 11, 0, "cpu-clock", "renamed");  // no period: weighs its count
  Json doc = parse(write_speedscope(f.p));
  const Json& profiles = doc["profiles"];
  ASSERT_EQ(profiles.size(), 3u);
  EXPECT_EQ(profiles[0]["name"].str, "app 10/10");
  EXPECT_EQ(profiles[1]["name"].str, "app 10/11");  // the thread's latest comm
  EXPECT_EQ(profiles[2]["name"].str, "other 20/20");

  using V = std::vector<std::string>;
  const Json& t10 = profiles[0];
  ASSERT_EQ(t10["samples"].size(), 4u);
  EXPECT_EQ(names(doc, t10["samples"][0]), (V{"main"}));                            // t=100
  EXPECT_EQ(names(doc, t10["samples"][1]), (V{"main", "work", "helper", "leaf"}));  // t=200
  EXPECT_EQ(names(doc, t10["samples"][2]), (V{"main", "work", "helper", "leaf"}));  // t=400
  EXPECT_EQ(names(doc, t10["samples"][3]), (V{"main", "work", "helper"}));          // t=400
  std::vector<double> w;
  for (const Json& x : t10["weights"].items) w.push_back(x.num);
  EXPECT_EQ(w, (std::vector<double>{20, 40, 10, 30}));
  EXPECT_EQ(t10["startValue"].num, 0);
  EXPECT_EQ(t10["endValue"].num, 100);
  EXPECT_EQ(t10["unit"].str, "nanoseconds");

  const Json& t11 = profiles[1];
  ASSERT_EQ(t11["weights"].size(), 3u);
  EXPECT_EQ(t11["weights"][0].num, 1);  // t=0, period 0
  EXPECT_EQ(t11["weights"][1].num, 2);  // t=300
  EXPECT_EQ(t11["weights"][2].num, 1);  // t=500
  EXPECT_EQ(t11["endValue"].num, 4);
  EXPECT_EQ(profiles[2]["samples"].size(), 1u);
  EXPECT_EQ(profiles[2]["endValue"].num, 7);
  EXPECT_EQ(doc["activeProfileIndex"].num, 0);
  // Every profile's samples and weights pair up.
  for (const Json& pr : profiles.items) EXPECT_EQ(pr["samples"].size(), pr["weights"].size());
}

TEST(SpeedscopeTest, OneProfilePerEventWithUnits) {
  Fixture f;
  StackId st = f.stack({f.work_loc, f.main_loc});
  f.p.info().events.push_back({.name = f.p.intern("cycles"), .unit = f.p.intern("count")});
  f.p.info().events.push_back(
      {.name = f.p.intern("sched:wait"), .unit = f.p.intern("nanoseconds")});
  f.add(st, 10, 5, 5, 1000000, "cycles");
  f.add(st, 20, 5, 5, 250, "cpu-clock");  // no EventType: known by its name
  f.add(st, 30, 5, 5, 3, "instructions");
  f.add(st, 40, 5, 5, 99, "sched:wait");
  f.add(st, 50, 5, 5, 1000000, "cycles");
  Json doc = parse(write_speedscope(f.p));
  const Json& profiles = doc["profiles"];
  ASSERT_EQ(profiles.size(), 4u);
  // Ordered by event name within the thread.
  EXPECT_EQ(profiles[0]["name"].str, "app 5/5 cpu-clock");
  EXPECT_EQ(profiles[0]["unit"].str, "nanoseconds");
  EXPECT_EQ(profiles[0]["endValue"].num, 250);
  EXPECT_EQ(profiles[1]["name"].str, "app 5/5 cycles");
  EXPECT_EQ(profiles[1]["unit"].str, "none");
  EXPECT_EQ(profiles[1]["samples"].size(), 2u);
  EXPECT_EQ(profiles[1]["endValue"].num, 2000000);
  EXPECT_EQ(profiles[2]["name"].str, "app 5/5 instructions");
  EXPECT_EQ(profiles[2]["unit"].str, "none");
  EXPECT_EQ(profiles[3]["name"].str, "app 5/5 sched:wait");
  EXPECT_EQ(profiles[3]["unit"].str, "nanoseconds");
  EXPECT_EQ(doc["activeProfileIndex"].num, 1);  // speedscope opens the heaviest
}

TEST(SpeedscopeTest, FramesAreSharedByNameFileAndLine) {
  Fixture f;
  // Another address in main, same source line: the same frame. A third on another line: not.
  LocationId main2 =
      f.p.add_location(0x1004, f.exe, {{.function = f.main_fn, .srcline = f.p.intern("app.c:5")}});
  LocationId main3 =
      f.p.add_location(0x1008, f.exe, {{.function = f.main_fn, .srcline = f.p.intern("app.c:6")}});
  // Unresolved addresses: named by their module, or [unknown] without one.
  MappingId libc = f.p.add_mapping("/usr/lib/x86_64-linux-gnu/libc.so.6");
  LocationId in_libc = f.p.add_location(0x7f00, libc, {{.function = 0}});
  LocationId nowhere = f.p.add_location(0x10, 0, {{.function = 0}});
  f.add(f.stack({f.main_loc}), 1, 1, 1);
  f.add(f.stack({main2}), 2, 1, 1);
  f.add(f.stack({main3}), 3, 1, 1);
  f.add(f.stack({nowhere, in_libc, f.main_loc}), 4, 1, 1);
  f.add(f.stack({f.work_loc, f.main_loc}), 5, 2, 2);  // another thread shares the frames
  Json doc = parse(write_speedscope(f.p));
  const Json& frames = doc["shared"]["frames"];
  int mains = 0;
  for (const Json& fr : frames.items) mains += fr["name"].str == "main";
  EXPECT_EQ(mains, 2);
  EXPECT_EQ(frames.size(), 6u);  // main:5, main:6, [libc.so.6], [unknown], work, helper
  const Json& s = doc["profiles"][0]["samples"];
  EXPECT_EQ(s[0][0].num, s[1][0].num);
  EXPECT_NE(s[0][0].num, s[2][0].num);
  using V = std::vector<std::string>;
  EXPECT_EQ(names(doc, s[3]), (V{"main", "[libc.so.6]", "[unknown]"}));
  EXPECT_EQ(doc["profiles"][1]["samples"][0][0].num, s[0][0].num);
}

TEST(SpeedscopeTest, EscapesNamesIntoValidJson) {
  Profile p;
  // A quote, a backslash, control characters, valid multi-byte text, and bytes that are not
  // UTF-8: a stray continuation, a truncated sequence, an overlong form, an encoded surrogate.
  std::string name = "op\"q\\r\x01s\nt\x1f|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\x80|\xe2\x82|";
  name += "\xc0\xaf|\xed\xa0\x80|\xff";
  FunctionId fn = p.add_function(name);
  LocationId loc = p.add_location(1, 0, {{.function = fn, .srcline = p.intern("we\"ird\\.c:7")}});
  LocationId nul = p.add_location(2, 0, {{.function = p.add_function(std::string("a\0b", 3))}});
  StackId st = p.intern_stack(std::span(&loc, 1));
  p.add_sample({.stack = st, .comm = p.intern("c\"o\\m\xfem"), .pid = 3, .tid = 4});
  p.add_sample({.stack = p.intern_stack(std::span(&nul, 1)), .time_ns = 1, .pid = 3, .tid = 4});
  std::string text = write_speedscope(p, {.name = "n\x7f\"\xc3", .exporter = ""});
  Json doc;
  ASSERT_NO_THROW(doc = parse(text)) << text;
  const std::string fffd = "\xef\xbf\xbd";
  std::string want = "op\"q\\r\x01s\nt\x1f|\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|" + fffd + "|";
  want += fffd + fffd + "|" + fffd + fffd + "|" + fffd + fffd + fffd + "|" + fffd;
  const Json& frames = doc["shared"]["frames"];
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0]["name"].str, want);
  EXPECT_EQ(frames[0]["file"].str, "we\"ird\\.c");
  EXPECT_EQ(frames[0]["line"].num, 7);
  EXPECT_EQ(frames[1]["name"].str, std::string("a\0b", 3));
  EXPECT_EQ(doc["profiles"][0]["name"].str, "c\"o\\m" + fffd + "m 3/4");
  EXPECT_EQ(doc["name"].str, "n\x7f\"" + fffd);
  // Control characters only as escapes: no raw one but the final newline.
  EXPECT_EQ(std::count_if(text.begin(), text.end(),
                          [](char c) { return static_cast<unsigned char>(c) < 0x20; }),
            1);
  EXPECT_EQ(text.back(), '\n');
}

TEST(SpeedscopeTest, MergedSamplesAndUnknownThreads) {
  // Merged samples (every time 0 or equal) keep the order they were added in; samples without
  // a process are one profile named by their comm.
  Profile p({.merge_samples = true});
  FunctionId a = p.add_function("a"), b = p.add_function("b");
  LocationId la = p.add_location(1, 0, {{.function = a}});
  LocationId lb = p.add_location(2, 0, {{.function = b}});
  StackId sa = p.intern_stack(std::span(&la, 1)), sb = p.intern_stack(std::span(&lb, 1));
  StringId comm = p.intern("folded");
  p.add_sample({.stack = sb, .count = 2, .period = 2, .comm = comm});
  p.add_sample({.stack = sa, .count = 5, .period = 5, .comm = comm});
  p.add_sample({.stack = sb, .count = 1, .period = 1, .comm = comm});  // merged into the first
  Json doc = parse(write_speedscope(p));
  ASSERT_EQ(doc["profiles"].size(), 1u);
  const Json& pr = doc["profiles"][0];
  EXPECT_EQ(pr["name"].str, "folded");
  EXPECT_EQ(pr["unit"].str, "none");  // no event
  ASSERT_EQ(pr["samples"].size(), 2u);
  EXPECT_EQ(names(doc, pr["samples"][0]), std::vector<std::string>{"b"});
  EXPECT_EQ(names(doc, pr["samples"][1]), std::vector<std::string>{"a"});
  EXPECT_EQ(pr["weights"][0].num, 3);
  EXPECT_EQ(pr["weights"][1].num, 5);
  EXPECT_EQ(pr["endValue"].num, 8);
}

TEST(SpeedscopeTest, EqualTimesKeepTheOrderAdded) {
  Fixture f;
  StackId st[3] = {f.stack({f.main_loc}), f.stack({f.work_loc, f.main_loc}),
                   f.stack({f.leaf_loc, f.work_loc, f.main_loc})};
  const std::size_t kDepth[3] = {1, 3, 4};  // of st[0], st[1], st[2]
  // Two threads interleaved, every sample at the same time: each keeps its own order.
  for (int i = 0; i < 3000; ++i) f.add(st[i % 3], 7, 1, 1 + i % 2, static_cast<std::uint64_t>(i));
  Json doc = parse(write_speedscope(f.p));
  ASSERT_EQ(doc["profiles"].size(), 2u);
  for (std::size_t t = 0; t < 2; ++t) {
    const Json& pr = doc["profiles"][t];
    ASSERT_EQ(pr["weights"].size(), 1500u);
    for (std::size_t k = 0; k < 1500; ++k) {
      ASSERT_EQ(pr["weights"][k].num, static_cast<double>(2 * k + t ? 2 * k + t : 1));
      ASSERT_EQ(pr["samples"][k].size(), kDepth[(2 * k + t) % 3]);
    }
  }
}

TEST(SpeedscopeTest, EmptyProfileIsValidJson) {
  Profile p;
  Json doc = parse(write_speedscope(p));
  EXPECT_EQ(doc["shared"]["frames"].size(), 0u);
  EXPECT_EQ(doc["profiles"].kind, Json::kArray);
}

TEST(SpeedscopeTest, ManySamplesStayInTimeOrder) {
  Fixture f;
  StackId st[3] = {f.stack({f.main_loc}), f.stack({f.work_loc, f.main_loc}),
                   f.stack({f.leaf_loc, f.work_loc, f.main_loc})};
  const std::size_t kDepth[3] = {1, 3, 4};
  constexpr std::uint64_t kN = 60000;
  // Times descending as added; the stack depth encodes the time so the order can be checked.
  for (std::uint64_t i = 0; i < kN; ++i) f.add(st[(kN - 1 - i) % 3], kN - 1 - i, 1, 1, 1);
  Json doc = parse(write_speedscope(f.p));
  const Json& s = doc["profiles"][0]["samples"];
  ASSERT_EQ(s.size(), kN);
  for (std::uint64_t t = 0; t < kN; ++t) {
    ASSERT_EQ(s[t].size(), kDepth[t % 3]) << "sample at time " << t;
  }
  EXPECT_EQ(doc["profiles"][0]["endValue"].num, static_cast<double>(kN));
}

}  // namespace
}  // namespace prof::interop
