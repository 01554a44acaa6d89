#include "collector_command.h"

#include "prof/common/cli_support.h"

namespace prof::collector {

int record_command(int argc, char** argv) {
  return cli::unimplemented_command(argc, argv, "record");
}

int list_command(int argc, char** argv) {
  return cli::unimplemented_command(argc, argv, "list");
}

}  // namespace prof::collector
