#include "docgen.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "commands.h"
#include "prof/cli/help.h"
#include "prof/cli/support.h"

#ifndef PROF_VERSION
#define PROF_VERSION "0.0.0"
#endif

namespace prof::app {
namespace {

namespace po = boost::program_options;

// One command's --help, taken apart: the caption's usage lines and paragraphs, then the
// option groups in the order --help prints them.
struct Section {
  std::string title;
  std::vector<boost::shared_ptr<po::option_description>> options;  // shared with the table
};
struct HelpPage {
  std::string name;     // "" for the all-in-one, else the subcommand
  std::string summary;  // one line
  std::vector<std::string> usage;
  std::vector<std::string> paragraphs;
  std::vector<Section> sections;
};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.remove_suffix(1);
  return std::string(s);
}

// The caption of a group: its last line ("Options:") is the title; above it, in the first
// group only, the usage lines and the description paragraphs.
void take_caption(const std::vector<std::string>& lines, HelpPage& page) {
  std::size_t last = lines.size();
  while (last > 0 && trim(lines[last - 1]).empty()) --last;
  if (last == 0) return;
  std::string title = trim(lines[last - 1]);
  if (!title.empty() && title.back() == ':') title.pop_back();
  page.sections.push_back({title, {}});
  std::string para;
  bool in_usage = false;
  for (std::size_t i = 0; i < last - 1; ++i) {
    const std::string& l = lines[i];
    if (starts_with(l, "Usage: ")) {
      page.usage.push_back(trim(l.substr(7)));
      in_usage = true;
    } else if (in_usage && starts_with(l, "  ") && !trim(l).empty()) {
      page.usage.push_back(trim(l));
    } else if (trim(l).empty()) {
      in_usage = false;
      if (!para.empty()) page.paragraphs.push_back(para);
      para.clear();
    } else {
      in_usage = false;
      para += (para.empty() ? "" : " ") + trim(l);
    }
  }
  if (!para.empty()) page.paragraphs.push_back(para);
}

// Walks the text Boost prints for `table`: an unindented line belongs to a group's caption, a
// line "  " + format_name() starts an option, deeper lines continue a description. Every
// option of the table must be found, or the page would silently lack one.
Result<HelpPage> take_apart(const po::options_description& table, std::string name,
                            std::string summary) {
  std::ostringstream printed;
  printed << table;
  HelpPage page{std::move(name), std::move(summary), {}, {}, {}};
  std::vector<std::string> caption;
  std::istringstream in(printed.str());
  std::size_t found = 0;
  for (std::string line; std::getline(in, line);) {
    if (starts_with(line, "  -")) {
      if (!caption.empty()) take_caption(caption, page);
      caption.clear();
      if (page.sections.empty()) page.sections.push_back({"Options", {}});
      boost::shared_ptr<po::option_description> match;
      for (const auto& o : table.options()) {
        std::string n = o->format_name();
        if (line.compare(2, n.size(), n) == 0 &&
            (line.size() == 2 + n.size() || line[2 + n.size()] == ' '))
          match = o;
      }
      if (!match)
        return Error{Errc::kInternal, "help of '" + page.name + "': no option for '" + line + "'"};
      page.sections.back().options.push_back(match);
      ++found;
    } else if (!starts_with(line, " ")) {
      caption.push_back(line);
    }
  }
  if (found != table.options().size())
    return Error{Errc::kInternal, "help of '" + page.name + "': " + std::to_string(found) + " of " +
                                      std::to_string(table.options().size()) +
                                      " options found in the printed help"};
  return page;
}

Result<HelpPage> capture(const Subcommand& s) {
  cli::HelpCapture cap;
  std::string name = s.name, help = "--help";
  char* argv[] = {name.data(), help.data(), nullptr};
  std::streambuf* out = std::cout.rdbuf(nullptr);  // a command that prints anyway prints nowhere
  s.run(2, argv);
  std::cout.rdbuf(out);
  if (!cap.captured())
    return Error{Errc::kInternal, std::string("'profile ") + s.name +
                                      " --help' did not go through prof::cli::print_help"};
  return take_apart(*cap.captured(), s.name, s.summary);
}

// ---- roff ----

// Text for roff: backslashes and hyphens escaped (an unescaped '-' may print as a hyphen that
// breaks a copied command line), a leading '.' or '\'' defused, anything past ASCII as \[uXXXX].
std::string roff(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else if ((c == '.' || c == '\'') && (out.empty() || out.back() == '\n')) {
      out += "\\&";
      out += static_cast<char>(c);
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      std::uint32_t cp = 0;
      int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
      cp = c & (0x3f >> extra);
      for (int k = 0; k < extra && i + 1 < s.size(); ++k) cp = (cp << 6) | (s[++i] & 0x3f);
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\[u%04X]", static_cast<unsigned>(cp));
      out += buf;
    }
  }
  return out;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "FILE (=perf.data)" -> {"FILE", "perf.data"}.
std::pair<std::string, std::string> split_parameter(const std::string& p) {
  auto at = p.find(" (=");
  if (at == std::string::npos || p.back() != ')') return {p, ""};
  return {p.substr(0, at), p.substr(at + 3, p.size() - at - 4)};
}

void roff_option(std::ostream& out, const po::option_description& o) {
  std::string shortname = o.canonical_display_name(po::command_line_style::allow_dash_for_short);
  std::string longname = o.long_name();
  out << ".TP\n";
  std::string names;
  if (!shortname.empty() && shortname.size() == 2 && shortname[0] == '-')
    names = "\\fB" + roff(shortname) + "\\fR";
  if (!longname.empty())
    names += (names.empty() ? "" : ", ") + std::string("\\fB") + roff("--" + longname) + "\\fR";
  auto [param, def] = split_parameter(o.format_parameter());
  if (!param.empty()) names += " \\fI" + roff(param) + "\\fR";
  out << names << '\n' << roff(o.description());
  if (!def.empty()) out << " (default: " << roff(def) << ")";
  out << '\n';
}

void roff_examples(std::ostream& out, std::string_view name) {
  auto ex = cli::examples(name);
  if (ex.empty()) return;
  out << ".SH EXAMPLES\n";
  for (const auto& e : ex) {
    out << ".PP\n" << roff(e.what) << ":\n.PP\n.RS 4\n.EX\n" << roff(e.command) << "\n.EE\n.RE\n";
  }
}

std::string roff_usage(const std::string& usage) {
  // Bold the command words ("profile top"), the rest as typed.
  std::istringstream words(usage);
  std::string w, out, rest;
  bool command = true;
  for (int n = 0; words >> w; ++n) {
    if (command && (n == 0 || (n == 1 && w[0] >= 'a' && w[0] <= 'z'))) {
      out += (out.empty() ? "" : " ") + std::string("\\fB") + roff(w) + "\\fR";
    } else {
      command = false;
      out += " " + roff(w);
    }
  }
  return out;
}

void write_page(std::ostream& out, const HelpPage& page, std::span<const Subcommand> subs) {
  const std::string full = page.name.empty() ? "profile" : "profile-" + page.name;
  out << ".\\\" Generated by 'profile --help-format=man' from the options 'profile"
      << (page.name.empty() ? "" : " " + page.name) << " --help' prints; do not edit.\n";
  out << ".TH " << upper(full) << " 1 \"\" \"profile " PROF_VERSION "\" \"User Commands\"\n";
  out << ".SH NAME\n" << roff(full) << " \\- " << roff(page.summary) << '\n';
  out << ".SH SYNOPSIS\n";
  for (std::size_t i = 0; i < page.usage.size(); ++i)
    out << (i ? ".br\n" : "") << roff_usage(page.usage[i]) << '\n';
  if (page.name.empty()) out << ".br\n\\fBprofile\\fR \\fISUBCOMMAND\\fR [options]\n";
  out << ".SH DESCRIPTION\n";
  for (std::size_t i = 0; i < page.paragraphs.size(); ++i)
    out << (i ? ".PP\n" : "") << roff(page.paragraphs[i]) << '\n';
  if (page.name.empty()) {
    out << ".PP\nThe subcommands run one stage each, or join some; each has its own page:\n";
    for (const auto& s : subs)
      out << ".TP\n\\fBprofile " << roff(s.name) << "\\fR\n"
          << roff(s.summary) << " (\\fBprofile\\-" << roff(s.name) << "\\fR(1))\n";
    out << ".PP\n\\fBprofile \\-\\-version\\fR prints the version and the git revision it was "
           "built from; \\fBprofile help\\fR \\fISUBCOMMAND\\fR prints a subcommand's "
           "options.\n";
  }
  // One group: OPTIONS, its caption below if it says more ("Options (flamegraph.pl's
  // names...)"); several (the all-in-one): a subsection each, titled by its caption.
  std::size_t groups = 0;
  for (const auto& sec : page.sections) groups += sec.options.empty() ? 0 : 1;
  out << ".SH OPTIONS\n";
  for (const auto& sec : page.sections) {
    if (sec.options.empty()) continue;
    if (groups > 1) out << ".SS " << roff(sec.title) << '\n';
    else if (sec.title != "Options") out << roff(sec.title) << ":\n";
    for (const auto& o : sec.options) roff_option(out, *o);
  }
  roff_examples(out, page.name);
  out << ".SH SEE ALSO\n";
  std::string see;
  if (!page.name.empty()) see = "\\fBprofile\\fR(1)";
  for (const auto& s : subs)
    if (s.name != page.name)
      see += (see.empty() ? "" : ", ") + std::string("\\fBprofile\\-") + roff(s.name) + "\\fR(1)";
  out << see << ", \\fBperf\\fR(1)\n";
}

// ---- completion ----

struct Words {
  std::string all;         // every spelling, space-separated
  std::string with_value;  // the spellings that take a value
};

Words words_of(const HelpPage& page) {
  Words w;
  for (const auto& sec : page.sections)
    for (const auto& o : sec.options) {
      std::vector<std::string> names;
      if (!o->long_name().empty()) names.push_back("--" + o->long_name());
      auto s = o->canonical_display_name(po::command_line_style::allow_dash_for_short);
      if (s.size() == 2 && s[0] == '-') names.push_back(s);
      for (const auto& n : names) {
        w.all += (w.all.empty() ? "" : " ") + n;
        if (o->semantic()->max_tokens() > 0) w.with_value += " " + n;
      }
    }
  return w;
}

std::string shell_name(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return out;
}

void write_bash(std::ostream& out, const std::vector<HelpPage>& pages) {
  out << "# bash completion for profile(1). Generated by 'profile --help-format=bash' from the\n"
         "# options each command's --help prints; do not edit.\n";
  std::string subs;
  for (const auto& p : pages) {
    Words w = words_of(p);
    std::string id = p.name.empty() ? "main" : shell_name(p.name);
    out << "_profile_opts_" << id << "='" << w.all << "'\n";
    out << "_profile_vals_" << id << "='" << w.with_value << " '\n";
    if (!p.name.empty()) subs += (subs.empty() ? "" : " ") + p.name;
  }
  out << "_profile_subcommands='" << subs << "'\n";
  out << R"(_profile() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev= id=main first=1 i
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  if ((COMP_CWORD >= 2)) && [[ " $_profile_subcommands " == *" ${COMP_WORDS[1]} "* ]]; then
    id=${COMP_WORDS[1]}
    first=2
  fi
  if [[ ${COMP_WORDS[1]} == help ]] && ((COMP_CWORD == 2)); then
    COMPREPLY=($(compgen -W "$_profile_subcommands" -- "$cur"))
    return 0
  fi
  for ((i = first; i < COMP_CWORD; i++)); do
    if [[ ${COMP_WORDS[i]} == -- ]]; then  # the profiled command and its arguments
      if ((i == COMP_CWORD - 1)); then
        COMPREPLY=($(compgen -c -- "$cur"))
      else
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
      fi
      return 0
    fi
  done
  local opts_var=_profile_opts_${id//[^a-zA-Z0-9]/_} vals_var=_profile_vals_${id//[^a-zA-Z0-9]/_}
  if [[ $cur != -* && " ${!vals_var} " == *" $prev "* ]]; then
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "${!opts_var}" -- "$cur"))
  elif ((COMP_CWORD == 1)); then
    COMPREPLY=($(compgen -W "$_profile_subcommands help" -- "$cur"))
  else
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}
complete -F _profile profile
)";
}

