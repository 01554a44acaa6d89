#include "folder_command.h"

#include "prof/common/cli_support.h"

namespace prof::folder {

int fold_command(int argc, char** argv) {
  return cli::unimplemented_command(argc, argv, "fold");
}

}  // namespace prof::folder
