// Private: text helpers for the SVG writer (escaping, UTF-8, labels, number formatting).
#pragma once

#include <string>
#include <string_view>

namespace prof::renderer::detail {

// Appends `s` escaped for XML text and attribute values (&, <, >, ", ' become entities).
// Invalid UTF-8 and characters XML 1.0 forbids (C0 controls other than tab/LF/CR) become U+FFFD.
void append_xml(std::string& out, std::string_view s);
// Appends `s` as a JavaScript string literal body safe inside CDATA and <script>: everything
// outside [A-Za-z0-9 _.,:;+=*/()-] is written as \uXXXX (surrogate pairs beyond the BMP).
void append_js_string(std::string& out, std::string_view s);

// Number of Unicode code points (invalid bytes count one each).
std::size_t utf8_length(std::string_view s);
// Byte length of the first `n` code points.
std::size_t utf8_prefix_bytes(std::string_view s, std::size_t n);
// Sum of code points mod 2^32 (flamegraph.pl seeds its colour rand() with it).
std::uint32_t utf8_codepoint_sum(std::string_view s);

// Removes one trailing flamegraph.pl annotation: _[k] _[w] _[i] _[j].
std::string_view strip_annotation(std::string_view name);

// Label that fits `chars` characters: "" when chars < 3; the name when it fits; otherwise
// chars-2 characters and "..", keeping the start (or the end when keep_end).
std::string fit_label(std::string_view name, std::size_t chars, bool keep_end);

// printf-compatible formatting without the locale/varargs cost.
void append_fixed(std::string& out, double v, int decimals);  // "%.Nf"
void append_general(std::string& out, double v);              // Perl's default "%.15g"
// "%.0f" with thousands separators: 1234567 -> "1,234,567".
void append_count_commas(std::string& out, double v);
// v rounded as "%.Nf" would print it.
double round_as_printed(double v, int decimals);

}  // namespace prof::renderer::detail
