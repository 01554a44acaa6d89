// Always-on profiling: `profile --every DURATION` cuts one live capture into contiguous windows
// and hands each on as a profile of its own — to files in --output-dir (with retention) and/or
// to a Pyroscope-compatible server (--push, see push.h).
//
// Pipeline position: cli/, beside the all-in-one pipeline. The collector runs once; a
// WindowCutter (a collector::RecordSink) feeds one Symbolizer for the whole run, so its caches
// (ELF and DWARF files, kallsyms, the maps of processes that have exited) serve every window,
// and cuts the sample stream on the samples' own timestamps (CLOCK_MONOTONIC, attr.clockid):
// window i holds exactly the samples with t_i <= time < t_i+1.
//
//   WindowCutter cut(sym, {.first_start = t0, .every = 2s}, on_window);
//   collector->run(stop, cut, cut.ticker());   // on_window(sym, window) per window
//   cut.finish(stop_time);                      // the last (partial) window
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector_command.h"
#include "export.h"
#include "prof/collector/collector.h"
#include "prof/common/record_decoder.h"
#include "prof/common/result.h"
#include "prof/common/warnings.h"
#include "prof/symbolizer/record_feeder.h"
#include "prof/symbolizer/symbolizer.h"

namespace prof::app {

// One window's bounds: monotonic (the samples' clock) and on the wall clock.
struct Window {
  std::uint64_t index = 0;
  std::uint64_t start_mono_ns = 0, end_mono_ns = 0;  // [start, end)
  std::uint64_t start_unix_ns = 0, end_unix_ns = 0;
  std::uint64_t duration_ns() const { return end_mono_ns - start_mono_ns; }
};

struct WindowPlan {
  std::uint64_t first_start_mono_ns = 0;  // CLOCK_MONOTONIC when sampling started
  std::uint64_t mono_to_unix_ns = 0;      // CLOCK_REALTIME - CLOCK_MONOTONIC at that time
  std::uint64_t every_ns = 0;             // window length
  // With a total DURATION: the number of windows (the last one also takes the samples of the
  // moments the capture ran past DURATION, so a run never ends with a sliver of a window).
  // 0 = unbounded (until a stop signal; the last window is then partial).
  std::uint64_t max_windows = 0;
  // How long after a window's end it is cut, so that the records stamped before the end have
  // left the rings and the reader queue (the collector drains every 250 ms).
  std::uint64_t grace_ns = 750'000'000;
};

// Called with the symbolizer holding exactly one window's samples (resolved); the symbolizer's
// samples are dropped afterwards. An error stops the capture.
using WindowHandler = std::function<Result<void>(symbolizer::Symbolizer&, const Window&)>;

class WindowCutter final : public collector::RecordSink {
 public:
  WindowCutter(symbolizer::Symbolizer& sym, WindowPlan plan, WindowHandler handler);
  ~WindowCutter() override;
  Result<void> on_start(const std::vector<perf::EventAttr>& attrs) override;
  Result<void> on_record(std::span<const std::uint8_t> record) override;
  Result<void> on_round_end() override;
  // Cuts every window whose end lies more than the grace before `now_mono_ns`.
  Result<void> tick(std::uint64_t now_mono_ns);
  // After the run: cuts what is due, then the last window, which ends at `stop_mono_ns` (or
  // where the plan's last window ends, if later).
  Result<void> finish(std::uint64_t stop_mono_ns);
  const std::vector<std::string>& event_names() const { return event_names_; }
  std::uint64_t windows_cut() const { return current_.index; }

 private:
  Result<void> cut(std::uint64_t end_mono_ns);
  bool is_last() const { return plan_.max_windows && current_.index + 1 >= plan_.max_windows; }
  Window window_at(std::uint64_t index) const;

  symbolizer::Symbolizer& sym_;
  WindowPlan plan_;
  WindowHandler handler_;
  Window current_;
  std::unique_ptr<perf::RecordDecoder> decoder_;
  std::unique_ptr<symbolizer::RecordFeeder> feeder_;
  std::vector<std::string> event_names_;
};

// The profile of one window: `p`'s samples with only the locations, functions, mappings and
// strings they use (pprof writes every location a profile has). Without `thread_labels` the
// samples lose pid, tid and cpu and merge where they then agree (what --push sends).
Profile window_profile(const Profile& p, bool thread_labels = true);

// Where windows go: --output-dir files, named by host and window start, written atomically
// (a temporary file renamed into place), the oldest removed beyond --keep files or --max-bytes.
class WindowDirectory {
 public:
  struct Options {
    std::string dir;
    std::string host;
    std::string extension = ".pb.gz";  // by --format
    std::size_t keep = 0;              // files kept; 0 = no limit
    std::uint64_t max_bytes = 0;       // bytes kept; 0 = no limit
  };
  explicit WindowDirectory(Options options) : options_(std::move(options)) {}
  // Creates the directory if needed and checks that it is writable.
  Result<void> prepare() const;
  // Writes one window's file and applies the retention; returns its path.
  Result<std::string> write(const Window& w, std::string_view bytes);
  // "HOST_20261207T023000.000Z.pb.gz": UTC, sortable, one per window start.
  std::string file_name(const Window& w) const;
  std::uint64_t removed() const { return removed_; }

 private:
  Result<void> retain();
  Options options_;
  std::uint64_t removed_ = 0;
};

// Writes `bytes` to `tmp`, syncs it and renames it to `path`: readers see the old state or the
// whole file. The temporary is removed on failure.
Result<void> write_file_atomically(const std::string& tmp, const std::string& path,
                                   std::string_view bytes);

// Sizes such as 500M, 2G, 64k, 1000 (bytes; binary multiples).
Result<std::uint64_t> parse_size(std::string_view word, std::string_view option);

// The options of always-on profiling, for pipeline_options().
void add_continuous_options(boost::program_options::options_description& d);
bool wants_continuous(const boost::program_options::variables_map& vm);

// Turns one window into the bytes of the chosen --format (the all-in-one's own writers).
using WindowFormatter =
    std::function<Result<std::string>(symbolizer::Symbolizer&, const CaptureInfo&)>;

struct ContinuousRequest {
  collector::SamplingRequest sampling;
  symbolizer::Options symbols;
  std::string format;         // --format's word
  WindowFormatter formatter;  // for formats other than pprof
  WarningSink* warnings = nullptr;
  bool quiet = false;
};

// `profile --every ...`: runs the capture and delivers every window. Returns the exit status.
int continuous_command(const boost::program_options::variables_map& vm, ContinuousRequest req);

}  // namespace prof::app
