#include "push.h"

// Functions, not type-checking macros: they are called through pointers from dlsym.
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "continuous.h"
#include "prof/cli/support.h"
#include "prof/collector/parse.h"
#include "prof/common/unique_fd.h"

namespace prof::app {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// libcurl, opened on the first --push. Linked, it brought 28 more shared libraries (TLS,
// Kerberos, LDAP, SSH, ...) that every `profile` run loaded at its start: 12 ms, which took a
// small capture's `symbolize` from 19 to 33 ms and `--version` from 8 to 20 ms.
struct Curl {
  decltype(&::curl_global_init) global_init = nullptr;
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_perform) easy_perform = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_mime_init) mime_init = nullptr;
  decltype(&::curl_mime_addpart) mime_addpart = nullptr;
  decltype(&::curl_mime_name) mime_name = nullptr;
  decltype(&::curl_mime_filename) mime_filename = nullptr;
  decltype(&::curl_mime_type) mime_type = nullptr;
  decltype(&::curl_mime_data) mime_data = nullptr;
  decltype(&::curl_mime_free) mime_free = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
  std::string error;  // why it could not be loaded; global_init is null then
};

const Curl& curl_lib() {
  static const Curl loaded = [] {
    Curl c;
    void* lib = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);  // kept open: never closed
    if (!lib) {
      const char* why = ::dlerror();
      c.error = why ? why : "libcurl.so.4: cannot be loaded";
      return c;
    }
    auto get = [lib](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
      return fn != nullptr;
    };
    if (!get(c.global_init, "curl_global_init") || !get(c.easy_init, "curl_easy_init") ||
        !get(c.easy_setopt, "curl_easy_setopt") || !get(c.easy_perform, "curl_easy_perform") ||
        !get(c.easy_getinfo, "curl_easy_getinfo") || !get(c.easy_cleanup, "curl_easy_cleanup") ||
        !get(c.easy_strerror, "curl_easy_strerror") || !get(c.mime_init, "curl_mime_init") ||
        !get(c.mime_addpart, "curl_mime_addpart") || !get(c.mime_name, "curl_mime_name") ||
        !get(c.mime_filename, "curl_mime_filename") || !get(c.mime_type, "curl_mime_type") ||
        !get(c.mime_data, "curl_mime_data") || !get(c.mime_free, "curl_mime_free") ||
        !get(c.slist_append, "curl_slist_append") ||
        !get(c.slist_free_all, "curl_slist_free_all")) {
      c.global_init = nullptr;
      c.error = "libcurl.so.4 lacks a function this build uses";
    }
    return c;
  }();
  return loaded;
}

}  // namespace

std::string describe(const PushStats& s) {
  std::string line = std::to_string(s.sent) + " pushed";
  if (s.from_spool) line += " (" + std::to_string(s.from_spool) + " from an earlier run)";
  if (s.retries) line += ", " + std::to_string(s.retries) + " retries";
  if (s.rejected) line += ", " + std::to_string(s.rejected) + " rejected by the server";
  if (s.dropped) line += ", " + std::to_string(s.dropped) + " dropped (spool full)";
  if (s.pending) line += ", " + std::to_string(s.pending) + " left in the spool for the next run";
  return line;
}

void add_push_options(po::options_description& d) {
  d.add_options()("push", po::value<std::string>()->value_name("URL"),
                  "with --every: send each window to a Pyroscope-compatible server "
                  "(http://host:4040; POST URL/ingest, pprof), through an on-disk spool")(
      "app-name", po::value<std::string>()->value_name("NAME"),
      "with --push: the application name (default: profile.cpu)")(
      "labels", po::value<std::string>()->value_name("K=V,..."),
      "with --push: labels of every window (host= and, with -G, cgroup= are added unless "
      "given)")("tenant", po::value<std::string>()->value_name("ID"),
                "with --push: the X-Scope-OrgID header (multi-tenant Pyroscope)")(
      "token-file", po::value<std::string>()->value_name("FILE"),
      "with --push: send 'Authorization: Bearer' with the token in FILE (default: the "
      "PROFILE_PUSH_TOKEN environment variable, if set)")(
      "spool-dir", po::value<std::string>()->value_name("DIR"),
      "with --push: where windows wait to be sent (default: /var/lib/profile/spool as root, "
      "else $XDG_STATE_HOME/profile/spool)")(
      "spool-max-bytes", po::value<std::string>()->value_name("SIZE"),
      "with --push: the spool's bound; when full the oldest windows are dropped (default: "
      "256M)")("push-exit-timeout", po::value<std::string>()->value_name("DURATION"),
               "with --push: at exit, how long to retry unsent windows before leaving them in "
               "the spool for the next run (default: 10s)");
}

