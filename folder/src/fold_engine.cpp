#include "fold_engine.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <unordered_map>

namespace prof::folder::detail {
namespace {

// Perl's \s (the reference script's regexes use it); bytes >= 0x80 are never whitespace.
inline bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Perl's \w on a byte string: ASCII letters, digits and '_' only.
inline bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}
inline bool is_lower_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
inline bool is_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view basename(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// The reference's event test: the line ends with `: [ws] [DIGITS] ws EVENT: [ws]`.
bool parse_event(std::string_view line, HeaderLine& h) {
  std::string_view s = trim_right(line);
  if (s.empty() || s.back() != ':') return false;
  std::size_t tok_end = s.size() - 1;
  std::size_t t = tok_end;
  while (t > 0 && !is_ws(s[t - 1])) --t;
  if (t == tok_end || t == 0) return false;  // EVENT needs a char and whitespace before it
  std::size_t w = t;
  while (w > 0 && is_ws(s[w - 1])) --w;
  if (w == 0) return false;
  if (s[w - 1] == ':') {
    h.period = {};
  } else {
    std::size_t d = w;
    while (d > 0 && is_digit(s[d - 1])) --d;
    if (d == w) return false;
    std::size_t c = d;
    while (c > 0 && is_ws(s[c - 1])) --c;
    if (c == 0 || s[c - 1] != ':') return false;
    h.period = s.substr(d, w - d);
  }
  h.has_event = true;
  h.event = s.substr(t, tok_end - t);
  return true;
}

// A frame printed on the header line, as `perf script` does without call graphs:
// `comm 123 [000] 1.5:   1 cycles:u:  ffffffff9b201293 [unknown] ([unknown])`.
// `rest` starts after the PID/TID field. Fills period and event; the frame's PC must be hex.
bool parse_inline_frame(std::string_view rest, HeaderLine& h) {
  auto skip_ws = [&] {
    while (!rest.empty() && is_ws(rest.front())) rest.remove_prefix(1);
  };
  auto token = [&] {
    std::size_t i = 0;
    while (i < rest.size() && !is_ws(rest[i])) ++i;
    return rest.substr(0, i);
  };
  skip_ws();
  std::string_view tok = token();
  if (tok.size() >= 3 && tok.front() == '[' && tok.back() == ']') {  // [cpu]
    rest.remove_prefix(tok.size());
    skip_ws();
    tok = token();
  }
  // Time `123.456:`.
  if (tok.size() >= 2 && tok.back() == ':' && is_digit(tok.front()) &&
      std::all_of(tok.begin(), tok.end() - 1, [](char c) { return is_digit(c) || c == '.'; })) {
    rest.remove_prefix(tok.size());
    skip_ws();
    tok = token();
  }
  std::string_view period;
  if (!tok.empty() && std::all_of(tok.begin(), tok.end(), is_digit)) {
    period = tok;
    rest.remove_prefix(tok.size());
    skip_ws();
    tok = token();
  }
  if (tok.size() < 2 || tok.back() != ':') return false;
  std::string_view event = tok.substr(0, tok.size() - 1);
  rest.remove_prefix(tok.size());
  if (rest.empty() || !is_ws(rest.front())) return false;
  RawFrame f;
  if (!parse_frame(rest, f)) return false;
  if (!std::all_of(f.pc.begin(), f.pc.end(), is_hex)) return false;
  h.frame = f;
  h.period = period;
  h.event = event;
  return true;
}

// Go methods (`net/http.(*Client).Do`) keep their parentheses.
bool is_go_method(std::string_view s) {
  auto open = s.find(".(");
  if (open == std::string_view::npos) return false;
  return s.find(").", open + 2) != std::string_view::npos;
}

constexpr std::string_view kAnonNamespace = "(anonymous namespace)";

bool starts_anon_namespace(std::string_view s, std::size_t i) {
  return s.substr(i, kAnonNamespace.size()) == kAnonNamespace;
}

// The reference: cut at the first '(' that does not start `(anonymous namespace)`.
std::size_t reference_cut(std::string_view s) {
  for (std::size_t i = s.find('('); i != std::string_view::npos; i = s.find('(', i + 1))
    if (!starts_anon_namespace(s, i)) return i;
  return std::string_view::npos;
}

// Where to cut the argument list off a name. Deliberate divergence from the reference (as
// inferno does): a '(' inside <...> or {...} belongs to a template argument or a lambda name, so
// `std::function<void (int)>::operator()(int)` becomes `std::function<void (int)>::operator`, not
// `std::function<void `. When the brackets do not balance, the reference's rule applies.
std::size_t argument_cut(std::string_view s) {
  if (s.find('(') == std::string_view::npos || is_go_method(s)) return std::string_view::npos;
  int angle = 0, brace = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == 'o' && s.substr(i, 8) == "operator" && (i == 0 || !is_word(s[i - 1]))) {
      // `operator<<`, `operator>=`... are names, not template brackets.
      i += 8;
      while (i < s.size() && (s[i] == '<' || s[i] == '>' || s[i] == '=')) ++i;
      --i;
      continue;
    }
    switch (c) {
      case '<': ++angle; break;
      case '>':
        if (angle > 0) --angle;
        break;
      case '{': ++brace; break;
      case '}':
        if (brace > 0) --brace;
        break;
      case '(':
        if (angle == 0 && brace == 0 && !starts_anon_namespace(s, i)) return i;
        break;
      default: break;
    }
  }
  if (angle == 0 && brace == 0) return std::string_view::npos;
  return reference_cut(s);
}

