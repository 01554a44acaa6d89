#include "explorer.h"

#include <algorithm>

#include "pipeline.h"
#include "prof/renderer/explorer.h"

namespace prof::app {

Result<std::string> explorer_page(const Profile& profile, const std::vector<std::string>& events,
                                  const std::string& command) {
  renderer::ExplorerOptions opt;
  std::vector<std::string> drawn;
  for (const auto& e : events)
    if (std::find(drawn.begin(), drawn.end(), e) == drawn.end()) drawn.push_back(e);
  opt.title = labels_for_events(drawn, false).title;
  opt.command = command;
  std::string out;
  auto st = renderer::write_explorer(profile, opt, out);
  if (!st) return st.error();
  return out;
}

namespace {
std::string shell_word(const std::string& w) {
  if (!w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789_-./=:,+%@") == std::string::npos)
    return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

std::string selection_command(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--") {  // the workload's own words are kept as they are
      for (; i < words.size(); ++i) out += " " + shell_word(words[i]);
      break;
    }
    if (w == "--format" || w == "-o" || w == "--output" || w == "--time-range") {
      ++i;
      continue;
    }
    if (w.rfind("--format=", 0) == 0 || w.rfind("--output=", 0) == 0 ||
        w.rfind("--time-range=", 0) == 0 || (w.size() > 2 && w.rfind("-o", 0) == 0))
      continue;
    out += (out.empty() ? "" : " ") + shell_word(w);
  }
  return out;
}

Result<void> apply_time_range(Profile& profile, const std::optional<TimeRange>& range) {
  if (!range) return ok();
  return retain_time_range(profile, *range);
}

}  // namespace prof::app
