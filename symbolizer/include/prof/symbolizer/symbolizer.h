// prof::symbolizer — turns the raw stacks of a perf.data capture into named frames.
//
// Pipeline position: perf.data (collector or `perf record`) -> **symbolizer** -> folder. The
// symbolizer produces a prof::Profile (the typed model: mappings, functions, locations with their
// inline lines, interned stacks, samples); inside one process the folder reads it, or the same
// samples as prof::StackSampleView (leaf first, for_each_sample); `profile symbolize` prints them
// as `perf script` text (write_perf_script).
//
// How it works: records are fed in time order (symbolize_perf_data does this); MMAP/MMAP2, COMM,
// FORK and EXIT build one address space per process; each sample's callchain is translated at
// once, against the maps of that moment, into locations — (kernel, address), (mapped object,
// file offset), (perf map, address) or (nothing, address) — which are interned, so a location
// seen a million times is one entry. resolve() then symbolizes every distinct location exactly
// once, in parallel over mapped objects (one libdw handle per object and thread: libdw is not
// thread-safe), and adds them to the profile; for_each_sample() replays the samples with their
// names. The parts live in symbolizer/src: ObjectRegistry (address spaces and objects),
// CallchainTranslator (callchains into interned locations), UnwindBatcher (DWARF unwinding in
// batches), LocationResolver (batches of locations into frames) and the perf-script printer.
// Nothing here is an error for one frame: an unresolved address is data — `[unknown]` for the
// symbol, the mapped file (or `[unknown]`) for the module — and is counted in the Summary.
//
//   prof::symbolizer::Symbolizer sym({.inline_frames = true});
//   auto reader = prof::perf::PerfDataReader::open("perf.data");
//   if (auto r = prof::symbolizer::symbolize_perf_data(**reader, sym); !r) die(r.error());
//   const prof::Profile& profile = sym.profile();
//   sym.for_each_sample([&](const prof::StackSampleView& s) { folder.add(s); });
//   // or: prof::symbolizer::write_perf_script(std::cout, s, {});
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "prof/common/perf_data.h"
#include "prof/common/profile.h"
#include "prof/common/result.h"
#include "prof/common/stack.h"
#include "prof/common/warnings.h"

namespace prof::symbolizer {

inline constexpr int kApiVersion = 1;

struct Options {
  // Kernel symbols: "/proc/kallsyms" by default; a saved copy for another machine's capture;
  // "" to leave kernel frames unresolved.
  std::string kallsyms = "/proc/kallsyms";
  // Root under which recorded paths (binaries, debug files, /tmp/perf-PID.map) are looked up;
  // default "" (the paths as recorded, on this machine).
  std::string symfs;
  // perf's build-id cache, where an object that changed since the capture (its build-id is not
  // the recorded one) is looked up as .build-id/<2 hex>/<38 hex>/elf; default "" =
  // $HOME/.debug, perf's own.
  std::string build_id_dir;
  bool inline_frames = false;      // expand DWARF inline chains (perf script --inline); off
  bool srcline = false;            // source file:line per frame (perf script -F +srcline); off
  bool srcline_full_path = false;  // full path in srclines instead of the base name; off
  bool demangle = true;            // C++/Rust demangling; on
  bool demangle_params = false;    // C++ names with parameter lists; off (perf script's form)
  // Open binaries of live processes through /proc/PID/root (containers) and
  // /proc/PID/map_files (deleted files) when their maps are added; on. Off for offline use.
  bool use_proc = true;
  unsigned threads = 0;  // resolver and unwinding threads; 0 = one per online CPU
  // Unwind samples that carry user registers and a stack copy (`--call-graph dwarf`) with
  // libdwfl; on. Off: only the kernel callchain and the sampled ip are used.
  bool unwind_dwarf = true;
  // Take unwinding steps from CFI rules copied out of libdw once per pc and evaluated here,
  // as libdwfl evaluates them; on. Samples with a step this does not cover (signal frames,
  // unusual DWARF operations, a step libdwfl fails) go through libdwfl's unwinder, so the
  // results are the same. Off: every sample through libdwfl (slower; for comparison).
  bool unwind_cached_rules = true;
  std::size_t max_stack = 127;  // frames kept per sample (perf's default --max-stack)
  // Keep up to this many opened objects (ELF, DWARF) between resolve() calls, the least
  // recently used dropped first, for callers that resolve again and again (`--every`
  // windows: an object is opened once, not once per window). Default 0: closed after each
  // resolve(), for the one-shot commands, whose memory they would only hold.
  std::size_t kept_objects = 0;
  // Merge samples with the same comm, pid, tid, cpu, event and frames into one stored sample
  // whose period is the sum (a period of 0 counts as 1, as folding counts it) and whose time is
  // the first one's; off. Memory then grows with distinct stacks, not with samples. For folded
  // output, flame graphs and tables; not for perf-script text, which prints every sample.
  // The profile merges them (prof::Profile::Options::merge_samples).
  bool aggregate = false;
};

// Counts for the end-of-run summary (`profile symbolize` prints it on stderr).
struct Summary {
  std::uint64_t samples = 0;
  std::uint64_t frames = 0;  // printed frames, inlined ones included
  std::uint64_t kernel_frames = 0;
  std::uint64_t inlined_frames = 0;
  std::uint64_t unmapped_frames = 0;     // no mapping covered the address: [unknown] ([unknown])
  std::uint64_t unresolved_frames = 0;   // mapped, but no symbol: [unknown] (module)
  std::uint64_t locations = 0;           // distinct locations resolved
  std::uint64_t objects = 0;             // distinct mapped objects opened
  std::uint64_t missing_objects = 0;     // objects that could not be opened or parsed
  std::uint64_t lost_samples = 0;        // from PERF_RECORD_LOST
  std::uint64_t bad_records = 0;         // records that did not decode (skipped)
  std::uint64_t corrupt_callchains = 0;  // callchains cut at a value that is no context marker
  std::uint64_t unwound_samples = 0;     // user stacks unwound from a stack copy (DWARF)
  std::uint64_t unwind_early_stops =
      0;  // of those, unwinds that stopped before the outermost frame
  std::map<std::string, std::uint64_t> unwind_stop_reasons;  // libdwfl's message -> count
};

struct ScriptFormat {
  bool pid = true;       // "comm pid/tid" (perf script -F +pid); false: "comm tid" (perf default)
  bool srcline = false;  // a "  file.c:12" line under each frame
};

class Symbolizer {
 public:
  explicit Symbolizer(Options options = {}, WarningSink* warnings = nullptr);
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // The build-ids the capture recorded for the objects with samples (perf.data's BUILD_ID
  // feature; pipe mode: HEADER_BUILD_ID records), which RecordFeeder passes on by itself. At
  // resolve(), an object whose file at the recorded path now has another build-id (a binary
  // rebuilt since) is read from perf's build-id cache when the old one is there
  // (Options::build_id_dir); otherwise its frames print as [unknown] in its module, with one
  // "build-id-mismatch" warning per object naming both build-ids. A build-id carried by the
  // MMAP2 record itself (--buildid-mmap) is checked the same way. May be called again as more
  // arrive.
  void set_recorded_build_ids(const std::vector<perf::BuildIdEntry>& entries);