// `/tmp/perf-<digits>.map` anywhere in the module (perf-map-agent and friends).
bool is_perf_map(std::string_view m) {
  constexpr std::string_view kPrefix = "/tmp/perf-";
  for (auto i = m.find(kPrefix); i != std::string_view::npos; i = m.find(kPrefix, i + 1)) {
    std::size_t j = i + kPrefix.size(), k = j;
    while (k < m.size() && is_digit(m[k])) ++k;
    if (k > j && m.substr(k, 4) == ".map") return true;
  }
  return false;
}

// perf's jitdump output: `jitted-<pid>-<n>.so` (divergence: the reference knows only perf maps).
bool is_jitdump(std::string_view m) {
  std::string_view b = basename(m);
  if (b.substr(0, 7) != "jitted-" || b.size() < 3 || b.substr(b.size() - 3) != ".so") return false;
  b = b.substr(7, b.size() - 10);
  auto dash = b.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == b.size()) return false;
  return std::all_of(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(dash), is_digit) &&
         std::all_of(b.begin() + static_cast<std::ptrdiff_t>(dash) + 1, b.end(), is_digit);
}

bool is_kernel_module(std::string_view m) {
  if (m.find("unknown") != std::string_view::npos) return false;
  if (!m.empty() && m.front() == '[') return true;
  if (m.size() >= 7 && m.substr(m.size() - 7) == "vmlinux") return true;
  // Divergence (as inferno): versioned vmlinux files and loadable modules are kernel code too.
  if (basename(m).substr(0, 8) == "vmlinux-") return true;
  return m.size() > 3 && m.substr(m.size() - 3) == ".ko";
}

void append_escaped(std::string& out, std::string_view s) {
  constexpr std::size_t kMaxShown = 160;
  bool cut = s.size() > kMaxShown;
  if (cut) s = s.substr(0, kMaxShown);
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t') {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (cut) out += "...";
}

