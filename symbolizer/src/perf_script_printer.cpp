#include "perf_script_printer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <new>
#include <ostream>
#include <string>
#include <vector>

#include "huge_pages.h"

namespace prof::symbolizer {
namespace {

constexpr std::string_view kUnknown = "[unknown]";

std::string basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

namespace {

// The printf conversions perf script uses, without printf: formatting every sample's header and
// frames through vsnprintf was a tenth of `profile symbolize`'s time.

// "%*lx" (width <= 16).
void append_hex(std::string& out, std::uint64_t v, int width) {
  char buf[32];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  while (end - p < width) *--p = ' ';
  out.append(p, static_cast<std::size_t>(end - p));
}

enum class Pad { kLeftSpaces, kRightSpaces, kZeros };

// "%*d", "%-*d" and "%0*d" (width <= 20) written at `p`; returns the end. Needs width + 21
// bytes of room.
template <typename Int>
char* put_int(char* p, Int v, int width, Pad pad) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  auto len = static_cast<std::size_t>(r.ptr - buf);
  auto fill = static_cast<std::size_t>(std::max(0, width - static_cast<int>(len)));
  if (pad == Pad::kZeros && v < 0) {
    *p++ = '-';
    std::memset(p, '0', fill);
    std::memcpy(p + fill, buf + 1, len - 1);
    return p + fill + len - 1;
  }
  if (pad != Pad::kRightSpaces) {
    std::memset(p, pad == Pad::kZeros ? '0' : ' ', fill);
    p += fill;
  }
  std::memcpy(p, buf, len);
  p += len;
  if (pad == Pad::kRightSpaces) {
    std::memset(p, ' ', fill);
    p += fill;
  }
  return p;
}

}  // namespace

namespace {

// perf script's sample header (builtin-script.c perf_sample__fprintf_start) in three pieces,
// so that the pieces which repeat from sample to sample can be kept: "comm pid/tid [cpu] "
// (comm unpadded when a callchain follows, "%5d/%-5d", "[%03d]"), the time "%5lu.%06lu: ", and
// "%10lu event: \n" (period, event).
char* put_header_prefix(char* p, std::string_view comm, std::int64_t pid, std::int64_t tid,
                        std::int32_t cpu, const ScriptFormat& fmt) {
  std::memcpy(p, comm.data(), comm.size());
  p += comm.size();
  *p++ = ' ';
  if (fmt.pid) {
    p = put_int(p, pid, 5, Pad::kLeftSpaces);
    *p++ = '/';
    p = put_int(p, tid, 5, Pad::kRightSpaces);
  } else {
    p = put_int(p, tid, 5, Pad::kLeftSpaces);
  }
  *p++ = ' ';
  if (cpu >= 0) {
    *p++ = '[';
    p = put_int(p, cpu, 3, Pad::kZeros);
    *p++ = ']';
    *p++ = ' ';
  }
  return p;
}
constexpr std::size_t kHeaderPrefixRoom = 3 * 26 + 8;  // besides the comm

// The seconds change once a second: `secs` keeps the last ones formatted.
struct HeaderSeconds {
  std::uint64_t value = ~std::uint64_t{0};
  std::size_t len = 0;
  char text[32];
};

char* put_header_time(char* p, std::uint64_t time_ns, HeaderSeconds& secs) {
  const std::uint64_t s = time_ns / std::uint64_t{1000000000};
  if (s != secs.value) {
    secs.value = s;
    secs.len = static_cast<std::size_t>(put_int(secs.text, s, 5, Pad::kLeftSpaces) - secs.text);
  }
  std::memcpy(p, secs.text, secs.len);
  p += secs.len;
  *p++ = '.';
  std::uint64_t us = (time_ns % std::uint64_t{1000000000}) / 1000;
  for (int i = 5; i >= 0; --i, us /= 10) p[i] = static_cast<char>('0' + us % 10);
  p += 6;
  *p++ = ':';
  *p++ = ' ';
  return p;
}

char* put_header_time(char* p, std::uint64_t time_ns) {
  HeaderSeconds secs;
  return put_header_time(p, time_ns, secs);
}
constexpr std::size_t kHeaderTimeRoom = 26 + 10;

char* put_header_suffix(char* p, std::uint64_t period, std::string_view event) {
  p = put_int(p, period, 10, Pad::kLeftSpaces);
  *p++ = ' ';
  std::memcpy(p, event.data(), event.size());
  p += event.size();
  std::memcpy(p, ": \n", 3);
  return p + 3;
}
constexpr std::size_t kHeaderSuffixRoom = 26 + 4;  // besides the event

void append_script_header(std::string& out, std::string_view comm, std::int64_t pid,
                          std::int64_t tid, std::int32_t cpu, std::uint64_t time_ns,
                          std::uint64_t period, std::string_view event, const ScriptFormat& fmt) {
  const std::size_t at = out.size();
  out.resize(at + comm.size() + event.size() + kHeaderPrefixRoom + kHeaderTimeRoom +
             kHeaderSuffixRoom);
  char* p = out.data() + at;
  p = put_header_prefix(p, comm, pid, tid, cpu, fmt);
  p = put_header_time(p, time_ns);
  p = put_header_suffix(p, period, event);
  out.resize(static_cast<std::size_t>(p - out.data()));
}

void append_frame_line(std::string& out, const FrameView& f, const ScriptFormat& fmt) {
  out += '\t';
  append_hex(out, f.address, 16);
  out += ' ';
  if (f.symbol.empty()) {
    out += kUnknown;
  } else {
    out += f.symbol;
    out += "+0x";
    append_hex(out, f.symbol_offset, 0);
  }
  if (f.inlined) {
    out += " (inlined)";
  } else {
    out += " (";
    out += f.module.empty() ? kUnknown : f.module;
    out += ')';
  }
  if (fmt.srcline) {
    out += "\n  ";
    if (!f.srcline.empty()) {
      out += f.srcline;
    } else {
      out += basename_of(f.module.empty() ? kUnknown : f.module);
      out += '[';
      append_hex(out, f.address, 0);
      out += ']';
    }
  }
  out += '\n';
}

}  // namespace

void append_perf_script(std::string& out, const StackSampleView& s, const ScriptFormat& fmt) {
  append_script_header(out, s.comm, s.pid, s.tid, s.cpu, s.time_ns, s.period, s.event, fmt);
  for (const FrameView& f : s.frames) append_frame_line(out, f, fmt);
  out += '\n';
}

void write_perf_script(std::ostream& out, const StackSampleView& sample, const ScriptFormat& fmt) {
  std::string text;
  append_perf_script(text, sample, fmt);
  out << text;
}

namespace detail {

bool write_perf_script(const Profile& profile, const ScriptFormat& fmt, ThreadPool* pool,
                       const std::function<bool(std::string_view)>& sink) {
  // Every sample prints its locations' lines, and a capture has far fewer distinct locations
  // than frames: format each location once.
  std::string loc_text;
  const std::size_t location_count = profile.locations().size();
  std::vector<std::size_t> loc_at(location_count + 1);
  std::vector<FrameView> frames;
  for (std::size_t i = 0; i < location_count; ++i) {
    loc_at[i] = loc_text.size();
    frames.clear();
    profile.append_frames(static_cast<LocationId>(i), frames);
    for (const FrameView& f : frames) append_frame_line(loc_text, f, fmt);
  }
  loc_at.back() = loc_text.size();
  // A chunk's text, written through a raw pointer: a sample is a header and a few location
  // texts, and per-piece std::string appends were most of the formatting time. Chunks are
  // small (a few hundred kB of text) and their buffers reused: on a VM the first touch of each
  // fresh page is costly, and 2048-sample chunks in 4 MB buffers touched 3.4 MB for a small
  // capture (a quarter of symbolizing it). A buffer that must grow past 2 MB asks for huge
  // pages.
  struct FreeAligned {
    void operator()(char* p) const { std::free(p); }
  };
  struct Chunk {
    std::unique_ptr<char[], FreeAligned> data;
    std::size_t cap = 0, len = 0;
    char* room(std::size_t n) {  // at least n bytes free at the end
      if (cap - len < n) {
        constexpr std::size_t kHuge = std::size_t{2} << 20, kPage = 4096;
        std::size_t want = std::max({cap * 2, len + n, std::size_t{256} << 10});
        const std::size_t align = want >= kHuge ? kHuge : kPage;
        want = (want + align - 1) & ~(align - 1);
        char* bigger = static_cast<char*>(std::aligned_alloc(align, want));
        if (!bigger) throw std::bad_alloc();
        if (align == kHuge) huge_pages(bigger, want);
        if (len) std::memcpy(bigger, data.get(), len);
        data.reset(bigger);
        cap = want;
      }
      return data.get() + len;
    }
    std::string_view text() const { return {data.get(), len}; }
  };
  const std::vector<Sample>& samples = profile.samples();
  auto format = [&](std::size_t begin, std::size_t end, Chunk& out) {
    out.len = 0;
    // Samples repeat their thread and CPU (a system-wide capture interleaves a few of them),
    // and their period and event: those header pieces are kept, the "comm pid/tid [cpu] "
    // of the last few threads by tid and CPU, and formatted again only when they change.
    struct Prefix {
      const Sample* of = nullptr;  // the sample it was made for
      std::size_t len = 0;
      char text[128];
    };
    std::array<Prefix, 16> prefixes;
    char suffix[512];
    std::size_t suffix_len = 0;
    HeaderSeconds seconds;
    const Sample* last = nullptr;
    for (std::size_t i = begin; i < end; ++i) {
      const Sample& s = samples[i];
      const std::string_view comm = profile.str(s.comm), event = profile.str(s.event);
      Prefix& pre =
          prefixes[(static_cast<std::size_t>(s.tid) * 7 + static_cast<std::size_t>(s.cpu)) & 15];
      if (!pre.of || s.comm != pre.of->comm || s.pid != pre.of->pid || s.tid != pre.of->tid ||
          s.cpu != pre.of->cpu) {
        pre.of = &s;
        pre.len = 0;
        if (comm.size() + kHeaderPrefixRoom <= sizeof pre.text)
          pre.len = static_cast<std::size_t>(
              put_header_prefix(pre.text, comm, s.pid, s.tid, s.cpu, fmt) - pre.text);
      }
      const std::size_t prefix_len = pre.len;
      const char* prefix = pre.text;
      if (!last || s.period != last->period || s.event != last->event) {
        suffix_len = 0;
        if (event.size() + kHeaderSuffixRoom <= sizeof suffix)
          suffix_len =
              static_cast<std::size_t>(put_header_suffix(suffix, s.period, event) - suffix);
      }
      last = &s;
      char* p = out.room(comm.size() + event.size() + kHeaderPrefixRoom + kHeaderTimeRoom +
                         kHeaderSuffixRoom);
      if (prefix_len) {
        std::memcpy(p, prefix, prefix_len);
        p += prefix_len;
      } else {
        p = put_header_prefix(p, comm, s.pid, s.tid, s.cpu, fmt);
      }
      p = put_header_time(p, s.time_ns, seconds);
      if (suffix_len) {
        std::memcpy(p, suffix, suffix_len);
        p += suffix_len;
      } else {
        p = put_header_suffix(p, s.period, event);
      }
      out.len = static_cast<std::size_t>(p - out.data.get());
      for (const LocationId id : profile.stack(s.stack)) {
        const std::size_t n = loc_at[id + 1] - loc_at[id];
        std::memcpy(out.room(n), loc_text.data() + loc_at[id], n);
        out.len += n;
      }
      *out.room(1) = '\n';
      ++out.len;
    }
  };
  // Chunks of samples are formatted on helper threads while this thread hands finished ones
  // to the sink in order (writing 25 MB to a file is a third of the time formatting takes, and
  // overlaps it), formatting itself when the next chunk is not ready. A chunk's buffer is
  // reused once it has been written: at most `slots` chunks are ahead of the sink.
  constexpr std::size_t kChunk = 256;
  const std::size_t total = samples.size();
  const std::size_t chunks = (total + kChunk - 1) / kChunk;
  std::size_t threads = pool ? pool->size() + 1 : 1;
  threads = std::max<std::size_t>(1, std::min(threads, chunks));
  auto chunk_range = [&](std::size_t c) {
    return std::pair{c * kChunk, std::min(total, (c + 1) * kChunk)};
  };
  // One thread alone formats a chunk, writes it, and reuses its one buffer.
  const std::size_t slots = threads == 1 ? 1 : 2 * threads;
  std::vector<Chunk> bufs(slots);
  std::vector<char> done(chunks, 0);
  std::mutex m;
  std::condition_variable changed;
  std::size_t next = 0;     // the next chunk to claim
  std::size_t written = 0;  // chunks handed to the sink
  bool stop = false;
  // Claims and formats one chunk if one may be claimed; the lock is held on entry and exit.
  auto format_one = [&](std::unique_lock<std::mutex>& lock) {
    if (stop || next >= chunks || next >= written + slots) return false;
    const std::size_t c = next++;
    lock.unlock();
    auto [b, e] = chunk_range(c);
    format(b, e, bufs[c % slots]);
    lock.lock();
    done[c] = 1;
    changed.notify_all();
    return true;
  };
  auto helper = [&] {
    std::unique_lock lock(m);
    for (;;) {
      if (stop || next >= chunks) return;
      if (!format_one(lock)) changed.wait(lock);
    }
  };
  // Helpers only on the pool's own workers: one run in line would wait for this thread.
  std::vector<std::future<void>> helpers;
  for (std::size_t t = 1; t < threads; ++t) helpers.push_back(pool->async(helper));
  bool ok = true;
  {
    std::unique_lock lock(m);
    for (std::size_t c = 0; c < chunks && ok; ++c) {
      while (!done[c])
        if (!format_one(lock)) changed.wait(lock);
      lock.unlock();
      ok = sink(bufs[c % slots].text());
      lock.lock();
      written = c + 1;
      if (!ok) stop = true;
      changed.notify_all();
    }
    stop = true;
    changed.notify_all();
  }
  for (auto& h : helpers) h.wait();
  return ok;
}

}  // namespace detail
}  // namespace prof::symbolizer