  // Sideband, in time order.
  void add_mmap(const perf::Mmap& m);
  void add_comm(const perf::Comm& c);
  void add_fork(const perf::Task& t);
  void add_exit(const perf::Task& t);
  void add_lost(std::uint64_t lost);
  void add_bad_record();

  // Stores a sample; its frames are translated against the current maps. `event` is copied.
  // `sample_regs_user` is the attr's register mask (needed to read s.regs_user); a sample with
  // user registers and a stack copy (--call-graph dwarf) is queued with a snapshot of its
  // process's maps and unwound in a batch, in parallel (Options::threads), when the batch is
  // full or at resolve(). Its stack copy is copied for that unless `stack_stays_valid` (the
  // bytes s.stack_user points into stay readable until resolve(), as a mapped perf.data's
  // do); default false.
  void add_sample(const perf::Sample& s, std::string_view event, std::uint64_t sample_regs_user = 0,
                  bool stack_stays_valid = false);

  // Room for `samples` more samples of `frames` frames in all, so that storing them moves
  // nothing (a hint; more may be added). Untouched room costs address space only.
  void reserve(std::size_t samples, std::size_t frames);

  // Unwinds the samples still queued for DWARF unwinding and stores them (resolve() and
  // clear_samples() do this too): summary() and stored_samples() count stored samples only.
  void flush();

  // Stores the queued samples (flush), then symbolizes every distinct location not yet
  // resolved and adds it to the profile. Call before for_each_sample; calling again after more
  // samples resolves only the new locations.
  void resolve();

  // The samples stored so far, and every location resolved, as the typed model. Complete after
  // resolve(): a sample added since may name locations the profile does not have yet.
  const Profile& profile() const;
  // The same, for a caller that fills in ProfileInfo (events, start time) or moves it out.
  Profile& profile();

  // Visits the stored samples in the order they were added (time order). Views stay valid
  // during the callback only.
  void for_each_sample(const std::function<void(const StackSampleView&)>& visit) const;
  // The stored samples as `perf script` text (append_perf_script's format, byte for byte),
  // handed to `sink` in pieces, in order; formatted on Options::threads threads. Stops and
  // returns false as soon as the sink returns false (a failed write). Call after resolve().
  bool write_perf_script(const ScriptFormat& fmt,
                         const std::function<bool(std::string_view)>& sink) const;
  // Drops stored samples (resolved locations and maps stay), for streaming use.
  void clear_samples();
  // Drops the stored samples and the profile's stacks (Profile::clear_stacks); resolved
  // locations, maps and every cache stay. For a long capture cut into windows, whose memory
  // would otherwise grow with every distinct stack ever seen.
  void clear_samples_and_stacks();
  // Drops the maps and thread names of the processes and threads whose EXIT was added since
  // the last call. For a long capture cut into windows: call once a window's samples are
  // stored (no sample of an exited task comes after its EXIT), so that memory follows the
  // living processes, not every process ever seen.
  void forget_exited();
  // How many samples are stored: every added one, or with Options::aggregate the distinct ones.
  // Samples still queued for unwinding are not stored yet (see flush()).
  std::size_t stored_samples() const;

  // The counts so far; the frame counts cover the stored samples' resolved locations (call
  // after resolve()).
  Summary summary() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads every record of `reader`, feeds them to `symbolizer` in time order (perf's ordering),
// then resolves. Corrupt single records are skipped and counted; an unreadable stream is an Error.
Result<void> symbolize_perf_data(perf::PerfDataReader& reader, Symbolizer& symbolizer);

// One sample as `perf script` prints it: header line, one "\t ADDR SYM+0xOFF (MODULE)" line per
// frame, then a blank line.
void write_perf_script(std::ostream& out, const StackSampleView& sample, const ScriptFormat& fmt);
// The same, appended to a string (the fast path `profile symbolize` uses).
void append_perf_script(std::string& out, const StackSampleView& sample, const ScriptFormat& fmt);

}  // namespace prof::symbolizer