namespace {

bool label_key_ok(std::string_view k) {
  if (k.empty() || std::isdigit(static_cast<unsigned char>(k[0]))) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
}
bool label_value_ok(std::string_view v) {
  return !v.empty() && v.find_first_of(",{}=\"\n") == std::string_view::npos;
}

std::string default_spool_dir() {
  if (::geteuid() == 0) return "/var/lib/profile/spool";
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x)
    return std::string(x) + "/profile/spool";
  if (const char* h = std::getenv("HOME"); h && *h)
    return std::string(h) + "/.local/state/profile/spool";
  return "/tmp/profile-spool-" + std::to_string(::geteuid());
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

}  // namespace

Result<PushOptions> push_options_from(const po::variables_map& vm, const std::string& host,
                                      const collector::Options& sampling) {
  auto usage = [](std::string m) { return Error{Errc::kUsage, std::move(m)}; };
  PushOptions o;
  o.url = vm["push"].as<std::string>();
  if (o.url.rfind("http://", 0) != 0 && o.url.rfind("https://", 0) != 0)
    return usage("--push '" + o.url + "': expected an http:// or https:// URL");
  while (!o.url.empty() && o.url.back() == '/') o.url.pop_back();
  if (vm.count("app-name")) o.app_name = vm["app-name"].as<std::string>();
  if (o.app_name.empty() || o.app_name.find_first_of("{},= \"") != std::string::npos)
    return usage("--app-name '" + o.app_name +
                 "': expected a name without spaces, braces, commas, quotes or '='");
  if (vm.count("labels")) {
    std::stringstream in(vm["labels"].as<std::string>());
    std::string item;
    while (std::getline(in, item, ',')) {
      const auto eq = item.find('=');
      std::string k = eq == std::string::npos ? item : item.substr(0, eq);
      std::string v = eq == std::string::npos ? "" : item.substr(eq + 1);
      if (!label_key_ok(k) || !label_value_ok(v))
        return usage("--labels '" + item +
                     "': expected KEY=VALUE pairs separated by commas (keys: letters, digits, "
                     "'_', '.'; values without ',', '{', '}', '=' or quotes)");
      for (const auto& l : o.labels)
        if (l.first == k) return usage("--labels: '" + k + "' is given twice");
      o.labels.emplace_back(k, v);
    }
  }
  auto has = [&](std::string_view k) {
    return std::any_of(o.labels.begin(), o.labels.end(),
                       [&](const auto& l) { return l.first == k; });
  };
  if (!has("host")) o.labels.emplace_back("host", host);
  if (!has("cgroup") && sampling.target == collector::Target::kCgroup &&
      label_value_ok(sampling.cgroup))
    o.labels.emplace_back("cgroup", sampling.cgroup);
  if (vm.count("tenant")) o.tenant = vm["tenant"].as<std::string>();
  if (vm.count("token-file")) {
    const std::string path = vm["token-file"].as<std::string>();
    std::ifstream f(path);
    if (!f) return Error{Errc::kIo, "--token-file '" + path + "': cannot read it"};
    std::stringstream ss;
    ss << f.rdbuf();
    o.token = trim(ss.str());
    if (o.token.empty())
      return Error{Errc::kIo, "--token-file '" + path +
                                  "': the file is empty (expected the "
                                  "bearer token)"};
  } else if (const char* t = std::getenv("PROFILE_PUSH_TOKEN"); t && *t) {
    o.token = trim(t);
  }
  if (o.token.find_first_of("\r\n") != std::string::npos)
    return usage("the push token has a line break inside it (expected one line)");
  o.spool_dir = vm.count("spool-dir") ? vm["spool-dir"].as<std::string>() : default_spool_dir();
  if (vm.count("spool-max-bytes")) {
    auto s = parse_size(vm["spool-max-bytes"].as<std::string>(), "--spool-max-bytes");
    if (!s) return s.error();
    o.spool_max_bytes = *s;
  }
  if (vm.count("push-exit-timeout")) {
    auto d = collector::parse_duration(vm["push-exit-timeout"].as<std::string>());
    if (!d) return usage("--push-exit-timeout: " + d.error().message);
    o.exit_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }
  if (sampling.frequency && !sampling.period) o.sample_rate = sampling.frequency;
  return o;
}

