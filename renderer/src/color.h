// Private: flamegraph.pl's colour functions (reference/flamegraph-behaviour.md 2.6).
#pragma once

#include <string>
#include <string_view>

#include "prof/renderer/renderer.h"

namespace prof::renderer::detail {

struct Rgb {
  int r = 0, g = 0, b = 0;
};

// Colour of a frame named `name` from the palette (no differential, no palette map).
// `random01` supplies values for ColorMode::kRandom.
Rgb palette_color(Palette palette, ColorMode mode, std::string_view name, double (*random01)());
// flamegraph.pl's color_scale for differential frames.
Rgb delta_color(double delta, double max_delta, bool negate);

// flamegraph.pl's srand(sum of code points); rand() -> value in [0,1).
double name_seeded_rand(std::string_view name);
// flamegraph.pl's --hash name hash in [0,1].
double name_hash(std::string_view name);

void append_rgb(std::string& out, Rgb c);  // "rgb(r,g,b)"

// Background gradient stops for --bgcolors (empty = by palette). Returns false for a bad value.
bool background_stops(std::string_view bgcolors, Palette palette, std::string& top,
                      std::string& bottom);

}  // namespace prof::renderer::detail
