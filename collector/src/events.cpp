#include "prof/collector/events.h"

// libpfm4 carries its own copy of the perf_event ABI; with <linux/perf_event.h> included first
// (via events.h) that copy stands down and both agree on perf_event_attr.
#include <dlfcn.h>
#include <fcntl.h>
#include <perfmon/pfmlib_perf_event.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <type_traits>

#include "sys.h"

namespace prof::collector {
namespace sys {

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sys

namespace {

// libpfm4, opened on first use. Linked, its 41,000 relocations (tables of pointers) were
// applied at the start of every `profile` run — a few milliseconds and a hundred page faults,
// a tenth of symbolizing a small capture, which never names an event.
struct Pfm {
  decltype(&::pfm_initialize) initialize = nullptr;
  decltype(&::pfm_strerror) strerror = nullptr;
  decltype(&::pfm_find_event) find_event = nullptr;
  decltype(&::pfm_get_os_event_encoding) get_os_event_encoding = nullptr;
  decltype(&::pfm_get_pmu_info) get_pmu_info = nullptr;
  decltype(&::pfm_get_event_next) get_event_next = nullptr;
  decltype(&::pfm_get_event_info) get_event_info = nullptr;
  std::string error;  // why it could not be loaded; initialize is null then
};

const Pfm& pfm() {
  static const Pfm loaded = [] {
    Pfm f;
    void* lib = ::dlopen("libpfm.so.4", RTLD_NOW | RTLD_LOCAL);  // kept open: never closed
    if (!lib) {
      const char* why = ::dlerror();
      f.error = why ? why : "libpfm.so.4: cannot be loaded";
      return f;
    }
    auto get = [lib](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
      return fn != nullptr;
    };
    if (!get(f.initialize, "pfm_initialize") || !get(f.strerror, "pfm_strerror") ||
        !get(f.find_event, "pfm_find_event") ||
        !get(f.get_os_event_encoding, "pfm_get_os_event_encoding") ||
        !get(f.get_pmu_info, "pfm_get_pmu_info") || !get(f.get_event_next, "pfm_get_event_next") ||
        !get(f.get_event_info, "pfm_get_event_info")) {
      f.initialize = nullptr;
      f.error = "libpfm.so.4 lacks a function this build uses";
    }
    return f;
  }();
  return loaded;
}

Result<void> init_pfm() {
  static std::once_flag once;
  static int rc = PFM_SUCCESS;
  if (!pfm().initialize)
    return Error{Errc::kInternal, "libpfm4 cannot be loaded (" + pfm().error +
                                      "): install libpfm4 (Debian: libpfm4)"};
  std::call_once(once, [] { rc = pfm().initialize(); });
  if (rc != PFM_SUCCESS)
    return Error{Errc::kInternal,
                 std::string("libpfm4 initialization failed: ") + pfm().strerror(rc)};
  return ok();
}

std::string list_hint() { return "run 'profile list' to see the events available here"; }

bool is_dir(const std::string& p) {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec);
}

// `sys:name` with one colon: libpfm4 uses `pmu::event` and `event:modifier`, so a single colon
// is ambiguous; tracefs decides.
bool looks_like_tracepoint(std::string_view name, std::string_view& sys_part,
                           std::string_view& event_part) {
  auto colon = name.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= name.size()) return false;
  if (name.find(':', colon + 1) != std::string_view::npos) return false;
  sys_part = name.substr(0, colon);
  event_part = name.substr(colon + 1);
  return sys_part.find('/') == std::string_view::npos &&
         event_part.find('/') == std::string_view::npos &&
         event_part.find('=') == std::string_view::npos;
}

}  // namespace

TracefsLookup find_tracefs(const std::string& root) {
  std::vector<std::string> dirs = {root + "/sys/kernel/tracing",
                                   root + "/sys/kernel/debug/tracing"};
  // A tracefs mounted somewhere else (proc(5): /proc/mounts fields are "dev dir type ...").
  std::ifstream mounts(root + "/proc/mounts");
  std::string dev, dir, type, rest;
  while (mounts >> dev >> dir >> type && std::getline(mounts, rest))
    if (type == "tracefs") dirs.push_back(root + dir);
  TracefsLookup found;
  for (const auto& d : dirs) {
    std::error_code ec;
    if (std::filesystem::is_directory(d + "/events", ec)) {
      found.events_dir = d + "/events";
      found.denied.clear();
      return found;
    }
    // stat(2) fails with EACCES when a directory on the way may not be searched (tracefs is
    // mounted mode 0700 by default; debugfs too): there may well be a tracefs, not ours to read.
    if (ec == std::errc::permission_denied && found.denied.empty()) found.denied = d;
  }
  return found;
}

std::string tracefs_denied_message(const std::string& path, std::string_view tracepoint) {
  const std::string what =
      tracepoint.empty() ? "tracepoints" : "tracepoint '" + std::string(tracepoint) + "'";
  return "'" + path + "': Permission denied: this user may not read tracefs, so " + what +
         " cannot be used; run as root, or give this user read access to tracefs (e.g. mount " +
         "it with gid=GROUP,mode=0750 for a group of the user) and CAP_PERFMON or " +
         "kernel.perf_event_paranoid=-1 for raw tracepoint samples";
}

