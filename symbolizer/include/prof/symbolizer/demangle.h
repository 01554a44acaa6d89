// Symbol demangling for the symbolizer: C++ (Itanium ABI, `_Z...`) through the C++ runtime's
// abi::__cxa_demangle, Rust legacy names (Itanium-shaped `_ZN...17h<hash>E`, hash dropped as
// perf and rustfilt do) and Rust v0 (`_R...`, RFC 2603) through our own decoder.
//
// Pipeline position: prof::symbolizer, applied to every ELF/DWARF/perf-map name before it is
// printed. Never fails: a name that does not demangle is returned unchanged.
//
//   prof::symbolizer::demangle("_ZN3foo3barEi");           // "foo::bar" (perf script's form)
//   prof::symbolizer::demangle("_ZN3foo3barEi", true);     // "foo::bar(int)"
//   prof::symbolizer::demangle("_ZN4core3fmt5write17h0123456789abcdefE");  // "core::fmt::write"
//   prof::symbolizer::demangle("_RNvCs1234_7mycrate3foo"); // "mycrate::foo"
#pragma once

#include <string>
#include <string_view>

namespace prof::symbolizer {

// Demangles `name`; returns it unchanged when it is not a mangled C++/Rust name. Without
// `with_params` (the default) C++ names lose their parameter list, cv-qualifiers and template
// return type, as perf script and `c++filt -p` print them (thunks keep theirs, as there).
std::string demangle(std::string_view name, bool with_params = false);

// The `c++filt -p` form of an already demangled C++ name (exposed for tests).
std::string strip_cxx_params(std::string demangled);

// Rust v0 only (exposed for tests); returns "" when `name` is not valid v0.
std::string demangle_rust_v0(std::string_view name);

}  // namespace prof::symbolizer