void append_u64(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

bool parse_frame(std::string_view line, RawFrame& out) {
  std::size_t n = line.size();
  std::size_t ws0 = 0;
  while (ws0 < n && is_ws(line[ws0])) ++ws0;
  if (ws0 == n || !is_word(line[ws0])) return false;
  std::size_t end_w = ws0;
  while (end_w < n && is_word(line[end_w])) ++end_w;
  // MODULE runs to the last ')'; its " (" is the last one that leaves a ')' after it.
  const char* base = line.data();
  auto* q = static_cast<const char*>(memrchr(base, ')', n));
  if (q == nullptr) return false;
  std::size_t qi = static_cast<std::size_t>(q - base);
  if (qi < 2) return false;
  std::size_t p = std::string_view::npos;
  // A module that itself ends in a parenthesis, as perf prints `(memfd:x (deleted))`, is kept
  // whole by matching parentheses (the reference splits it and leaves junk in the name;
  // docs/folding.md lists this divergence).
  if (base[qi - 1] == ')') {
    int depth = 0;
    for (std::size_t i = qi + 1; i-- > 0;) {
      if (base[i] == ')') ++depth;
      else if (base[i] == '(' && --depth == 0) {
        if (i > 0 && base[i - 1] == ' ') p = i - 1;
        break;
      }
    }
  }
  for (std::size_t lim = qi - 1; p == std::string_view::npos && lim > 0;) {
    auto* o = static_cast<const char*>(memrchr(base, '(', lim));
    if (o == nullptr) break;
    std::size_t oi = static_cast<std::size_t>(o - base);
    if (oi > 0 && base[oi - 1] == ' ') {
      p = oi - 1;
      break;
    }
    lim = oi;
  }
  if (p == std::string_view::npos) return false;
  std::size_t s = end_w;
  while (s < n && is_ws(line[s])) ++s;
  // The reference's regex backtracks when FUNC would be empty; these are its outcomes.
  if (p > s) {
    out.pc = line.substr(ws0, end_w - ws0);
    out.func = line.substr(s, p - s);
  } else if (p > end_w) {
    out.pc = line.substr(ws0, end_w - ws0);
    out.func = line.substr(p - 1, 1);
  } else if (p == end_w && end_w - ws0 >= 2) {
    out.pc = line.substr(ws0, end_w - 1 - ws0);
    out.func = line.substr(end_w - 1, 1);
  } else {
    return false;
  }
  out.module = line.substr(p + 2, qi - p - 2);
  return true;
}

bool parse_header(std::string_view line, HeaderLine& h) {
  std::size_t n = line.size();
  if (n < 3 || is_ws(line[0])) return false;
  // COMM is the shortest run of >= 2 chars followed by `ws+ N1 [/+ [N2]] ws`.
  for (std::size_t i = 2; i < n; ++i) {
    if (!is_ws(line[i])) continue;
    std::size_t j = i;
    while (j < n && is_ws(line[j])) ++j;
    if (j == n || !is_digit(line[j])) continue;
    std::size_t k = j;
    while (k < n && is_digit(line[k])) ++k;
    std::size_t s = k;
    while (s < n && line[s] == '/') ++s;
    std::size_t m = s;
    while (m < n && is_digit(line[m])) ++m;
    if (m == n || !is_ws(line[m])) continue;
    h = HeaderLine{};
    h.comm = line.substr(0, i);
    std::string_view n1 = line.substr(j, k - j), n2 = line.substr(s, m - s);
    if (n2.empty() || n2 == "0") {
      h.pid_text = "?";
      h.tid_text = n1;
    } else {
      h.pid_text = n1;
      h.tid_text = n2;
    }
    std::string_view rest = line.substr(m);
    std::size_t c = 0;
    while (c < rest.size() && is_ws(rest[c])) ++c;
    if (c < rest.size() && rest[c] == '[') {
      std::size_t d = c + 1;
      int cpu = 0;
      while (d < rest.size() && is_digit(rest[d]) && cpu < 1000000)
        cpu = cpu * 10 + (rest[d++] - '0');
      if (d > c + 1 && d < rest.size() && rest[d] == ']') h.cpu = cpu;
    }
    if (!parse_event(line, h)) parse_inline_frame(rest, h);
    return true;
  }
  return false;
}

std::optional<std::string_view> first_event(std::string_view text) {
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view l = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (l.empty() || l.front() == '#') continue;
    if (l.back() == '\r') l.remove_suffix(1);
    HeaderLine h;
    if (parse_header(l, h) && h.has_event) return h.event;
  }
  return std::nullopt;
}

