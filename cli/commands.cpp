#include "commands.h"

#include "prof/common/cli_support.h"

namespace prof::app {

int pipeline_command(int, char**) {
  return cli::report_error(Error{
      Errc::kUnsupported,
      "the all-in-one pipeline ('profile -a -g 10s > out.svg') is not implemented yet; "
      "use the stages ('profile record', 'profile symbolize', 'profile fold', 'profile render')"});
}

int report_command(int argc, char** argv) {
  return cli::unimplemented_command(argc, argv, "report");
}

int top_command(int argc, char** argv) {
  return cli::unimplemented_command(argc, argv, "top");
}

}  // namespace prof::app
