// The golden-file runner both CLI suites use: tests/golden/SUITE/CASE.in run through `profile`
// with CASE.args must print CASE.expected, byte for byte.
//
//   int cases = prof::test::run_golden_cases({"folder", {"fold", "-q"}, GoldenArgs::kWords, {}});
//   EXPECT_GE(cases, 8);
//
// A mismatch writes CASE.actual into the current directory (the build tree) and fails;
// PROF_UPDATE_GOLDEN=1 rewrites CASE.expected instead.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "test_support.h"

namespace prof::test {

// How CASE.args lists the arguments: one per line (so an argument may hold spaces), or
// separated by any whitespace. A missing CASE.args means none.
enum class GoldenArgs { kLines, kWords };

struct GoldenSuite {
  std::string dir;                   // tests/golden/<dir>
  std::vector<std::string> command;  // before CASE.args, e.g. {"render"}
  GoldenArgs args = GoldenArgs::kLines;
  // More checks on each case's run besides its exit status and output (e.g. well-formed XML).
  std::function<void(const RunResult&)> check;
};

// Runs every case of the suite; returns how many there were.
int run_golden_cases(const GoldenSuite& suite);

}  // namespace prof::test