FoldEngine::FoldEngine(const Options& options) : opt_(options) {
  set_event_filter(opt_.event_filter);
  if (opt_.include_tid) opt_.include_pid = true;
}

void FoldEngine::set_event_filter(std::string_view event) {
  event_filter_ = event;
  stats_.event = event_filter_;
}

void FoldEngine::preset_event_filter(std::string_view event) {
  set_event_filter(event);
  event_defaulted_ = true;
}

void FoldEngine::begin_block() {
  block_lines_ = 0;
  diags_.clear();
}

std::vector<Diag> FoldEngine::take_diags() { return std::exchange(diags_, {}); }

void FoldEngine::warn(std::string_view kind, std::string_view what, std::string_view line_text) {
  if (kind == kWarnWeirdLine || kind == kWarnWeirdStackLine) ++stats_.weird_lines;
  if (!opt_.keep_all_warnings) {
    for (auto& d : diags_) {
      if (d.kind == kind) {
        ++d.count;
        return;
      }
    }
  }
  Diag d{kind, block_lines_, std::string(what), 1};
  if (!line_text.empty()) {
    d.text += ": '";
    append_escaped(d.text, line_text);
    d.text += '\'';
  }
  if (opt_.strict && !strict_error_ && (kind == kWarnWeirdLine || kind == kWarnWeirdStackLine))
    strict_error_ = d;
  diags_.push_back(std::move(d));
}

bool FoldEngine::accept_event(std::string_view event) {
  if (opt_.per_event) {
    // Every event keeps its own root, so none is dropped unless the user filtered.
    if (!event_filter_.empty() && event != event_filter_) {
      ++stats_.filtered_samples;
      return false;
    }
    if (last_event_id_ == kNoEvent || event != last_event_) {
      last_event_.assign(event);
      scratch_ = "[";
      scratch_ += event;
      scratch_ += ']';
      last_event_id_ = names_.intern(scratch_);
    }
    event_id_ = last_event_id_;
    return true;
  }
  if (event_filter_.empty()) {
    set_event_filter(event);
    event_defaulted_ = true;
    return true;
  }
  if (event == event_filter_) return true;
  ++stats_.filtered_samples;
  if (event_defaulted_ && !event_warned_) {
    event_warned_ = true;
    // The reference prints `Filtering for events of type: X` naming the dropped event; this
    // names both, so the user knows which one was kept.
    std::string msg = "filtering for events of type '" + event_filter_ +
                      "' (the first event seen); samples of '" + std::string(event) +
                      "' and any other event are dropped (choose one with --event-filter, or "
                      "fold each under its own root with --per-event)";
    warn(kWarnEventFilter, msg, {});
  }
  return false;
}

std::uint64_t FoldEngine::parse_period(std::string_view digits) {
  std::uint64_t v = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (r.ec == std::errc::result_out_of_range) {
    warn(kWarnCountOverflow, "period above 2^64-1, counted as 2^64-1", digits);
    v = std::numeric_limits<std::uint64_t>::max();
  }
  return v == 0 ? 1 : v;
}

void FoldEngine::begin(std::string_view comm, std::string_view pid, std::string_view tid, int cpu,
                       std::uint64_t period) {
  // A header does not drop the frames collected so far: two headers without a blank line
  // between them make one sample with the second header's name and period (as the reference).
  active_ = true;
  after_filtered_ = false;
  pname_.assign(comm);
  if (opt_.include_pid) {
    pname_ += '-';
    pname_ += pid;
    if (opt_.include_tid) {
      pname_ += '/';
      pname_ += tid;
    }
  }
  std::replace(pname_.begin(), pname_.end(), ' ', '_');
  java_ = pname_.compare(0, 4, "java") == 0;
  pname_id_ = names_.intern(pname_);
  cpu_ = cpu;
  period_ = period;
}

