// `profile symbolize`: maps command-line options onto prof::symbolizer. argv[0] is "symbolize".
#pragma once

namespace prof::symbolizer {

int symbolize_command(int argc, char** argv);

}  // namespace prof::symbolizer
