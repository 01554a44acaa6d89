// Commands implemented in cli/ because they join several stages.
#pragma once

namespace prof::app {

// `profile [record options] [DURATION] [-- CMD...]`: record + symbolize + fold + render.
int pipeline_command(int argc, char** argv);
// `profile report [perf.data]`: symbolize + fold + render in one process.
int report_command(int argc, char** argv);
// `profile symbolize`: the symbolizer's perf-script text, or with --folded the folded stacks.
int symbolize_command(int argc, char** argv);
// `profile top`: hottest functions overall and per CPU.
int top_command(int argc, char** argv);

}  // namespace prof::app
