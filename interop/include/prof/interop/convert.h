// Profiles between formats: folded text and pprof in, one canonical Profile, folded text out;
// and the exact merge behind `profile merge`.
//
// Pipeline position: prof::interop. `profile render`, `top`, `diff` and `merge` load their
// inputs with load_profile(), so a pprof file works wherever folded text does.
//
// Folded text as a Profile: one function and one location (no address, no mapping) per frame
// name, one sample per line whose count and period are the line's count. A Profile as folded
// text: each sample's frames root first (the comm first when the sample has one, as
// stackcollapse-perf.pl puts it), an unresolved frame as "[module]" (or "[unknown]"), weighed
// by its period; equal stacks are summed and lines sorted, so the text is deterministic. With
// samples of several events, each stack starts with "[EVENT]" (as the folder's per-event roots).
//
// merge() is exact, associative and commutative: counts and periods are summed as integers,
// equal locations, functions, mappings and samples become one, and the result is canonical —
// its order depends only on its contents — so any grouping or order of the same inputs writes
// byte-identical output.
//
//   auto a = prof::interop::load_profile("a.folded", {}, &sink);
//   auto b = prof::interop::load_profile("b.pb.gz", {}, &sink);
//   std::vector<prof::Profile> in;  in.push_back(std::move(a->profile)); ...
//   prof::Profile m = prof::interop::merge(in);
//   std::string folded = prof::interop::to_folded(m);
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/folded.h"
#include "prof/common/profile.h"
#include "prof/common/result.h"
#include "prof/common/warnings.h"
#include "prof/interop/pprof.h"

namespace prof::interop {

enum class InputFormat { kFolded, kPprof };

struct LoadedProfile {
  Profile profile;
  InputFormat format = InputFormat::kFolded;
};

// Reads `path` ("-" = stdin; gz, bz2, xz, zst decompressed) and parses it as pprof when its
// bytes are one (gzip or raw), else as folded text. Folded input with fractional or two-count
// (differential) lines is refused: a Profile holds whole counts.
Result<LoadedProfile> load_profile(const std::string& path, const PprofReadOptions& pprof,
                                   WarningSink* warnings);
// The same for bytes already read; `name` names them in errors.
Result<LoadedProfile> parse_profile(std::string bytes, std::string_view name,
                                    const PprofReadOptions& pprof, WarningSink* warnings);

// Folded lines as a Profile (see above). Fails on a fractional or differential line.
Result<Profile> profile_from_folded(const FoldedData& data, std::string_view name);

// The Profile as folded text (see above).
struct FoldOptions {
  bool comm = true;      // the sample's comm as the first frame, when it has one
  bool per_cpu = false;  // "cpu-N" before that (`profile top --per-cpu`), when it has a CPU
};
std::string to_folded(const Profile& profile, const FoldOptions& options = {});

// The name a frame is shown by: the function's, or "[module basename]" / "[unknown]".
std::string frame_name(const Profile& profile, const Location& loc, const Line& line);

// One canonical profile of all inputs (see above). Info: the earliest start, the span to the
// latest end, the union of events (sorted by name) and comments.
Profile merge(std::span<const Profile> inputs);

}  // namespace prof::interop
