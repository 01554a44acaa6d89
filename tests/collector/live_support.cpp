#include "live_support.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#include "prof/common/perf_data.h"

namespace prof::test::live {

RunResult perf_script(const std::string& file) {
  return run({"perf", "script", "-i", file, "-F", "comm,pid,tid,cpu,event,ip,sym,dso"});
}

namespace {

// "    11bd spin_here (/path/fx_spin)": address, symbol, dso in parentheses at the end.
ScriptFrame parse_frame(std::string_view text) {
  ScriptFrame f;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  auto sp = text.find(' ');
  f.addr = std::strtoull(std::string(text.substr(0, sp)).c_str(), nullptr, 16);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : text.substr(sp + 1);
  auto lp = rest.rfind(" (");
  f.sym = std::string(rest.substr(0, lp));
  if (lp != std::string_view::npos && rest.size() > lp + 3)
    f.dso = std::string(rest.substr(lp + 2, rest.size() - lp - 3));
  return f;
}

}  // namespace

std::vector<ScriptSample> parse_script(const std::string& text) {
  std::vector<ScriptSample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '\t') {  // a callchain frame of the sample above
      if (!out.empty()) out.back().frames.push_back(parse_frame(line));
      continue;
    }
    // "         fx_spin 18600/18600 [000] task-clock: [ip sym (dso)]": perf right-aligns comm
    // (which may hold spaces) and pads event names, so parse around " [CPU] ".
    auto lb = line.find(" [");
    while (lb != std::string::npos &&
           !(lb + 6 < line.size() && std::isdigit(static_cast<unsigned char>(line[lb + 2])) &&
             line.find("] ", lb) != std::string::npos))
      lb = line.find(" [", lb + 1);
    if (lb == std::string::npos) continue;
    ScriptSample s;
    s.cpu = std::atoi(line.c_str() + lb + 2);
    auto rb = line.find("] ", lb);
    std::string_view after = std::string_view(line).substr(rb + 2);
    while (!after.empty() && after.front() == ' ') after.remove_prefix(1);
    auto colon = after.find(": ");
    if (colon == std::string_view::npos && !after.empty() && after.back() == ':')
      colon = after.size() - 1;
    s.event = std::string(after.substr(0, colon));
    if (colon != std::string_view::npos && colon + 2 < after.size()) {
      std::string_view ip = after.substr(colon + 2);
      if (ip.find_first_not_of(' ') != std::string_view::npos) s.frames.push_back(parse_frame(ip));
    }
    std::string head = line.substr(0, lb);
    head.erase(head.find_last_not_of(' ') + 1);  // perf pads short pids: "fx_spin  1465/1465  ["
    auto sp = head.rfind(' ');
    std::string ids = head.substr(sp + 1);
    s.comm = head.substr(0, sp);
    s.comm.erase(0, s.comm.find_first_not_of(' '));
    s.comm.erase(s.comm.find_last_not_of(' ') + 1);
    auto slash = ids.find('/');
    s.pid = std::atoi(ids.c_str());
    s.tid = slash == std::string::npos ? s.pid : std::atoi(ids.c_str() + slash + 1);
    out.push_back(std::move(s));
  }
  return out;
}

Census census(const std::string& file) {
  Census c;
  auto r = prof::perf::PerfDataReader::open(file);
  if (!r) {
    c.error = r.error().message;
    return c;
  }
  prof::perf::Record rec;
  while (true) {
    auto more = (*r)->next(rec);
    if (!more) {
      c.error = more.error().message;
      return c;
    }
    if (!*more) break;
    ++c.by_type[rec.type];
    if (rec.type == PERF_RECORD_SAMPLE) {
      auto s = (*r)->parse_sample(rec);
      if (!s) {
        c.error = s.error().message;
        return c;
      }
      ++c.samples;
      if (!s->raw.empty()) ++c.raw_samples;
      ++c.samples_by_event[(*r)->attrs()[s->attr_index].name];
      ++c.samples_by_cpu[static_cast<int>(s->cpu)];
      ++c.samples_by_pid[static_cast<pid_t>(s->pid)];
    } else if (rec.type == PERF_RECORD_LOST) {
      auto l = (*r)->parse_lost(rec);
      if (l) c.lost += l->lost;
    } else if (rec.type == PERF_RECORD_COMM) {
      auto cm = (*r)->parse_comm(rec);
      if (cm) c.comms.push_back(cm->comm);
    } else if (rec.type == PERF_RECORD_MMAP2 || rec.type == PERF_RECORD_MMAP) {
      auto m = (*r)->parse_mmap(rec);
      if (m) c.mmap_files.push_back(m->filename);
    }
  }
  return c;
}

std::pair<std::uint64_t, std::uint64_t> nm_range(const std::string& elf, const std::string& fn) {
  RunResult r = run({"nm", "-S", elf});
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fl(line);
    std::string addr, size, type, name;
    if (!(fl >> addr >> size >> type >> name) || name != fn) continue;
    std::uint64_t a = std::strtoull(addr.c_str(), nullptr, 16);
    return {a, a + std::strtoull(size.c_str(), nullptr, 16)};
  }
  return {0, 0};
}

}  // namespace prof::test::live
