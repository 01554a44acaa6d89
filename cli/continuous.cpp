#include "continuous.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "collector_command.h"
#include "pipeline.h"
#include "prof/cli/support.h"
#include "prof/collector/advice.h"
#include "prof/collector/parse.h"
#include "prof/common/event_name.h"
#include "prof/interop/convert.h"
#include "prof/interop/pprof.h"
#include "push.h"

namespace prof::app {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

std::uint64_t clock_ns(clockid_t id) {
  timespec ts;
  ::clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

WindowCutter::WindowCutter(symbolizer::Symbolizer& sym, WindowPlan plan, WindowHandler handler)
    : sym_(sym), plan_(plan), handler_(std::move(handler)) {
  current_ = window_at(0);
}
WindowCutter::~WindowCutter() = default;

Window WindowCutter::window_at(std::uint64_t index) const {
  Window w;
  w.index = index;
  w.start_mono_ns = plan_.first_start_mono_ns + index * plan_.every_ns;
  w.end_mono_ns = w.start_mono_ns + plan_.every_ns;
  w.start_unix_ns = w.start_mono_ns + plan_.mono_to_unix_ns;
  w.end_unix_ns = w.end_mono_ns + plan_.mono_to_unix_ns;
  return w;
}

Result<void> WindowCutter::on_start(const std::vector<perf::EventAttr>& attrs) {
  decoder_ = std::make_unique<perf::RecordDecoder>(make_record_decoder(attrs));
  feeder_ = std::make_unique<symbolizer::RecordFeeder>(*decoder_, sym_);
  feeder_->hold_from(is_last() ? UINT64_MAX : current_.end_mono_ns);
  event_names_.clear();
  for (const auto& a : attrs)
    event_names_.push_back(a.name.empty() ? perf::event_name(a.attr) : a.name);
  return ok();
}

Result<void> WindowCutter::on_record(std::span<const std::uint8_t> record) {
  if (auto r = perf::record_of(record)) feeder_->add(*r);
  return ok();
}

Result<void> WindowCutter::on_round_end() {
  feeder_->round_end();
  return tick(clock_ns(CLOCK_MONOTONIC));
}

Result<void> WindowCutter::tick(std::uint64_t now_mono_ns) {
  while (feeder_ && !is_last() && now_mono_ns >= current_.end_mono_ns + plan_.grace_ns)
    PROF_TRY(cut(current_.end_mono_ns));
  return ok();
}

Result<void> WindowCutter::cut(std::uint64_t end_mono_ns) {
  // Everything stamped before the end reaches the symbolizer, nothing after it: a record that
  // is still in flight past the grace lands in the next window (in one window, never two).
  feeder_->deliver_before(end_mono_ns);
  sym_.resolve();
  Window w = current_;
  w.end_mono_ns = std::max(end_mono_ns, w.start_mono_ns);
  w.end_unix_ns = w.end_mono_ns + plan_.mono_to_unix_ns;
  Result<void> handled = handler_(sym_, w);
  // Samples and stacks go, resolved locations and every cache stay for the next window; the
  // maps of processes that exited in this window go (their samples are resolved).
  sym_.clear_samples_and_stacks();
  sym_.forget_exited();
  current_ = window_at(current_.index + 1);
  feeder_->hold_from(is_last() ? UINT64_MAX : current_.end_mono_ns);
  return handled;
}

Result<void> WindowCutter::finish(std::uint64_t stop_mono_ns) {
  if (!feeder_) return ok();
  while (!is_last() && current_.end_mono_ns <= stop_mono_ns) PROF_TRY(cut(current_.end_mono_ns));
  feeder_->finish();
  return cut(stop_mono_ns);
}

Profile window_profile(const Profile& p, bool thread_labels) {
  // Ids are remapped as samples first use them: the window's own order, and nothing it does
  // not use (the symbolizer's model keeps every location it resolved, for later windows).
  Profile out(Profile::Options{.merge_samples = !thread_labels});
  constexpr std::uint32_t kNone = UINT32_MAX;
  std::vector<std::uint32_t> loc_map(p.locations().size(), kNone);
  std::vector<std::uint32_t> fn_map(p.functions().size(), kNone);
  std::vector<std::uint32_t> map_map(p.mappings().size(), kNone);
  std::vector<StackId> stack_map(p.stacks().size(), kNone);
  auto str = [&](StringId id) { return id ? out.intern(p.str(id)) : StringId{0}; };
  std::vector<Line> lines;
  std::vector<LocationId> locs;
  std::vector<Label> labels;
  for (const Sample& s : p.samples()) {
    Sample t = s;
    if (stack_map[s.stack] == kNone) {
      locs.clear();
      for (LocationId l : p.stack(s.stack)) {
        if (loc_map[l] == kNone) {
          const Location& loc = p.locations()[l];
          MappingId m = 0;
          if (loc.mapping) {
            if (map_map[loc.mapping] == kNone) {
              const Mapping& pm = p.mappings()[loc.mapping];
              map_map[loc.mapping] = out.add_mapping(p.str(pm.path), p.str(pm.build_id));
            }
            m = map_map[loc.mapping];
          }
          lines.clear();
          for (Line ln : p.lines(loc)) {
            if (ln.function) {
              if (fn_map[ln.function] == kNone) {
                const Function& f = p.functions()[ln.function];
                fn_map[ln.function] = out.add_function(p.str(f.name), p.str(f.filename));
              }
              ln.function = fn_map[ln.function];
            }
            ln.srcline = str(ln.srcline);
            lines.push_back(ln);
          }
          loc_map[l] = out.add_location(loc.address, m, std::span<const Line>(lines));
        }
        locs.push_back(loc_map[l]);
      }
      stack_map[s.stack] = out.intern_stack(locs);
    }
    t.stack = stack_map[s.stack];
    if (!thread_labels) {
      t.pid = t.tid = kUnknownPid;
      t.cpu = -1;
    }
    t.comm = str(s.comm);
    t.event = str(s.event);
    if (s.labels) {
      labels.clear();
      for (Label l : p.labels(s.labels)) {
        l.key = str(l.key);
        l.str = str(l.str);
        l.unit = str(l.unit);
        labels.push_back(l);
      }
      t.labels = out.intern_labels(labels);
    }
    out.add_sample(t);
  }
  return out;
}

// ---- --output-dir

Result<std::uint64_t> parse_size(std::string_view word, std::string_view option) {
  auto bad = [&] {
    return Error{Errc::kUsage, std::string(option) + " '" + std::string(word) +
                                   "': expected a size in bytes such as 500M, 2G, 64k or 1000"};
  };
  std::size_t i = 0;
  std::uint64_t n = 0;
  for (; i < word.size() && word[i] >= '0' && word[i] <= '9'; ++i) {
    if (n > (UINT64_MAX - 9) / 10) return bad();
    n = n * 10 + static_cast<std::uint64_t>(word[i] - '0');
  }
  if (i == 0) return bad();
  std::string_view unit = word.substr(i);
  if (unit.size() > 1 && (unit.back() == 'B' || unit.back() == 'b')) unit.remove_suffix(1);
  if (unit.size() > 1 && unit.back() == 'i') unit.remove_suffix(1);
  int shift = 0;
  if (unit.empty() || unit == "B" || unit == "b") shift = 0;
  else if (unit == "k" || unit == "K") shift = 10;
  else if (unit == "m" || unit == "M") shift = 20;
  else if (unit == "g" || unit == "G") shift = 30;
  else if (unit == "t" || unit == "T") shift = 40;
  else return bad();
  if (shift && n > (UINT64_MAX >> shift)) return bad();
  return n << shift;
}

std::string WindowDirectory::file_name(const Window& w) const {
  const time_t secs = static_cast<time_t>(w.start_unix_ns / 1000000000ull);
  tm t;
  ::gmtime_r(&secs, &t);
  char stamp[40];
  std::snprintf(stamp, sizeof stamp, "%04d%02d%02dT%02d%02d%02d.%03uZ", t.tm_year + 1900,
                t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                static_cast<unsigned>(w.start_unix_ns / 1000000ull % 1000));
  return options_.host + "_" + stamp + options_.extension;
}

Result<void> WindowDirectory::prepare() const {
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec)
    return Error{Errc::kIo,
                 "--output-dir '" + options_.dir + "': cannot create it: " + ec.message()};
  if (::access(options_.dir.c_str(), W_OK | X_OK) != 0)
    return Error{Errc::kIo,
                 "--output-dir '" + options_.dir + "': not writable: " + errno_text(errno)};
  return ok();
}

Result<std::string> WindowDirectory::write(const Window& w, std::string_view bytes) {
  const std::string name = file_name(w);
  const std::string path = options_.dir + "/" + name;
  const std::string tmp = options_.dir + "/." + name + ".tmp";
  PROF_TRY(write_file_atomically(tmp, path, bytes));
  PROF_TRY(retain());
  return path;
}

Result<void> WindowDirectory::retain() {
  if (options_.keep == 0 && options_.max_bytes == 0) return ok();
  const std::string prefix = options_.host + "_";
  std::vector<std::pair<std::string, std::uint64_t>> files;  // ours only, oldest first by name
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(options_.dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0 || n.size() < options_.extension.size() ||
        n.compare(n.size() - options_.extension.size(), std::string::npos, options_.extension) != 0)
      continue;
    std::error_code sec;
    const auto size = e.file_size(sec);
    files.emplace_back(n, sec ? 0 : size);
  }
  if (ec)
    return Error{Errc::kIo, "--output-dir '" + options_.dir + "': cannot list it: " + ec.message()};
  std::sort(files.begin(), files.end());
  std::uint64_t total = 0;
  for (const auto& f : files) total += f.second;
  // The newest window always stays, even alone over --max-bytes.
  for (std::size_t i = 0; i + 1 < files.size(); ++i) {
    const bool too_many = options_.keep && files.size() - i > options_.keep;
    const bool too_big = options_.max_bytes && total > options_.max_bytes;
    if (!too_many && !too_big) break;
    const std::string path = options_.dir + "/" + files[i].first;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return Error{Errc::kIo, "'" + path + "': cannot remove it: " + errno_text(errno)};
    total -= files[i].second;
    ++removed_;
  }
  return ok();
}

