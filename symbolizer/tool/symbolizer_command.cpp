#include "symbolizer_command.h"

#include "prof/common/cli_support.h"

namespace prof::symbolizer {

int symbolize_command(int argc, char** argv) {
  return cli::unimplemented_command(argc, argv, "symbolize");
}

}  // namespace prof::symbolizer
