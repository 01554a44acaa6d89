#include "prof/common/cli_support.h"

namespace prof::cli {

int report_error(const Error& e, std::ostream& err) {
  err << "profile: error: " << e.message << '\n';
  return e.code == Errc::kUsage ? kExitUsage : kExitRuntime;
}

int usage_error(std::string_view message, std::string_view subcommand, std::ostream& err) {
  err << "profile: error: " << message << " (see 'profile";
  if (!subcommand.empty()) err << ' ' << subcommand;
  err << " --help')\n";
  return kExitUsage;
}

void print_warning(std::string_view message, std::ostream& err) {
  err << "profile: warning: " << message << '\n';
}

void print_notice(std::string_view message, std::ostream& err) {
  err << "profile: " << message << '\n';
}

std::optional<int> parse(int argc, char** argv,
                         const boost::program_options::options_description& opts,
                         const boost::program_options::positional_options_description& pos,
                         boost::program_options::variables_map& vm, std::string_view subcommand) {
  namespace po = boost::program_options;
  try {
    auto style = po::command_line_style::default_style &
                 ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc, argv)
                  .options(opts)
                  .positional(pos)
                  .style(style)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what(), subcommand);
  }
  return std::nullopt;
}

int unimplemented_command(int argc, char** argv, std::string_view subcommand) {
  namespace po = boost::program_options;
  po::options_description opts("Usage: profile " + std::string(subcommand) +
                               " [options]\n\nOptions");
  opts.add_options()("help,h", "show this help");
  po::options_description all;
  all.add(opts).add_options()("input", po::value<std::vector<std::string>>(), "input");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  if (auto rc = parse(argc, argv, all, pos, vm, subcommand)) return *rc;
  if (vm.count("help")) {
    std::cout << opts << '\n';
    return kExitOk;
  }
  return report_error(Error{Errc::kUnsupported,
                            "'profile " + std::string(subcommand) + "' is not implemented yet"});
}

}  // namespace prof::cli
