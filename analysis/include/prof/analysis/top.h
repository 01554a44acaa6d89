// `profile top`: the hottest functions by self and total weight, overall and per CPU, computed
// from folded stacks (the same data a flame graph draws, so the table and the graph agree).
//
// Input stacks are folded lines split into (stack, count); with per-CPU data the first frame is
// `cpu-N` (from `--per-cpu`) and the next one the process name, which is not a function and is
// left out of the table. With several events folded per event, every stack starts with
// `[EVENT]` (before `cpu-N`), and each event gets its own tables: weights of different events
// are in different units and are never added up.
//
// Pipeline position: prof::analysis, after the folder (it reads folded stacks, not text).
//
//   std::vector<FoldedStack> stacks = {{"cpu-1;app;main;alpha", 30}, {"cpu-1;app;main;beta", 10}};
//   auto tables = prof::analysis::compute_top(stacks, {.per_cpu = true, .limit = 10});
//   prof::analysis::print_top_text(tables, "samples", std::cout);   // formats into the stream
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace prof::analysis {

struct FoldedStack {
  std::string stack;  // "frame;frame;...;leaf"
  double count = 0;   // folded counts may be fractional
};

struct TopRow {
  std::string function;
  double self = 0;   // weight where the function is the leaf
  double total = 0;  // weight of stacks containing the function (counted once per stack)
};

struct TopTable {
  std::string event;         // the event of an `[EVENT]` group ("" without per_event)
  std::string scope;         // "all CPUs" or "cpu-N"
  double weight = 0;         // total weight in this scope
  std::vector<TopRow> rows;  // by self desc, then total desc, then name
};

struct TopOptions {
  bool per_cpu = false;           // stacks start with a cpu-N frame: also one table per CPU
  bool has_process_frame = true;  // the frame after cpu-N (or the first) is the process name
  std::size_t limit = 20;         // rows per table (0 = all)
  bool per_event = false;         // stacks start with an `[EVENT]` frame: tables per event
};

std::vector<TopTable> compute_top(const std::vector<FoldedStack>& stacks, const TopOptions& opts);
// `count_name(event)` names the unit of a table's weights ("ns", "page-faults"); the event is
// "" without per_event. JSON numbers are exact: integral weights print as integers (exact up to
// 2^53, the limit of the double they are summed in), percentages with two decimals.
using CountNameFn = std::string (*)(const std::string& event);
void print_top_text(const std::vector<TopTable>& tables, std::string_view count_name,
                    std::ostream& out, CountNameFn per_event_name = nullptr);
void print_top_json(const std::vector<TopTable>& tables, std::string_view count_name,
                    std::ostream& out, CountNameFn per_event_name = nullptr);

}  // namespace prof::analysis
