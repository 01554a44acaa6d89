// The git revision the binary was built from, for `profile --version`: `git describe --always
// --dirty` of the source tree, taken at build time (cmake/GitRevision.cmake writes the
// definition on every build, touching it only when it changed); "unknown" when the sources are
// not a git checkout (a release tarball) or git is missing.
#pragma once

namespace prof::app {

const char* git_revision();

}  // namespace prof::app
