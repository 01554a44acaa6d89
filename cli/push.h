// --push: windows to a Pyroscope-compatible server (Grafana Pyroscope's HTTP ingest API,
// `POST /ingest?name=APP{k=v,...}&from=S&until=S&format=pprof&...` with the gzipped pprof as the
// `profile` part of a multipart/form-data body), through a bounded on-disk spool, so that a
// down or slow server never blocks sampling and loses nothing that fits in the spool.
//
// Pipeline position: cli/, after the WindowCutter (continuous.h). enqueue() runs on the
// sampling thread and only writes a file; one sender thread of our own (libcurl) posts the
// spooled windows oldest first, each until it is accepted (retrying with backoff), so windows
// produced during an outage arrive in order when the server returns. At exit, stop() retries
// what is pending for a while (--push-exit-timeout), then leaves it in the spool, and the next
// run sends it before anything new. A full spool drops its oldest windows, counted, with a
// warning.
//
//   auto p = Pusher::start(push_options_from(vm, host, sampling).value(), &warnings);
//   p->enqueue(window, pprof_bytes);          // per window
//   PushStats st = p->stop();                 // at exit
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "prof/collector/collector.h"
#include "prof/common/result.h"
#include "prof/common/warnings.h"

namespace prof::app {

struct Window;

struct PushOptions {
  std::string url;  // the server; "/ingest" is added unless the path already ends in it
  std::string app_name = "profile.cpu";
  std::vector<std::pair<std::string, std::string>> labels;  // in the name's {...}, in order
  std::string tenant;                                       // X-Scope-OrgID; "" = none
  std::string token;                                        // Authorization: Bearer; "" = none
  std::string spool_dir;
  std::uint64_t spool_max_bytes = 256ull << 20;
  std::uint64_t sample_rate = 99;  // Hz, the query's sampleRate
  std::chrono::milliseconds exit_timeout{10000};
  std::chrono::milliseconds request_timeout{15000};
  std::chrono::milliseconds backoff_min{500}, backoff_max{30000};
  bool quiet = false;  // -q: no log lines when delivery breaks and mends
};

struct PushStats {
  std::uint64_t sent = 0;        // accepted by the server (2xx)
  std::uint64_t retries = 0;     // failed attempts that were retried
  std::uint64_t rejected = 0;    // refused for good (4xx other than 408/429): dropped
  std::uint64_t dropped = 0;     // spool full: oldest windows removed unsent
  std::uint64_t pending = 0;     // left in the spool at stop() for the next run
  std::uint64_t from_spool = 0;  // windows of an earlier run found in the spool at start
};
std::string describe(const PushStats& s);

void add_push_options(boost::program_options::options_description& d);

// --push and its companions into PushOptions: the name's labels get host= (and cgroup= for a
// -G capture) unless --labels sets them; the token comes from --token-file or the
// PROFILE_PUSH_TOKEN environment variable, never from the command line. kUsage errors for bad
// words; kIo for an unreadable token file.
Result<PushOptions> push_options_from(const boost::program_options::variables_map& vm,
                                      const std::string& host, const collector::Options& sampling);

// The ingest URL of one window: base + "/ingest?name=...&from=...".
std::string ingest_url(const PushOptions& o, std::uint64_t from_unix_s, std::uint64_t until_unix_s);

class Pusher {
 public:
  // Takes the spool directory (created if needed; a lock file keeps a second agent out) and
  // starts the sender, which begins with what an earlier run left there.
  static Result<std::unique_ptr<Pusher>> start(PushOptions options, WarningSink* warnings);
  ~Pusher();
  Pusher(const Pusher&) = delete;
  Pusher& operator=(const Pusher&) = delete;
  // Spools one window (pprof bytes) atomically and wakes the sender; never waits for it.
  Result<void> enqueue(const Window& w, std::string_view pprof);
  // Retries what is pending until it is sent or the exit timeout passes, then stops the sender.
  PushStats stop();

 private:
  struct Impl;
  explicit Pusher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace prof::app