namespace {

std::string url_escape(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace

std::string ingest_url(const PushOptions& o, std::uint64_t from_unix_s,
                       std::uint64_t until_unix_s) {
  std::string name = o.app_name + "{";
  for (std::size_t i = 0; i < o.labels.size(); ++i)
    name += (i ? "," : "") + o.labels[i].first + "=" + o.labels[i].second;
  name += "}";
  std::string url = o.url;
  const std::string_view tail = "/ingest";
  if (url.size() < tail.size() || url.compare(url.size() - tail.size(), tail.size(), tail) != 0)
    url += tail;
  url += "?name=" + url_escape(name) + "&from=" + std::to_string(from_unix_s) +
         "&until=" + std::to_string(until_unix_s) +
         "&format=pprof&sampleRate=" + std::to_string(o.sample_rate) +
         "&spyName=profile&units=samples&aggregationType=sum";
  return url;
}

// ---- the spool and the sender

namespace {

// "w<from ns, 20 digits>-<until ns, 20 digits>.pb.gz": names sort in window order, and an
// earlier run's windows before this run's.
constexpr std::string_view kSpoolPrefix = "w", kSpoolSuffix = ".pb.gz";

std::string spool_name(std::uint64_t from_ns, std::uint64_t until_ns) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "w%020llu-%020llu.pb.gz", static_cast<unsigned long long>(from_ns),
                static_cast<unsigned long long>(until_ns));
  return buf;
}

struct SpoolEntry {
  std::string name;
  std::uint64_t from_ns = 0, until_ns = 0, bytes = 0;
};

bool parse_spool_name(const std::string& n, SpoolEntry& e) {
  if (n.size() != 1 + 20 + 1 + 20 + kSpoolSuffix.size() || n.rfind(kSpoolPrefix, 0) != 0 ||
      n[21] != '-' || n.compare(42, std::string::npos, kSpoolSuffix) != 0)
    return false;
  for (std::size_t i : {1, 22})
    for (std::size_t j = i; j < i + 20; ++j)
      if (!std::isdigit(static_cast<unsigned char>(n[j]))) return false;
  e.name = n;
  e.from_ns = std::stoull(n.substr(1, 20));
  e.until_ns = std::stoull(n.substr(22, 20));
  return true;
}

enum class Outcome { kSent, kRetry, kReject };

std::size_t discard_body(char*, std::size_t size, std::size_t n, void*) { return size * n; }

}  // namespace

struct Pusher::Impl {
  PushOptions o;
  WarningSink* warnings = nullptr;
  UniqueFd lock;
  std::mutex mu;  // the spool's files and everything below
  std::condition_variable cv;
  bool stopping = false;
  Clock::time_point deadline = Clock::time_point::max();
  PushStats stats;
  bool failing = false;  // a warning for the current outage was printed
  std::thread sender;

  std::string path(const std::string& name) const { return o.spool_dir + "/" + name; }

  std::vector<SpoolEntry> list() const {
    std::vector<SpoolEntry> out;
    std::error_code ec;
    for (const auto& d : fs::directory_iterator(o.spool_dir, ec)) {
      SpoolEntry e;
      if (!parse_spool_name(d.path().filename().string(), e)) continue;
      std::error_code sec;
      e.bytes = d.file_size(sec);
      if (!sec) out.push_back(e);
    }
    std::sort(out.begin(), out.end(),
              [](const SpoolEntry& a, const SpoolEntry& b) { return a.name < b.name; });
    return out;
  }

