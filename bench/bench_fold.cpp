// Throughput of the folder (bytes of perf-script text per second): the streaming parser on one
// thread, fold_input() on 1..N threads over a file, the typed-sample path, and a typed Profile.
//
// Input: the FlameGraph peer captures ($PROF_PEER_DIR/flamegraph-tests/test/*.txt, each made to
// end with a blank line) concatenated to >= 32 MiB; without peer data, a synthetic capture.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "prof/common/input.h"
#include "prof/common/profile.h"
#include "prof/folder/folder.h"

namespace {

namespace fs = std::filesystem;

std::string synthetic_capture() {
  std::string s;
  for (int i = 0; i < 512; ++i) {
    s += "java 4242/4250 [003] 1234.567890:     250000 cpu-clock:\n";
    for (int d = 0; d < 24; ++d)
      s += "\t    7f3a" + std::to_string(10000 + (i * 7 + d) % 977) + " Lorg/app/Class" +
           std::to_string(d) + ";::method" + std::to_string(i % 13) +
           "(I)V+0x1c (/tmp/perf-4242.map)\n";
    s += "\n";
  }
  return s;
}

const std::string& capture() {
  static const std::string data = [] {
    std::string unit;
    const char* peers = std::getenv("PROF_PEER_DIR");
    fs::path dir = fs::path(peers ? peers : "../shared/peer") / "flamegraph-tests/test";
    std::error_code ec;
    if (fs::is_directory(dir, ec)) {
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".txt") files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        unit += ss.str() + "\n\n";
      }
    }
    if (unit.empty()) unit = synthetic_capture();
    std::string all;
    while (all.size() < (32u << 20)) all += unit;
    return all;
  }();
  return data;
}

void BM_FoldStream(benchmark::State& state) {
  const std::string& text = capture();
  const std::size_t chunk = 1 << 20;
  for (auto _ : state) {
    prof::folder::Folder folder;
    for (std::size_t i = 0; i < text.size(); i += chunk)
      if (!folder.feed(std::string_view(text).substr(i, chunk))) state.SkipWithError("feed");
    if (!folder.finish()) state.SkipWithError("finish");
    benchmark::DoNotOptimize(folder.counts().size());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_FoldStream)->Unit(benchmark::kMillisecond);

void BM_FoldStreamAllOptions(benchmark::State& state) {
  const std::string& text = capture();
  prof::folder::Options opt;
  opt.include_tid = opt.annotate_kernel = opt.annotate_jit = opt.per_cpu = true;
  for (auto _ : state) {
    prof::folder::Folder folder(opt);
    if (!folder.feed(text) || !folder.finish()) state.SkipWithError("fold");
    benchmark::DoNotOptimize(folder.counts().size());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_FoldStreamAllOptions)->Unit(benchmark::kMillisecond);

// Whole path from a file: read, split, fold on N threads, merge.
void BM_FoldFile(benchmark::State& state) {
  const std::string& text = capture();
  char tmpl[] = "/tmp/prof-bench-fold-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    std::abort();
  close(fd);
  for (auto _ : state) {
    auto in = prof::InputFile::open(tmpl);
    auto counts =
        prof::folder::fold_input(**in, {}, nullptr, static_cast<unsigned>(state.range(0)));
    if (!counts) state.SkipWithError("fold_input");
    benchmark::DoNotOptimize(counts->size());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
  std::remove(tmpl);
}
BENCHMARK(BM_FoldFile)->Arg(1)->Arg(2)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

// The in-process path: typed samples (the symbolizer's hand-over), 24 frames each.
void BM_FoldTypedSamples(benchmark::State& state) {
  std::vector<std::string> names;
  for (int i = 0; i < 400; ++i) names.push_back("ns::Class" + std::to_string(i) + "::method(int)");
  std::vector<prof::FrameView> frames(24);
  std::int64_t samples = 0;
  for (auto _ : state) {
    prof::folder::Folder folder;
    for (int s = 0; s < 20000; ++s) {
      for (std::size_t d = 0; d < frames.size(); ++d) {
        frames[d].address = 0x400000 + (s * 31 + d * 7) % 4000;
        frames[d].symbol = names[(s * 13 + d * 17) % names.size()];
        frames[d].module = "/usr/bin/app";
      }
      prof::StackSampleView v;
      v.comm = "app";
      v.pid = v.tid = 42;
      v.frames = frames;
      folder.add(v);
    }
    samples += 20000;
    benchmark::DoNotOptimize(folder.counts().size());
  }
  state.SetItemsProcessed(samples);
}
BENCHMARK(BM_FoldTypedSamples)->Unit(benchmark::kMillisecond);

// A typed Profile (the symbolizer's model) of 20000 samples over 2000 distinct 24-frame stacks:
// folded sample by sample through views, and whole through fold_profile().
const prof::Profile& typed_profile() {
  static const prof::Profile p = [] {
    prof::Profile prof;
    const prof::MappingId app = prof.add_mapping("/usr/bin/app");
    std::vector<prof::LocationId> locs;
    for (int i = 0; i < 400; ++i) {
      const auto fn = prof.add_function("ns::Class" + std::to_string(i) + "::method(int)");
      locs.push_back(prof.add_location(0x400000 + static_cast<std::uint64_t>(i) * 16, app,
                                       {{.function = fn}}));
    }
    std::vector<prof::StackId> stacks;
    std::vector<prof::LocationId> st(24);
    for (int s = 0; s < 2000; ++s) {
      for (std::size_t d = 0; d < st.size(); ++d) st[d] = locs[(s * 13 + d * 17) % locs.size()];
      stacks.push_back(prof.intern_stack(st));
    }
    const prof::StringId comm = prof.intern("app"), event = prof.intern("cpu-clock");
    for (int s = 0; s < 20000; ++s)
      prof.add_sample({.stack = stacks[static_cast<std::size_t>(s * 7) % stacks.size()],
                       .comm = comm,
                       .event = event,
                       .pid = 42,
                       .tid = 42,
                       .cpu = s % 4});
    return prof;
  }();
  return p;
}

void BM_FoldProfileViews(benchmark::State& state) {
  const prof::Profile& p = typed_profile();
  std::vector<prof::FrameView> scratch;
  for (auto _ : state) {
    prof::folder::Folder folder;
    for (const prof::Sample& s : p.samples()) folder.add(p.view(s, scratch));
    benchmark::DoNotOptimize(folder.take_counts().size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * p.samples().size()));
}
BENCHMARK(BM_FoldProfileViews)->Unit(benchmark::kMillisecond);

void BM_FoldProfile(benchmark::State& state) {
  const prof::Profile& p = typed_profile();
  for (auto _ : state) benchmark::DoNotOptimize(prof::folder::fold_profile(p, {}).size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * p.samples().size()));
}
BENCHMARK(BM_FoldProfile)->Unit(benchmark::kMillisecond);

}  // namespace