Result<void> write_file_atomically(const std::string& tmp, const std::string& path,
                                   std::string_view bytes) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error{Errc::kIo, "'" + tmp + "': cannot create it: " + errno_text(errno)};
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Error{Errc::kIo, "'" + tmp + "': cannot write it: " + errno_text(e)};
    }
    done += static_cast<std::size_t>(n);
  }
  // Data on disk before the name: a crash leaves the old state or the whole file, never half.
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return Error{Errc::kIo, "'" + tmp + "': cannot write it: " + errno_text(e)};
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return Error{Errc::kIo, "'" + path + "': cannot rename into it: " + errno_text(e)};
  }
  return ok();
}

// ---- options

void add_continuous_options(po::options_description& d) {
  d.add_options()("every", po::value<std::string>()->value_name("DURATION"),
                  "cut the capture into windows this long (10s, 1m), each its own profile "
                  "(pprof unless --format), until DURATION or SIGINT/SIGTERM; needs "
                  "--output-dir and/or --push")(
      "output-dir", po::value<std::string>()->value_name("DIR"),
      "with --every: one file per window in DIR, named HOST_START.pb.gz (UTC), written "
      "atomically")("keep", po::value<std::size_t>()->value_name("N"),
                    "with --output-dir: keep the newest N window files (default: all)")(
      "max-bytes", po::value<std::string>()->value_name("SIZE"),
      "with --output-dir: keep at most SIZE bytes of window files (500M, 2G; default: no "
      "limit)");
  add_push_options(d);
}

