// `profile fold`: maps command-line options onto prof::folder. argv[0] is "fold".
#pragma once

namespace prof::folder {

int fold_command(int argc, char** argv);

}  // namespace prof::folder
