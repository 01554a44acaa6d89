// speedscope's file format (https://www.speedscope.app/file-format-schema.json): one `sampled`
// profile per thread (and event), its samples in time order, weighed by the event's value, so
// speedscope's "Time Order" view shows what ran when; frames shared by all profiles.
//
// Pipeline position: prof::interop, a consumer of prof::Profile. The profile's samples should
// be unmerged (every sample, as the symbolizer stores them without Options::aggregate) for a
// time axis; merged samples still give correct "Left Heavy" and sandwich views.
//
//   std::string json = prof::interop::write_speedscope(profile, {.name = "profile -a 10s"});
#pragma once

#include <string>

#include "prof/common/profile.h"

namespace prof::interop {

struct SpeedscopeOptions {
  std::string name;      // the file's name in speedscope's title bar ("" = "profile")
  std::string exporter;  // "profile VERSION"
};
std::string write_speedscope(const Profile& profile, const SpeedscopeOptions& options = {});

}  // namespace prof::interop
