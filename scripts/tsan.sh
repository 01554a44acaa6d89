#!/usr/bin/env bash
# Builds the suites that run threaded code with ThreadSanitizer (-DPROF_TSAN=ON, -O1) into
# build-tsan and runs them; any race or lock-order report fails (halt_on_error). docs/RELIABILITY.md.
#   scripts/tsan.sh                       the CI step (.ci/run)
#   TSAN_GTEST_FILTER='ThreadPool.*' scripts/tsan.sh    a narrower run
# Which suites: common_test (ThreadPool, WarningSink), symbolizer_test (parallel resolution,
# DWARF unwinding and perf-script formatting), folder_test (parallel folding, `profile fold -j`),
# continuous_unit_test (the --push spool's sender thread beside the sampling thread).
# The `profile` binary the suites run is built with TSan too, so its threads are checked as well.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan}
SUITES=(common_test symbolizer_test folder_test continuous_unit_test)

# -O1: TSan slows code 5-15x; -O1 keeps the stacks readable and the run short. Fixtures stay
# unsanitized (tests/fixtures/CMakeLists.txt), and the benchmarks are not needed.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DPROF_TSAN=ON -DPROF_BUILD_BENCH=OFF ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${SUITES[@]}"

# Live-sampling tests that only repeat, under TSan, what the normal and ASan runs already check
# (perf agreement of single captures) are left out; the one that symbolizes a live DWARF capture
# on 1, 2, 4 and 7 threads stays, as it is the only parallel-unwinding test with real stacks.
default_filter="-FoldLive.*:DeletedModule.LiveJitLikeProgramFoldsAlikeOnEveryPath"
for t in FramePointerFixturesMatchExactly SystemWideCaptureAgreesOn99Percent PipeModeAndStdin \
         CxxProgramNamesMatchPerfScript CxxProgramDwarfNonInlinedFramesMatchPerfScript \
         DwarfUnwindingReachesMainWhereFramePointersDoNot DwarfUnwindingAgreesWithPerfScript \
         CorruptedDwarfSamplesEndEarly CachedCfiRulesUnwindLikeLibdwfl BinaryGoneAfterCapture \
         DamagedCaptureNeverCrashes; do
  default_filter+=":PerfAgreement.$t"
done
export GTEST_FILTER=${TSAN_GTEST_FILTER:-$default_filter}
# second_deadlock_stack: lock-order reports show where both locks were taken.
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
if [ -s .ci/tsan-suppressions.txt ]; then
  export TSAN_OPTIONS="$TSAN_OPTIONS:suppressions=$PWD/.ci/tsan-suppressions.txt"
fi
export PROF_PEER_DIR=${PROF_PEER_DIR:-$(cd .. && pwd)/shared/peer}
regex="^($(IFS='|'; echo "${SUITES[*]}"))\$"
ctest --test-dir "$BUILD_DIR" -R "$regex" --output-on-failure -j"$(nproc)" ${CTEST_ARGS:-}