bool wants_continuous(const po::variables_map& vm) {
  return vm.count("every") || vm.count("output-dir") || vm.count("push");
}

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string h = buf;
  for (char& c : h)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) c = '_';
  return h;
}

std::string extension_of(const std::string& format) {
  if (format == "pprof") return ".pb.gz";
  if (format == "svg") return ".svg";
  if (format == "folded") return ".folded";
  if (format == "speedscope") return ".speedscope.json";
  return ".perf-script.txt";
}

}  // namespace

int continuous_command(const po::variables_map& vm, ContinuousRequest req) {
  auto usage = [](const std::string& m) { return cli::usage_error(m, ""); };
  if (!vm.count("every"))
    return usage("--output-dir and --push cut the capture into windows: add --every DURATION");
  auto every = collector::parse_duration(vm["every"].as<std::string>());
  if (!every) return usage("--every: " + every.error().message);
  if (every->count() < 100'000'000) return usage("--every: windows of at least 100ms");
  if (!vm.count("output-dir") && !vm.count("push"))
    return usage("--every: say where windows go: --output-dir DIR and/or --push URL");
  if (vm.count("save") || vm.count("off-cpu"))
    return usage("--every: not with --save or --off-cpu");
  if (vm.count("output")) return usage("--every writes one file per window: use --output-dir");
  if ((vm.count("keep") || vm.count("max-bytes")) && !vm.count("output-dir"))
    return usage("--keep and --max-bytes apply to --output-dir");
  if (vm.count("push") && req.format != "pprof")
    return usage("--push sends pprof: drop --format " + req.format);
  const std::string host = host_name();

  std::optional<WindowDirectory> dir;
  if (vm.count("output-dir")) {
    WindowDirectory::Options o;
    o.dir = vm["output-dir"].as<std::string>();
    o.host = host;
    o.extension = extension_of(req.format);
    if (vm.count("keep")) {
      o.keep = vm["keep"].as<std::size_t>();
      if (o.keep == 0) return usage("--keep 0: keep at least one window");
    }
    if (vm.count("max-bytes")) {
      auto s = parse_size(vm["max-bytes"].as<std::string>(), "--max-bytes");
      if (!s) return usage(s.error().message);
      o.max_bytes = *s;
    }
    dir.emplace(o);
    if (auto p = dir->prepare(); !p) return cli::report_error(p.error());
  }
  std::unique_ptr<Pusher> pusher;
  if (vm.count("push")) {
    auto po = push_options_from(vm, host, req.sampling.options);
    if (!po)
      return po.error().code == Errc::kUsage ? usage(po.error().message)
                                             : cli::report_error(po.error());
    po->quiet = req.quiet;
    auto p = Pusher::start(std::move(*po), req.warnings);
    if (!p) return cli::report_error(p.error());
    pusher = std::move(*p);
  }

  req.sampling.options.clockid = CLOCK_MONOTONIC;
  // Objects stay open from window to window (a window's new addresses are mostly in objects
  // seen before): the most used 64, a bound on what they hold.
  req.symbols.kept_objects = 64;
  collector::install_stop_signals();
  auto col = collector::Collector::open(req.sampling.options, req.warnings);
  if (!col) return cli::report_error(col.error());
  symbolizer::Symbolizer sym(req.symbols, req.warnings);
  CaptureInfo info;
  info.attrs = (*col)->attrs();
  for (const auto& a : info.attrs)
    info.event_names.push_back(a.name.empty() ? perf::event_name(a.attr) : a.name);

  std::uint64_t written = 0, skipped = 0;
  WindowHandler handle = [&](symbolizer::Symbolizer& s, const Window& w) -> Result<void> {
    CaptureInfo wi = info;
    wi.start_unix_ns = w.start_unix_ns;
    wi.duration_ns = w.duration_ns();
    Result<std::string> bytes = std::string();
    if (pusher) {
      // A server makes a series of each distinct label set: pid, tid and cpu would make one
      // per thread. Pushed windows keep comm, event and cgroup (the files keep everything).
      Profile one = window_profile(s.profile(), /*thread_labels=*/false);
      fill_profile_info(one, wi);
      auto pushed = interop::write_pprof(one);
      if (!pushed) return pushed.error();
      PROF_TRY(pusher->enqueue(w, *pushed));
      if (!dir) {
        ++written;
        return ok();
      }
    }
    if (req.format == "pprof") {
      // Only what this window's samples use: the symbolizer's model keeps every location it
      // has resolved, for the windows to come.
      Profile one = window_profile(s.profile());
      fill_profile_info(one, wi);
      bytes = interop::write_pprof(one);
    } else {
      bytes = req.formatter(s, wi);
      if (!bytes && bytes.error().code == Errc::kNoData) {
        ++skipped;  // an empty window has no flame graph; pprof writes it (an empty profile)
        return ok();
      }
    }
    if (!bytes) return bytes.error();
    if (dir) PROF_TRY(dir->write(w, *bytes));
    ++written;
    return ok();
  };

  WindowPlan plan;
  plan.every_ns = static_cast<std::uint64_t>(every->count());
  if (req.sampling.stop.duration) {
    const auto total = static_cast<std::uint64_t>(req.sampling.stop.duration->count());
    plan.max_windows = std::max<std::uint64_t>(1, (total + plan.every_ns - 1) / plan.every_ns);
  }
  plan.first_start_mono_ns = clock_ns(CLOCK_MONOTONIC);
  plan.mono_to_unix_ns = clock_ns(CLOCK_REALTIME) - plan.first_start_mono_ns;
  WindowCutter cutter(sym, plan, handle);
  Result<void> tick_error = ok();
  collector::Collector* c = col->get();
  collector::set_signal_target(c);
  auto stats = c->run(req.sampling.stop, cutter, [&](const collector::Progress&) {
    if (!tick_error) return;
    tick_error = cutter.tick(clock_ns(CLOCK_MONOTONIC));
    if (!tick_error) c->request_stop();
  });
  collector::set_signal_target(nullptr);
  Result<void> last = ok();
  if (stats && tick_error) last = cutter.finish(clock_ns(CLOCK_MONOTONIC));
  PushStats pushed;
  if (pusher) pushed = pusher->stop();
  if (!stats) return cli::report_error(stats.error());
  if (!tick_error) return cli::report_error(tick_error.error());
  if (!last) return cli::report_error(last.error());
  if (!req.quiet) {
    if (auto hint = collector::lost_samples_hint(*stats); !hint.empty()) cli::print_warning(hint);
    std::string line = std::to_string(cutter.windows_cut()) + " windows, " +
                       std::to_string(stats->samples) + " samples";
    if (skipped) line += " (" + std::to_string(skipped) + " empty, not written)";
    if (dir) {
      line += "; " + std::to_string(written) + " written to " + vm["output-dir"].as<std::string>();
      if (dir->removed()) line += " (" + std::to_string(dir->removed()) + " old ones removed)";
    }
    if (pusher) line += "; " + describe(pushed);
    cli::print_notice(line);
  }
  return collector::command_exit_status(*stats, req.quiet);
}

}  // namespace prof::app