void FoldEngine::header(const HeaderLine& h) {
  event_id_ = kNoEvent;
  if (h.has_event && !accept_event(h.event)) {
    after_filtered_ = !active_;
    return;
  }
  begin(h.comm, h.pid_text, h.tid_text, h.cpu, h.has_event || h.frame ? parse_period(h.period) : 1);
  if (h.frame) {
    frame(*h.frame);
    end_sample();
  }
}

void FoldEngine::begin_typed(std::string_view comm, std::int64_t pid, std::int64_t tid, int cpu,
                             std::uint64_t period) {
  char pid_buf[24], tid_buf[24];
  std::string_view pid_text = "?", tid_text;
  // The text path's rule: one number, or TID 0, means "TID only" (perf prints `swapper 0/0`).
  std::int64_t shown_tid = tid;
  std::int64_t shown_pid = pid;
  if (shown_tid <= 0 || shown_pid == kUnknownPid) {
    shown_tid = shown_pid != kUnknownPid ? shown_pid : tid;
    shown_pid = kUnknownPid;
  }
  if (shown_pid != kUnknownPid) {
    auto r = std::to_chars(pid_buf, pid_buf + sizeof pid_buf, shown_pid);
    pid_text = std::string_view(pid_buf, static_cast<std::size_t>(r.ptr - pid_buf));
  }
  {
    auto r = std::to_chars(tid_buf, tid_buf + sizeof tid_buf, shown_tid < 0 ? 0 : shown_tid);
    tid_text = std::string_view(tid_buf, static_cast<std::size_t>(r.ptr - tid_buf));
  }
  begin(comm.empty() ? std::string_view("[unknown]") : comm, pid_text, tid_text, cpu,
        period == 0 ? 1 : period);
}

FrameCache::Value FoldEngine::typed_frame(const FrameView& fv) {
  RawFrame f{{},
             fv.symbol.empty() ? std::string_view("[unknown]") : fv.symbol,
             fv.module.empty() ? std::string_view("[unknown]") : fv.module,
             fv.address};
  // Keyed by what the tidied name depends on: the address only where --addrs shows it.
  typed_key_.assign(f.func);
  typed_key_ += '\0';
  typed_key_ += f.module;
  if (opt_.include_addrs && f.func.find("[unknown]") != std::string_view::npos) {
    typed_key_ += '\0';
    typed_key_.append(reinterpret_cast<const char*>(&fv.address), sizeof fv.address);
  }
  std::uint64_t h = FrameCache::hash(typed_key_, java_);
  FrameCache::Value v;
  if (typed_cache_.find(typed_key_, h, java_, v)) return v;
  v.present = tidy_frame(f, v.matched);
  if (v.present) v.id = names_.intern(tidy_group_);
  typed_cache_.insert(typed_key_, h, java_, v);
  return v;
}

void FoldEngine::add_sample(const StackSampleView& s) {
  if (active_) end_sample();
  event_id_ = kNoEvent;
  if (!s.event.empty() && !accept_event(s.event)) return;
  begin_typed(s.comm, s.pid, s.tid, s.cpu, s.period);
  for (const FrameView& fv : s.frames) {
    if (skipped_) break;  // --skip-after matched: the rootward frames go
    push_frame(typed_frame(fv));
  }
  end_sample();
}

