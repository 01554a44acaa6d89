#include "renderer_command.h"

#include "prof/common/cli_support.h"

namespace prof::renderer {

int render_command(int argc, char** argv) {
  return cli::unimplemented_command(argc, argv, "render");
}

int diff_command(int argc, char** argv) {
  return cli::unimplemented_command(argc, argv, "diff");
}

}  // namespace prof::renderer
