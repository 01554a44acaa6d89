// The HTML explorer: a whole Profile -> one self-contained HTML page that keeps every sample's
// time, CPU and thread, for views a flame graph of the whole capture cannot give: a FlameScope
// heatmap (columns = seconds, rows = sub-second buckets) whose drag selects a time range, per-CPU
// lanes, the flame graph / icicle / sandwich of the selection and a sortable functions table.
//
// Pipeline position: a writer beside the SVG renderer (symbolizer -> Profile -> **explorer**),
// used by `--format html` on the all-in-one, `report` and `merge`. docs/explorer.md describes
// the page, its URL fragment (#range=A,B&cpu=N&pid=N&tid=N&search=RE&fn=NAME) and the
// test contract (<table id="functions">, id="heatmap").
//
// The data is embedded compactly: frame names once, stacks as a prefix tree (parent, frame) and
// per sample a time (microseconds from the capture start), CPU, thread and stack node, each as
// a base64 little-endian typed array. The capture start is the first sample's time (the same
// definition `--time-range A,B` uses). The script and style are our own (renderer/assets/).
//
//   std::string html;
//   auto st = prof::renderer::write_explorer(profile, {.title = "CPU"}, html);
//   if (!st) return st.error();   // kNoData: no samples
#pragma once

#include <cstddef>
#include <string>

#include "prof/common/profile.h"
#include "prof/common/result.h"

namespace prof::renderer {

struct ExplorerOptions {
  std::string title = "Profile explorer";  // page title and heading
  // The command line that reproduces this page's data; the page appends `--time-range A,B` for
  // the current selection (empty: no command is shown).
  std::string command;
  std::string count_name = "samples";  // what a sample counts, for the legend
};

struct ExplorerStats {
  std::size_t samples = 0;  // samples embedded
  std::size_t nodes = 0;    // stack prefix-tree nodes
  std::size_t frames = 0;   // distinct frame names
  bool has_time = false;    // the samples carry times (else no heatmap)
};

// Appends the page to `out`. Errors: kNoData when the profile has no samples.
Result<ExplorerStats> write_explorer(const Profile& profile, const ExplorerOptions& options,
                                     std::string& out);

// The name a frame of the explorer shows for one line of a location: the function's name, else
// `[module]` (its file name), else `[unknown]`.
std::string explorer_frame_name(const Profile& profile, const Location& loc, const Line& line);

}  // namespace prof::renderer