void FoldEngine::add_profile(const Profile& p) {
  if (active_) end_sample();
  // Per stack and Java-ness (the only process property tidying reads): the tidied frames, leaf
  // first, after --skip-after, in `frames`.
  struct StackFrames {
    std::uint32_t first = 0, size = 0;
    bool done = false, skipped = false;
  };
  std::vector<StackFrames> by_stack(p.stacks().size() * 2);
  std::vector<std::uint32_t> frames;
  std::vector<FrameView> scratch;
  // Per (comm, pid, tid) as the options show them: the process frame and its Java-ness.
  struct Process {
    StringId comm;
    std::int64_t pid, tid;
    bool operator==(const Process&) const = default;
  };
  struct ProcessHash {
    std::size_t operator()(const Process& k) const noexcept {
      std::uint64_t v[3] = {k.comm, static_cast<std::uint64_t>(k.pid),
                            static_cast<std::uint64_t>(k.tid)};
      return hash_bytes(reinterpret_cast<const char*>(v), sizeof v);
    }
  };
  std::unordered_map<Process, std::pair<std::uint32_t, bool>, ProcessHash> processes;
  for (const Sample& s : p.samples()) {
    event_id_ = kNoEvent;
    if (std::string_view ev = p.str(s.event); !ev.empty() && !accept_event(ev)) continue;
    Process key{s.comm, opt_.include_pid ? s.pid : 0, opt_.include_pid ? s.tid : 0};
    auto [it, fresh] = processes.try_emplace(key);
    if (fresh) {
      begin_typed(p.str(s.comm), s.pid, s.tid, s.cpu, s.period);
      it->second = {pname_id_, java_};
    } else {
      active_ = true;
      after_filtered_ = false;
      pname_id_ = it->second.first;
      java_ = it->second.second;
      cpu_ = s.cpu;
      period_ = s.period == 0 ? 1 : s.period;
    }
    StackFrames& sf = by_stack[std::size_t{s.stack} * 2 + java_];
    if (!sf.done) {
      sf.first = static_cast<std::uint32_t>(frames.size());
      for (LocationId loc : p.stack(s.stack)) {
        scratch.clear();
        p.append_frames(loc, scratch);
        for (const FrameView& fv : scratch) {
          if (skipped_) break;
          push_frame(typed_frame(fv));
        }
      }
      frames.insert(frames.end(), frame_ids_.begin(), frame_ids_.end());
      sf.size = static_cast<std::uint32_t>(frame_ids_.size());
      sf.skipped = skipped_;
      sf.done = true;
    } else {
      frame_ids_.assign(frames.begin() + sf.first, frames.begin() + sf.first + sf.size);
      skipped_ = sf.skipped;
    }
    end_sample();
  }
}

bool FoldEngine::tidy_frame(const RawFrame& f, bool& matched) {
  std::string& out = tidy_group_;
  out.clear();
  matched = false;
  std::string_view func = f.func;
  // `sym+0x1f` (perf script -F+symoff, Linux 4.8+): lowercase hex only, as the reference.
  if (auto off = func.rfind("+0x");
      off != std::string_view::npos && off + 3 < func.size() &&
      std::all_of(func.begin() + static_cast<std::ptrdiff_t>(off) + 3, func.end(), is_lower_hex))
    func = func.substr(0, off);
  if (!func.empty() && func.front() == '(') return false;  // `(anonymous)`-style process names
  // Java inline chains `outer->inner->leaf`: one frame per piece, outer first, the inner ones
  // marked _[i]. Split as Perl's split does: trailing empty pieces vanish.
  while (func.size() >= 2 && func.substr(func.size() - 2) == "->") func.remove_suffix(2);
  if (func.empty()) return false;
  for (bool inlined = false;; inlined = true) {
    std::size_t arrow = func.find("->");
    if (piece(func.substr(0, arrow), f, inlined)) {
      // --skip-after: the pieces before the match are rootward of it and go.
      out.clear();
      matched = true;
    } else if (inlined) {
      out += ';';
    }
    out += piece_;
    if (arrow == std::string_view::npos) break;
    func.remove_prefix(arrow + 2);
  }
  return true;
}

void FoldEngine::push_frame(const FrameCache::Value& v) {
  if (skipped_ || !v.present) return;
  if (v.matched) skipped_ = true;
  frame_ids_.push_back(v.id);
}

void FoldEngine::frame(const RawFrame& f) {
  if (skipped_) return;
  FrameCache::Value v;
  v.present = tidy_frame(f, v.matched);
  if (v.present) v.id = names_.intern(tidy_group_);
  push_frame(v);
}

void FoldEngine::cached_frame(FrameCache& cache, std::string_view key, std::uint64_t h,
                              const RawFrame& f) {
  if (skipped_) return;
  FrameCache::Value v;
  v.present = tidy_frame(f, v.matched);
  if (v.present) v.id = names_.intern(tidy_group_);
  cache.insert(key, h, java_, v);
  push_frame(v);
}

