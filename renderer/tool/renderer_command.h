// `profile render`: maps command-line options onto prof::renderer. argv[0] is "render".
#pragma once

namespace prof::renderer {

int render_command(int argc, char** argv);
int diff_command(int argc, char** argv);

}  // namespace prof::renderer
