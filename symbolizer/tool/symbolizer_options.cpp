#include "symbolizer_options.h"

namespace prof::symbolizer {

namespace po = boost::program_options;

void add_symbolizer_options(po::options_description& opts, bool pipeline) {
  opts.add_options()("kallsyms", po::value<std::string>()->value_name("FILE"),
                     "kernel symbols from FILE (a saved /proc/kallsyms) instead of /proc/kallsyms")(
      "no-kernel-symbols", "leave kernel frames as [unknown]")(
      "symfs", po::value<std::string>()->value_name("DIR"),
      "look binaries and debug files up under DIR (a copy of the recording machine's files);"
      " implies --no-proc")("inline",
                            "expand inlined functions into frames, from DWARF (default: off)")(
      "srcline", "source file:line under each frame (perf-script output; default: off)")(
      "full-source-path", "with --srcline: full paths instead of base names")(
      "no-demangle", "print C++/Rust names as mangled")(
      "full-signatures",
      "C++ names as whole signatures: return type, parameters, qualifiers and GCC clone "
      "suffixes ([clone .constprop.0]), as c++filt prints them (default: perf's form, the "
      "qualified name with its template arguments)")(
      "no-proc", "do not consult /proc for live processes (offline analysis)")(
      "max-stack", po::value<std::size_t>()->default_value(127)->value_name("N"),
      "frames kept per sample");
  if (!pipeline)
    opts.add_options()("threads,j", po::value<unsigned>()->default_value(0)->value_name("N"),
                       "threads for resolving, DWARF unwinding and text output "
                       "(default 0: one per CPU)");
}

Result<Options> symbolizer_options_from(const po::variables_map& vm) {
  Options o;
  o.max_stack = vm["max-stack"].as<std::size_t>();
  if (o.max_stack == 0) return Error{Errc::kUsage, "--max-stack must be at least 1"};
  if (vm.count("kallsyms")) o.kallsyms = vm["kallsyms"].as<std::string>();
  if (vm.count("no-kernel-symbols")) o.kallsyms.clear();
  if (vm.count("symfs")) {
    o.symfs = vm["symfs"].as<std::string>();
    while (o.symfs.size() > 1 && o.symfs.back() == '/') o.symfs.pop_back();
    o.use_proc = false;
  }
  if (vm.count("no-proc")) o.use_proc = false;
  o.inline_frames = vm.count("inline") > 0;
  o.srcline = vm.count("srcline") > 0;
  o.srcline_full_path = vm.count("full-source-path") > 0;
  o.demangle = vm.count("no-demangle") == 0;
  o.demangle_params = vm.count("full-signatures") > 0;
  if (vm.count("threads")) o.threads = vm["threads"].as<unsigned>();
  return o;
}

}  // namespace prof::symbolizer