  void warn(std::string_view kind, const std::string& message) {
    if (warnings) warnings->warn(kind, message);
    // An agent's log says when delivery breaks and mends, as it happens.
    if (!o.quiet) cli::print_warning(message);
  }

  Outcome send(const SpoolEntry& e, std::string& why) {
    std::string body;
    {
      std::ifstream f(path(e.name), std::ios::binary);
      if (!f) {
        why = "the spooled window vanished";
        return Outcome::kReject;
      }
      std::stringstream ss;
      ss << f.rdbuf();
      body = ss.str();
    }
    const Curl& lib = curl_lib();
    CURL* curl = lib.easy_init();
    if (!curl) {
      why = "libcurl cannot start a request";
      return Outcome::kRetry;
    }
    // Whole seconds, as the API takes them: floors, so that consecutive windows meet.
    const std::uint64_t from_s = e.from_ns / 1000000000ull;
    const std::uint64_t until_s = std::max<std::uint64_t>(from_s + 1, e.until_ns / 1000000000ull);
    const std::string url = ingest_url(o, from_s, until_s);
    curl_mime* mime = lib.mime_init(curl);
    curl_mimepart* part = lib.mime_addpart(mime);
    lib.mime_name(part, "profile");
    lib.mime_filename(part, "profile.pprof");
    lib.mime_type(part, "application/octet-stream");
    lib.mime_data(part, body.data(), body.size());
    curl_slist* headers = nullptr;
    std::string auth, tenant;
    if (!o.token.empty()) {
      auth = "Authorization: Bearer " + o.token;
      headers = lib.slist_append(headers, auth.c_str());
    }
    if (!o.tenant.empty()) {
      tenant = "X-Scope-OrgID: " + o.tenant;
      headers = lib.slist_append(headers, tenant.c_str());
    }
    headers = lib.slist_append(headers, "Expect:");
    char error[CURL_ERROR_SIZE] = {};
    lib.easy_setopt(curl, CURLOPT_URL, url.c_str());
    lib.easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    lib.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    lib.easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    lib.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    lib.easy_setopt(curl, CURLOPT_USERAGENT, "profile/" PROF_VERSION);
    lib.easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    lib.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    long timeout = static_cast<long>(o.request_timeout.count());
    {
      std::lock_guard lk(mu);
      if (stopping) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        timeout = std::clamp<long>(static_cast<long>(left.count()), 1, timeout);
      }
    }
    lib.easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout);
    const CURLcode rc = lib.easy_perform(curl);
    long status = 0;
    lib.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    lib.slist_free_all(headers);
    lib.mime_free(mime);
    lib.easy_cleanup(curl);
    if (rc != CURLE_OK) {
      why = error[0] ? error : lib.easy_strerror(rc);
      return Outcome::kRetry;
    }
    if (status >= 200 && status < 300) return Outcome::kSent;
    why = "HTTP " + std::to_string(status);
    // The server will not take this window, ever: sending it again would hold up the rest.
    if (status >= 400 && status < 500 && status != 408 && status != 429) return Outcome::kReject;
    return Outcome::kRetry;
  }

  void run() {
    auto backoff = o.backoff_min;
    Clock::time_point next_try = Clock::now();
    std::unique_lock lk(mu);
    for (;;) {
      if (stopping && Clock::now() >= deadline) break;
      std::vector<SpoolEntry> pending = list();
      if (pending.empty()) {
        if (stopping) break;
        cv.wait(lk);
        continue;
      }
      if (Clock::now() < next_try) {
        cv.wait_until(lk, std::min(next_try, deadline));
        continue;
      }
      const SpoolEntry e = pending.front();
      lk.unlock();
      std::string why;
      const Outcome out = send(e, why);
      lk.lock();
      if (out == Outcome::kRetry) {
        ++stats.retries;
        if (!failing) {
          failing = true;
          warn("push-failing", "cannot push to " + o.url + " (" + why + "): windows wait in '" +
                                   o.spool_dir + "' and are retried");
        }
        next_try = Clock::now() + backoff;
        backoff = std::min(backoff * 2, o.backoff_max);
        continue;
      }
      if (out == Outcome::kSent) {
        ++stats.sent;
      } else {
        ++stats.rejected;
        warn("push-rejected",
             o.url + " refused the window from " + e.name + " (" + why + "): dropped");
      }
      ::unlink(path(e.name).c_str());
      if (failing) {
        failing = false;
        if (!o.quiet) cli::print_notice("pushing to " + o.url + " again");
      }
      backoff = o.backoff_min;
      next_try = Clock::now();
    }
    stats.pending = list().size();
  }
};