bool FoldEngine::piece(std::string_view func, const RawFrame& f, bool inlined) {
  std::string& out = piece_;
  out.clear();
  // A module name in brackets is not a signature: its parentheses stay, so a deleted or memfd
  // object (`[unknown] (/memfd:jit (deleted))`) becomes `[memfd:jit (deleted)]`, not
  // `[memfd:jit ` (the reference never sees such a module: its MODULE has no spaces).
  bool module_name = false;
  if (func == "[unknown]") {
    module_name = true;
    scratch_.assign(1, '[');
    scratch_ += f.module != "[unknown]" ? basename(f.module) : std::string_view("unknown");
    if (opt_.include_addrs) {
      scratch_ += " <";
      if (f.address) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, *f.address, 16);
        scratch_.append(buf, r.ptr);
      } else {
        scratch_ += f.pc;
      }
      scratch_ += '>';
    }
    scratch_ += ']';
    func = scratch_;
  }
  std::size_t cut = module_name ? std::string_view::npos : argument_cut(func);
  if (cut != std::string_view::npos) func = func.substr(0, cut);
  for (char c : func) {
    if (c == ';') {
      out += ':';
    } else if (c != '"' && c != '\'') {
      out += c;
    }
  }
  if (java_ && !out.empty() && out.front() == 'L' && out.find('/') != std::string::npos)
    out.erase(0, 1);
  bool matched =
      !opt_.skip_after.empty() &&
      std::find(opt_.skip_after.begin(), opt_.skip_after.end(), out) != opt_.skip_after.end();
  if (inlined) {
    if (out.find("_[i]") == std::string::npos) out += "_[i]";
  } else if (opt_.annotate_kernel && is_kernel_module(f.module)) {
    out += "_[k]";
  } else if (opt_.annotate_jit && (is_perf_map(f.module) || is_jitdump(f.module))) {
    if (out.find("_[j]") == std::string::npos) out += "_[j]";
  }
  return matched;
}

void FoldEngine::end_sample() {
  if (active_) {
    key_.clear();
    // Kept even after --skip-after: counts of different events never share a frame.
    if (event_id_ != kNoEvent) key_.push_back(event_id_);
    if (!skipped_) {
      if (opt_.per_cpu) {
        scratch_ = "cpu-";
        if (cpu_ < 0) {
          scratch_ += '?';
        } else {
          append_u64(scratch_, static_cast<std::uint64_t>(cpu_));
        }
        key_.push_back(names_.intern(scratch_));
      }
      key_.push_back(pname_id_);
    }
    // Frames were collected leaf first; the folded line runs root first.
    key_.insert(key_.end(), frame_ids_.rbegin(), frame_ids_.rend());
    if (!stacks_.add(key_, period_))
      warn(kWarnCountOverflow, "a stack's count passed 2^64-1; kept at 2^64-1",
           names_.name(pname_id_));
    ++stats_.samples;
  }
  active_ = false;
  skipped_ = false;
  frame_ids_.clear();
}

bool FoldEngine::absorb(const FoldEngine& other) {
  std::vector<std::uint32_t> ours(other.names_.size());
  for (std::uint32_t id = 0; id < ours.size(); ++id)
    ours[id] = names_.intern(other.names_.name(id));
  bool ok = true;
  std::vector<std::uint32_t> key;
  other.stacks_.for_each([&](std::span<const std::uint32_t> ids, std::uint64_t n) {
    key.clear();
    for (std::uint32_t id : ids) key.push_back(ours[id]);
    ok &= stacks_.add(key, n);
  });
  return ok;
}

FoldedCounts FoldEngine::build_counts() const {
  FoldedCounts counts;
  counts.reserve(stacks_.size());
  std::string key;
  stacks_.for_each([&](std::span<const std::uint32_t> ids, std::uint64_t n) {
    key.clear();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) key += ';';
      key += names_.name(ids[i]);
    }
    counts.add(key, n);
  });
  return counts;
}

