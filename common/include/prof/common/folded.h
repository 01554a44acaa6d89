// Folded stacks: the text format between the folder and the renderer ("a;b;c 123" lines).
//
// Pipeline position: shared (prof::common). The folder writes it, the renderer and `profile diff`
// read it. The syntax follows flamegraph.pl (reference/flamegraph-behaviour.md 2.2):
//   STACK <one whitespace char> COUNT            single count
//   STACK <ws> COUNT1 <ws> COUNT2                differential (before, after), difffolded.pl output
// COUNT is `digits` or `digits.digits*` (no sign, exponent or leading dot). STACK is greedy:
// extra whitespace before the count stays in the last frame name, as in flamegraph.pl.
// Lines starting with "# " are comments (austin and other profilers write such headers) and are
// skipped silently; a trailing '\r' is tolerated (CRLF files). Everything else that does not match
// is counted as invalid and reported once through the WarningSink (kind "folded-invalid-line").
//
//   auto in = prof::InputFile::open("out.folded.gz");
//   prof::WarningSink sink;
//   auto data = prof::read_folded(**in, &sink);       // Result<FoldedData>
//   for (const auto& l : data->lines) use(l.stack, l.count());
//   std::string out;
//   prof::append_folded_line(out, "a;b", 3);            // "a;b 3\n"
//   std::vector<std::string_view> frames;
//   prof::split_folded_stack("a;b;", frames, prof::TrailingEmptyFrames::kDrop);  // {"a", "b"}
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/input.h"
#include "prof/common/result.h"
#include "prof/common/warnings.h"

namespace prof {

// One parsed line. `stack` and `text` view the owning buffer (FoldedData::text or the caller's).
struct FoldedLine {
  std::string_view text;   // the whole line without its newline (and '\r')
  std::string_view stack;  // frames joined by ';'
  double count1 = 0;       // differential: "before" count; single-count lines: the count
  double count2 = 0;       // differential: "after" count (the width); equals count1 otherwise
  bool differential = false;
  double count() const { return count2; }
};

// Parses one line (without '\n'). Returns std::nullopt for an invalid line.
std::optional<FoldedLine> parse_folded_line(std::string_view line);
// True for a comment line ("# ..." or a lone "#").
bool is_folded_comment(std::string_view line);

// A whole folded input, owning its text: a string, or a read-only mapping of the file. The text
// sits behind a pointer so that the lines' views stay valid when FoldedData is moved (a moved
// short std::string would take its bytes along).
struct FoldedData {
  std::shared_ptr<const void> storage;  // keeps the bytes the lines view
  std::vector<FoldedLine> lines;        // valid lines, in input order
  std::uint64_t invalid_lines = 0;      // lines that did not parse (empty lines included)
  std::uint64_t comment_lines = 0;
  bool any_differential = false;  // at least one two-count line
  bool any_fractional = false;    // at least one count with a fractional part
};

// Parses `text` (takes ownership). `source` names the input in warnings ("" = none).
FoldedData parse_folded(std::string text, WarningSink* warnings = nullptr,
                        std::string_view source = {});
// Parses bytes that `storage` keeps alive (a file mapping: map_folded_file below).
FoldedData parse_folded(std::shared_ptr<const void> storage, std::string_view text,
                        WarningSink* warnings = nullptr, std::string_view source = {});
// A plain (uncompressed) regular file mapped read-only and parsed in place: no copy, no zeroed
// buffer, one batch of page mappings instead of a fault per page (the text of a 100 MB render
// input was most of its time). std::nullopt when `path` is not one — stdin, a pipe, a compressed
// file — and InputFile must read it. `source` names it in warnings. The file must not shrink
// while the data lives (as for any mapping, the kernel would signal SIGBUS).
Result<std::optional<FoldedData>> map_folded_file(const std::string& path, WarningSink* warnings,
                                                  std::string_view source);
// Reads all of an input (decompressing as needed) into one string.
Result<std::string> read_whole(InputFile& in);
// Reads (decompressing as needed) and parses an input file.
Result<FoldedData> read_folded(InputFile& in, WarningSink* warnings = nullptr);

// Formats a count as Perl's default number format does ("%.15g": 3, 7.5, 0.1).
void append_count(std::string& out, double count);
// Appends "STACK COUNT\n".
void append_folded_line(std::string& out, std::string_view stack, double count);
// Appends "STACK COUNT1 COUNT2\n".
void append_folded_line(std::string& out, std::string_view stack, double count1, double count2);

// What split_folded_stack does with empty frames at the end of a stack ("a;b;", ";", ""):
// kKeep keeps them as frames (`top`: an empty leaf is a function of its own), kDrop drops them
// as Perl's split does (the renderer draws what flamegraph.pl draws).
enum class TrailingEmptyFrames { kKeep, kDrop };
// Splits "a;b;c" at every ';' into `out` (cleared first), root first; the views point into
// `stack`. Empty frames elsewhere ("a;;b") are always kept.
void split_folded_stack(std::string_view stack, std::vector<std::string_view>& out,
                        TrailingEmptyFrames trailing);

}  // namespace prof