Pusher::Pusher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Pusher::~Pusher() {
  if (impl_ && impl_->sender.joinable()) stop();
}

Result<std::unique_ptr<Pusher>> Pusher::start(PushOptions options, WarningSink* warnings) {
  const Curl& lib = curl_lib();
  if (!lib.global_init)
    return Error{Errc::kIo, "--push needs libcurl, which cannot be loaded (" + lib.error +
                                "): install libcurl4 (Debian: libcurl4)"};
  static const CURLcode global = lib.global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK)
    return Error{Errc::kIo, std::string("libcurl: ") + lib.easy_strerror(global)};
  auto impl = std::make_unique<Impl>();
  impl->o = std::move(options);
  impl->warnings = warnings;
  const std::string& dir = impl->o.spool_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error{Errc::kIo, "--spool-dir '" + dir + "': cannot create it: " + ec.message()};
  const std::string lock_path = dir + "/.lock";
  impl->lock = UniqueFd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!impl->lock)
    return Error{Errc::kIo,
                 "--spool-dir '" + dir + "': cannot write in it: " + std::strerror(errno)};
  if (::flock(impl->lock.get(), LOCK_EX | LOCK_NB) != 0)
    return Error{Errc::kIo, "--spool-dir '" + dir +
                                "': another profile is using this spool; give each agent its "
                                "own --spool-dir"};
  impl->stats.from_spool = impl->list().size();
  std::unique_ptr<Pusher> p(new Pusher(std::move(impl)));
  Impl* m = p->impl_.get();
  try {
    m->sender = std::thread([m] { m->run(); });
  } catch (const std::system_error& e) {
    return Error{Errc::kIo, std::string("cannot start the push thread: ") + e.what()};
  }
  return p;
}

Result<void> Pusher::enqueue(const Window& w, std::string_view pprof) {
  Impl& m = *impl_;
  const std::string name = spool_name(w.start_unix_ns, w.end_unix_ns);
  {
    std::lock_guard lk(m.mu);
    // Room first: the oldest windows go when the new one would not fit.
    std::vector<SpoolEntry> have = m.list();
    std::uint64_t total = pprof.size();
    for (const auto& e : have) total += e.bytes;
    std::uint64_t dropped = 0;
    for (std::size_t i = 0; i < have.size() && total > m.o.spool_max_bytes; ++i) {
      ::unlink(m.path(have[i].name).c_str());
      total -= have[i].bytes;
      ++dropped;
    }
    if (dropped) {
      m.stats.dropped += dropped;
      m.warn("spool-full", "the push spool '" + m.o.spool_dir + "' is full (--spool-max-bytes): " +
                               std::to_string(dropped) + " oldest windows dropped unsent, " +
                               std::to_string(m.stats.dropped) + " in all");
    }
    PROF_TRY(write_file_atomically(m.path("." + name + ".tmp"), m.path(name), pprof));
  }
  m.cv.notify_all();
  return ok();
}

PushStats Pusher::stop() {
  Impl& m = *impl_;
  {
    std::lock_guard lk(m.mu);
    if (!m.stopping) {
      m.stopping = true;
      m.deadline = Clock::now() + m.o.exit_timeout;
    }
  }
  m.cv.notify_all();
  if (m.sender.joinable()) m.sender.join();
  std::lock_guard lk(m.mu);
  return m.stats;
}

}  // namespace prof::app
