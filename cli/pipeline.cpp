#include "pipeline.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace prof::app {

Result<std::unique_ptr<perf::PerfDataReader>> make_record_decoder(
    const std::vector<perf::EventAttr>& attrs, const std::string& tracing_data) {
  // The writer produces the header exactly as a `-o -` capture would carry it; the reader then
  // knows every attr and id, which is all its parse_* functions need.
  int fd = memfd_create("profile-attrs", MFD_CLOEXEC);
  if (fd < 0) return Error{Errc::kIo, std::string("memfd_create: ") + std::strerror(errno)};
  perf::PerfDataWriter::Options wopt;
  wopt.pipe_mode = true;
  wopt.features.tracing_data = tracing_data;
  std::string image;
  {
    auto w = perf::PerfDataWriter::create_fd(fd, "<capture header>", attrs, wopt);
    if (!w) {
      ::close(fd);
      return w.error();
    }
    if (auto r = (*w)->finish(); !r) {
      ::close(fd);
      return r.error();
    }
  }
  off_t size = ::lseek(fd, 0, SEEK_END);
  image.resize(static_cast<std::size_t>(size > 0 ? size : 0));
  ssize_t got = ::pread(fd, image.data(), image.size(), 0);
  ::close(fd);
  if (got != static_cast<ssize_t>(image.size()))
    return Error{Errc::kIo, "reading back the capture header failed"};
  auto reader = perf::PerfDataReader::from_memory(std::move(image), "<capture>");
  if (!reader) return reader.error();
  // Consume the header records so attrs() is complete.
  perf::Record rec;
  for (;;) {
    auto more = (*reader)->next(rec);
    if (!more) return more.error();
    if (!*more) break;
  }
  return reader;
}

CaptureSink::CaptureSink(symbolizer::Symbolizer& sym, perf::PerfDataWriter* save,
                         OffCpuTracker* off_cpu, std::string tracing_data)
    : sym_(sym), off_cpu_(off_cpu), tracing_data_(std::move(tracing_data)) {
  if (save) save_.emplace(*save);
}
CaptureSink::~CaptureSink() = default;

Result<void> CaptureSink::on_start(const std::vector<perf::EventAttr>& attrs) {
  if (save_) PROF_TRY(save_->on_start(attrs));
  auto d = make_record_decoder(attrs, tracing_data_);
  if (!d) return d.error();
  decoder_ = std::move(*d);
  feeder_ = std::make_unique<symbolizer::RecordFeeder>(*decoder_, sym_);
  event_names_.clear();
  for (const auto& a : attrs)
    event_names_.push_back(a.name.empty() ? symbolizer::default_event_name(a.attr) : a.name);
  return ok();
}

Result<void> CaptureSink::on_record(std::span<const std::uint8_t> record) {
  if (save_) PROF_TRY(save_->on_record(record));
  auto r = perf::record_of(record);
  if (!r) return ok();
  feeder_->add(*r);
  if (off_cpu_) off_cpu_->observe(*decoder_, *r);
  return ok();
}

Result<void> CaptureSink::on_round_end() {
  if (save_) PROF_TRY(save_->on_round_end());
  feeder_->round_end();
  return ok();
}

Result<void> CaptureSink::finish() {
  if (feeder_) feeder_->finish();
  sym_.resolve();
  return ok();
}

folder::FoldedCounts fold_samples(const symbolizer::Symbolizer& sym,
                                  const folder::Options& options, WarningSink* warnings) {
  folder::Folder f(options, warnings);
  sym.for_each_sample([&](const StackSampleView& s) { f.add(s); });
  return f.take_counts();
}

Result<renderer::RenderStats> render_counts(const folder::FoldedCounts& counts,
                                            const renderer::Options& options, std::string& svg,
                                            WarningSink* warnings) {
  auto sorted = counts.sorted();
  std::vector<FoldedLine> lines;
  lines.reserve(sorted.size());
  for (const auto& [stack, count] : sorted) {
    FoldedLine l;
    l.text = stack;
    l.stack = stack;
    l.count1 = l.count2 = static_cast<double>(count);
    lines.push_back(l);
  }
  return renderer::render(lines, options, svg, warnings);
}

CountLabels labels_for_events(const std::vector<std::string>& event_names, bool off_cpu) {
  if (off_cpu) return {"Off-CPU Time Flame Graph", "ns"};
  if (event_names.empty()) return {"Flame Graph", "samples"};
  std::string joined;
  for (const auto& n : event_names) joined += (joined.empty() ? "" : ", ") + n;
  auto is_clock = [](const std::string& n) {
    return n.rfind("cpu-clock", 0) == 0 || n.rfind("task-clock", 0) == 0;
  };
  if (event_names.size() == 1 && is_clock(event_names[0]))
    return {"CPU Flame Graph (" + joined + ")", "ns"};
  if (event_names.size() == 1) return {"Flame Graph: " + joined, event_names[0]};
  return {"Flame Graph: " + joined, "events"};
}

}  // namespace prof::app