// zsh's _arguments specs: '--name=[description]:VALUE:_files'; brackets and backslashes in
// the description are escaped (the first bare ']' ends it), single quotes closed and reopened.
std::string zsh_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}
std::string zsh_description(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  if (out.size() > 100) out = out.substr(0, 97) + "...";
  return out;
}

void write_zsh(std::ostream& out, const std::vector<HelpPage>& pages) {
  out << "#compdef profile\n"
         "# zsh completion for profile(1). Generated by 'profile --help-format=zsh' from the\n"
         "# options each command's --help prints; do not edit.\n\n";
  for (const auto& p : pages) {
    std::string id = p.name.empty() ? "main" : shell_name(p.name);
    out << "_profile_" << id << "() {\n  _arguments -s -S \\\n";
    for (const auto& sec : p.sections)
      for (const auto& o : sec.options) {
        bool value = o->semantic()->max_tokens() > 0;
        std::string desc = "[" + zsh_description(o->description()) + "]";
        std::string message = split_parameter(o->format_parameter()).first;
        if (message == "arg") message = "value";  // Boost's name for an unnamed value
        std::string arg = value ? ":" + message + ":_files" : "";
        if (!o->long_name().empty())
          out << "    " << zsh_quote("--" + o->long_name() + (value ? "=" : "") + desc + arg)
              << " \\\n";
        auto s = o->canonical_display_name(po::command_line_style::allow_dash_for_short);
        if (s.size() == 2 && s[0] == '-')
          out << "    " << zsh_quote(s + (value ? "+" : "") + desc + arg) << " \\\n";
      }
    out << "    '*:file:_files'\n}\n\n";
  }
  out << "_profile() {\n  local -a subcommands\n  subcommands=(\n";
  for (const auto& p : pages)
    if (!p.name.empty())
      out << "    " << zsh_quote(p.name + ":" + zsh_description(p.summary)) << '\n';
  out << "  )\n"
         "  if ((CURRENT == 2)) && [[ $words[2] != -* ]]; then\n"
         "    _describe -t commands 'profile subcommand' subcommands\n"
         "    return\n"
         "  fi\n"
         "  case $words[2] in\n";
  for (const auto& p : pages)
    if (!p.name.empty())
      out << "    " << p.name << ") shift words; ((CURRENT--)); _profile_" << shell_name(p.name)
          << " ;;\n";
  out << "    help) _describe -t commands 'profile subcommand' subcommands ;;\n"
         "    *) _profile_main ;;\n"
         "  esac\n"
         "}\n\n"
         "_profile \"$@\"\n";
}

}  // namespace

