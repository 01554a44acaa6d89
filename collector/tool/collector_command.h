// `profile record`: maps command-line options onto prof::collector. argv[0] is "record".
#pragma once

namespace prof::collector {

int record_command(int argc, char** argv);
int list_command(int argc, char** argv);

}  // namespace prof::collector