namespace {

std::string find_tracefs_events_dir() { return find_tracefs().events_dir; }

// True when `path` exists but this process may not open it for reading.
bool read_denied(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  return !fd && errno == EACCES;
}

// unshare(2): CLONE_NEWNS copies the mount table; without making it private first, a mount
// here would propagate back to the shared parent namespace (mount_namespaces(7)).
bool mount_private_tracefs() {
  if (::geteuid() != 0 || !is_dir("/sys/kernel/tracing")) return false;
  if (::unshare(CLONE_NEWNS) != 0) return false;  // EINVAL once the process has threads
  if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  return ::mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0;
}

}  // namespace

std::string tracefs_events_dir() {
  // Once per process: the namespace it mounted in is the process's own from then on.
  static std::mutex mu;
  static bool tried_mount = false;
  std::lock_guard lock(mu);
  std::string dir = find_tracefs_events_dir();
  if (!dir.empty() || tried_mount) return dir;
  tried_mount = true;
  return mount_private_tracefs() ? find_tracefs_events_dir() : std::string();
}

Result<std::optional<perf::TracingData>> tracing_data_for(
    const std::vector<ResolvedEvent>& events) {
  perf::TracingData td;
  bool any = false;
  for (const auto& ev : events) {
    if (!ev.tracepoint) continue;
    any = true;
    if (ev.tracepoint_system == "ftrace") {
      td.ftrace_formats.push_back(ev.tracepoint_format);
      continue;
    }
    auto it = std::find_if(td.systems.begin(), td.systems.end(), [&](const perf::TracingSystem& s) {
      return s.name == ev.tracepoint_system;
    });
    if (it == td.systems.end()) {
      td.systems.push_back({ev.tracepoint_system, {}});
      it = td.systems.end() - 1;
    }
    if (std::find(it->formats.begin(), it->formats.end(), ev.tracepoint_format) ==
        it->formats.end())
      it->formats.push_back(ev.tracepoint_format);
  }
  if (!any) return std::optional<perf::TracingData>();
  const std::string events_dir = tracefs_events_dir();
  if (events_dir.empty())
    return Error{Errc::kNotFound, "tracefs is no longer mounted: cannot record tracing data"};
  const std::string root = events_dir.substr(0, events_dir.size() - std::string("/events").size());
  auto page = sys::read_small_file(events_dir + "/header_page");
  auto event = sys::read_small_file(events_dir + "/header_event");
  if (!page || !event)
    return Error{Errc::kNotFound, "'" + events_dir + "/header_page': cannot read tracefs headers"};
  td.header_page = std::move(*page);
  td.header_event = std::move(*event);
  // Optional in perf too: a reader then prints raw addresses / pids without names.
  td.printk_formats = sys::read_small_file(root + "/printk_formats").value_or("");
  td.saved_cmdlines = sys::read_small_file(root + "/saved_cmdlines").value_or("");
  td.page_size = static_cast<std::uint32_t>(::sysconf(_SC_PAGESIZE));
  return std::optional<perf::TracingData>(std::move(td));
}

Result<ResolvedEvent> resolve_event(std::string_view name) {
  if (name.empty()) return Error{Errc::kUsage, "empty event name: " + list_hint()};
  ResolvedEvent ev;
  ev.name = std::string(name);
  ev.attr.size = sizeof(perf_event_attr);

  std::string_view sys_part, event_part;
  bool tp_shape = looks_like_tracepoint(name, sys_part, event_part);
  std::string events_dir = tp_shape ? find_tracefs_events_dir() : std::string();
  if (tp_shape && events_dir.empty()) {
    // `instructions:u` has the same shape: mount tracefs (a private mount namespace for the
    // whole process and the command it starts) only for a name libpfm4 does not know.
    PROF_TRY(init_pfm());
    if (pfm().find_event(std::string(name).c_str()) < 0) events_dir = tracefs_events_dir();
  }
  if (tp_shape && !events_dir.empty()) {
    std::string id_path =
        events_dir + "/" + std::string(sys_part) + "/" + std::string(event_part) + "/id";
    if (auto id = sys::read_small_file(id_path)) {
      char* end = nullptr;
      unsigned long long v = std::strtoull(id->c_str(), &end, 10);
      if (end == id->c_str())
        return Error{Errc::kParse, id_path + ": not a tracepoint id: '" + *id + "'"};
      ev.attr.type = PERF_TYPE_TRACEPOINT;
      ev.attr.config = v;
      ev.tracepoint = true;
      ev.tracepoint_system = std::string(sys_part);
      const std::string format_path =
          events_dir + "/" + std::string(sys_part) + "/" + std::string(event_part) + "/format";
      auto format = sys::read_small_file(format_path);
      if (!format || format->empty())
        return Error{Errc::kNotFound, "'" + format_path + "': cannot read the tracepoint format"};
      ev.tracepoint_format = std::move(*format);
      return ev;
    }
    if (read_denied(id_path))
      return Error{Errc::kPermission, tracefs_denied_message(id_path, name)};
  }

  PROF_TRY(init_pfm());
  pfm_perf_encode_arg_t arg;
  std::memset(&arg, 0, sizeof arg);
  arg.attr = &ev.attr;
  arg.size = sizeof arg;
  std::string str(name);
  // PFM_OS_PERF_EVENT_EXT: also decodes :period= / :freq= (plain PFM_OS_PERF_EVENT refuses them).
  int rc =
      pfm().get_os_event_encoding(str.c_str(), PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT_EXT, &arg);
  if (rc != PFM_SUCCESS) {
    std::string why = pfm().strerror(rc);
    if (tp_shape && events_dir.empty()) {
      if (auto look = find_tracefs(); !look.denied.empty())
        return Error{Errc::kPermission, tracefs_denied_message(look.denied, str)};
      return Error{Errc::kNotFound,
                   "unknown event '" + str + "' (" + why +
                       "); if it is a tracepoint, tracefs is not mounted: mount it with "
                       "'mount -t tracefs nodev /sys/kernel/tracing'; " +
                       list_hint()};
    }
    if (tp_shape)
      return Error{Errc::kNotFound, "unknown event '" + str + "': no tracepoint " + events_dir +
                                        "/" + std::string(sys_part) + "/" +
                                        std::string(event_part) + " and libpfm4 says: " + why +
                                        "; " + list_hint()};
    return Error{Errc::kNotFound,
                 "unknown event '" + str + "' (libpfm4: " + why + "); " + list_hint()};
  }
  ev.attr.size = sizeof(perf_event_attr);
  ev.own_rate = ev.attr.sample_period != 0;  // sample_freq shares the union
  return ev;
}