int help_format_command(std::string_view format, std::span<const Subcommand> subcommands, int argc,
                        char** argv) {
  if (format != "man" && format != "bash" && format != "zsh")
    return cli::usage_error(
        "--help-format '" + std::string(format) + "': expected man, bash or zsh", "");
  std::vector<HelpPage> pages;
  auto main_page = capture({"", pipeline_command, "a Linux CPU profiler and flame-graph toolkit"});
  if (!main_page) return cli::report_error(main_page.error());
  pages.push_back(std::move(*main_page));
  for (const auto& s : subcommands) {
    auto page = capture(s);
    if (!page) return cli::report_error(page.error());
    pages.push_back(std::move(*page));
  }
  if (format != "man") {
    if (argc > 1)
      return cli::usage_error(
          "--help-format=" + std::string(format) + " takes at most one argument: the file to write",
          "");
    std::ostringstream script;
    if (format == "bash") write_bash(script, pages);
    else write_zsh(script, pages);
    if (auto w = cli::write_output(argc == 1 ? argv[0] : "", script.str()); !w)
      return cli::report_error(w.error());
    return cli::exit_now(cli::kExitOk);
  }
  if (argc != 1)
    return cli::usage_error("--help-format=man takes one argument: the directory to write to", "");
  const std::string dir = argv[0];
  for (const auto& p : pages) {
    std::ostringstream page;
    write_page(page, p, subcommands);
    const std::string path = dir + "/" + (p.name.empty() ? "profile" : "profile-" + p.name) + ".1";
    if (auto w = cli::write_output(path, page.str()); !w) return cli::report_error(w.error());
  }
  return cli::kExitOk;
}

}  // namespace prof::app