bool FoldEngine::line(std::string_view l) {
  ++block_lines_;
  // People pass perf.data itself; say so instead of listing binary "lines".
  if (++stats_.lines == 1 && l.substr(0, 8) == "PERFILE2") stats_.perf_data = true;
  if (l.empty()) {
    end_sample();
    after_filtered_ = false;
    return true;
  }
  if (l.front() == '#') return true;
  // Divergence: CRLF input reads like LF input (the reference keeps the '\r', so no sample of a
  // CRLF file ever ends).
  if (l.back() == '\r') {
    l.remove_suffix(1);
    if (l.empty()) {
      end_sample();
      after_filtered_ = false;
      return true;
    }
  }
  std::uint64_t line_hash = 0;
  if (is_ws(l.front())) {
    if (active_) {
      // The hot path: a stack line of a sample being collected.
      if (skipped_) return true;
      line_hash = FrameCache::hash(l, java_);
      FrameCache::Value v;
      if (frame_cache_.find(l, line_hash, java_, v)) {
        push_frame(v);
        return true;
      }
    } else if (after_filtered_) {
      // Stack lines of a sample the event filter dropped are not looked at.
      return true;
    } else {
      // Divergence: without call graphs perf prints one line per sample, the comm padded to 16
      // columns and the frame after the event (`   false 39654 1.5: 1 cycles:u:  ffff _start
      // (/lib/ld.so)`). The reference reads that as a stack line and loses it; here it is a
      // sample. Only tried between samples, so it costs nothing inside call-graph samples.
      std::size_t i = 0;
      while (i < l.size() && is_ws(l[i])) ++i;
      HeaderLine h;
      if (parse_header(l.substr(i), h) && h.frame) {
        header(h);
        return true;
      }
    }
  } else {
    HeaderLine h;
    if (parse_header(l, h)) {
      header(h);
      return true;
    }
  }
  RawFrame f;
  if (parse_frame(l, f)) {
    if (active_) {
      if (line_hash == 0) line_hash = FrameCache::hash(l, java_);
      cached_frame(frame_cache_, l, line_hash, f);
    } else if (!after_filtered_) {
      warn(kWarnWeirdStackLine, "stack line outside any sample (no header line before it)", l);
    }
    return !strict_error_;
  }
  if (is_ws(l.front()))
    warn(kWarnWeirdStackLine, "unrecognized stack line (expected 'ADDRESS SYMBOL (MODULE)')", l);
  else warn(kWarnWeirdLine, "unrecognized line (neither a sample header nor a stack line)", l);
  return !strict_error_;
}

bool FoldEngine::feed(std::string_view bytes) {
  if (strict_error_) return false;
  if (!partial_.empty()) {
    const void* nl = std::memchr(bytes.data(), '\n', bytes.size());
    if (nl == nullptr) {
      partial_.append(bytes);
      return true;
    }
    std::size_t k = static_cast<std::size_t>(static_cast<const char*>(nl) - bytes.data());
    partial_.append(bytes.data(), k);
    bool ok = line(partial_);
    partial_.clear();
    if (!ok) return false;
    bytes.remove_prefix(k + 1);
  }
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (nl == nullptr) {
      partial_.assign(p, static_cast<std::size_t>(end - p));
      break;
    }
    const char* e = static_cast<const char*>(nl);
    if (!line(std::string_view(p, static_cast<std::size_t>(e - p)))) return false;
    p = e + 1;
  }
  return true;
}

bool FoldEngine::finish() {
  if (!partial_.empty()) {
    bool ok = line(partial_);
    partial_.clear();
    if (!ok) return false;
  }
  // Divergence: the last sample counts even without a blank line after it (inferno and
  // FlameGraph PR #231 do the same; the reference drops it).
  end_sample();
  after_filtered_ = false;
  return !strict_error_;
}

}  // namespace prof::folder::detail