Result<std::vector<ListedEvent>> list_events(std::string_view filter) {
  PROF_TRY(init_pfm());
  std::vector<ListedEvent> out;
  auto lower = [](std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  };
  const std::string lfilter = lower(std::string(filter));
  // libpfm4 matches names case-insensitively, so the filter does too.
  auto keep = [&](const std::string& n) {
    return lfilter.empty() || lower(n).find(lfilter) != std::string::npos;
  };
  // pfm_for_all_pmus() increments an enum, which C++ refuses; walk the ids as ints.
  for (int p = PFM_PMU_NONE; p < PFM_PMU_MAX; ++p) {
    pfm_pmu_info_t pinfo;
    std::memset(&pinfo, 0, sizeof pinfo);
    pinfo.size = sizeof pinfo;
    if (pfm().get_pmu_info(static_cast<pfm_pmu_t>(p), &pinfo) != PFM_SUCCESS || !pinfo.is_present)
      continue;
    for (int idx = pinfo.first_event; idx != -1; idx = pfm().get_event_next(idx)) {
      pfm_event_info_t einfo;
      std::memset(&einfo, 0, sizeof einfo);
      einfo.size = sizeof einfo;
      if (pfm().get_event_info(idx, PFM_OS_PERF_EVENT_EXT, &einfo) != PFM_SUCCESS) continue;
      ListedEvent le;
      le.pmu = pinfo.name ? pinfo.name : "";
      le.name = le.pmu + "::" + (einfo.name ? einfo.name : "");
      // The generic table's names, lower-cased, are what users type (`cpu-clock`, as in perf).
      if (le.pmu == "perf") le.name = lower(einfo.name ? einfo.name : "");
      if (!keep(le.name)) continue;
      le.description = einfo.desc ? einfo.desc : "";
      if (lower(le.description) == le.name) le.description.clear();
      auto ev = resolve_event(le.name);
      if (ev) {
        // A counting (non-sampling) event on ourselves is enough to learn whether the kernel
        // has this event at all; it is closed at once.
        perf_event_attr attr = ev->attr;
        attr.disabled = 1;
        const UniqueFd fd(sys::perf_event_open(attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
        le.available = fd.valid();
      }
      out.push_back(std::move(le));
    }
  }
  std::string dir = tracefs_events_dir();
  if (!dir.empty()) {
    std::vector<ListedEvent> tps;
    std::error_code ec;
    for (const auto& sys_entry : std::filesystem::directory_iterator(dir, ec)) {
      if (!sys_entry.is_directory(ec)) continue;
      std::error_code ec2;
      for (const auto& ev_entry : std::filesystem::directory_iterator(sys_entry.path(), ec2)) {
        if (!std::filesystem::exists(ev_entry.path() / "id", ec2)) continue;
        ListedEvent le;
        le.pmu = "tracepoint";
        le.name = sys_entry.path().filename().string() + ":" + ev_entry.path().filename().string();
        if (!keep(le.name)) continue;
        le.available = true;
        tps.push_back(std::move(le));
      }
    }
    std::sort(tps.begin(), tps.end(),
              [](const ListedEvent& a, const ListedEvent& b) { return a.name < b.name; });
    out.insert(out.end(), std::make_move_iterator(tps.begin()), std::make_move_iterator(tps.end()));
  }
  return out;
}

}  // namespace prof::collector
