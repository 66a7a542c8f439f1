// The HTML report: the page, its charts (inline SVG) and the file it is written to.
#include "pipeline/report.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <tbb/info.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "pipeline/pipeline.h"

namespace imgpipe {
namespace {

using Json = nlohmann::ordered_json;
using Pointer = Json::json_pointer;

// ---- Numbers: read from the JSON, shown rounded, labelled with where they came from ------------

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// SVG coordinates: a tenth of a unit is finer than any screen shows.
std::string xy(double v) { return fixed(v, 1); }

const Json* find(const Json& root, const std::string& pointer) {
  const Pointer p(pointer);
  return root.contains(p) ? &root.at(p) : nullptr;
}

// The number at pointer; 0 when it is absent or not a number (a speedup that was not measured).
double number(const Json& root, const std::string& pointer) {
  const Json* v = find(root, pointer);
  return v && v->is_number() ? v->get<double>() : 0;
}

// Decimals for `decimals` kSig: three significant digits (26.3, 6.67, 0.0412), at most 4 decimals.
// Charts use it, so a 30 ms run's stages do not all read "0.00 s"; the table keeps the text
// table's fixed decimals.
constexpr int kSig = -1;
int sig_decimals(double v) {
  if (!(std::abs(v) > 0) || !std::isfinite(v)) return 0;
  return std::clamp(2 - static_cast<int>(std::floor(std::log10(std::abs(v)))), 0, 4);
}

// A figure of the metrics JSON as the page shows it: rounded to `decimals` after multiplying by
// `scale` (bytes as MB), inside an element that names its JSON pointer and holds its exact value,
// so the page can be checked against the JSON. "-" for a value the JSON does not have (null).
std::string metric(const Json& root, const std::string& pointer, int decimals,
                   const char* tag = "span", double scale = 1) {
  const Json* v = find(root, pointer);
  const bool known = v && v->is_number();
  std::string out = std::string("<") + tag + " data-metric=\"" + html_escape(pointer) +
                    "\" data-value=\"" + (v ? html_escape(v->dump()) : "null") + "\"";
  if (scale != 1) out += " data-scale=\"" + fixed(scale, 9) + "\"";
  const double shown = known ? v->get<double>() * scale : 0;
  out += ">" + (known ? fixed(shown, decimals == kSig ? sig_decimals(shown) : decimals) : "-");
  return out + "</" + tag + ">";
}

std::string tmetric(const Json& root, const std::string& pointer, int decimals) {
  return metric(root, pointer, decimals, "tspan");
}

// Round numbers for axes: the smallest of 1, 2, 5 × 10^k at least range / ticks.
double nice_step(double range, int ticks) {
  if (!(range > 0)) return 1;
  const double raw = range / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * magnitude >= raw * 0.999) return m * magnitude;
  return 10 * magnitude;
}

// Enough decimals to tell the ticks of this step apart.
int step_decimals(double step) {
  return step >= 1 ? 0 : std::min(6, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
}

// ---- SVG pieces ---------------------------------------------------------------------------------

std::string svg_open(double width, double height, const std::string& label, const char* cls = "") {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + xy(width) + " " + xy(height) +
         "\" class=\"" + cls + "\" role=\"img\" aria-label=\"" + html_escape(label) + "\"><title>" +
         html_escape(label) + "</title>";
}

std::string text(double x, double y, const std::string& content, const char* anchor = "start",
                 const char* cls = "") {
  return "<text x=\"" + xy(x) + "\" y=\"" + xy(y) + "\" text-anchor=\"" + anchor + "\" class=\"" +
         cls + "\">" + content + "</text>";
}

std::string rect(double x, double y, double w, double h, const std::string& cls,
                 const std::string& tip = "") {
  std::string r = "<rect x=\"" + xy(x) + "\" y=\"" + xy(y) + "\" width=\"" + xy(std::max(0.0, w)) +
                  "\" height=\"" + xy(h) + "\" class=\"" + cls + "\"";
  return tip.empty() ? r + "/>" : r + "><title>" + html_escape(tip) + "</title></rect>";
}

std::string line(double x1, double y1, double x2, double y2, const char* cls) {
  return "<line x1=\"" + xy(x1) + "\" y1=\"" + xy(y1) + "\" x2=\"" + xy(x2) + "\" y2=\"" + xy(y2) +
         "\" class=\"" + cls + "\"/>";
}

std::string figure(const std::string& caption, const std::string& body, const char* cls = "") {
  return std::string("<figure class=\"") + cls + "\"><figcaption>" + caption + "</figcaption>" +
         body + "</figure>\n";
}

// ---- Bar charts: one labelled bar per row ------------------------------------------------------

struct BarRow {
  std::string label;    // shown left of the bar (escaped here)
  std::string pointer;  // the value's place in the JSON
  std::string cls;      // the bar's colour class
  bool gap_before = false;
};

// Small charts' width in SVG units: their text is near its CSS size in a grid cell of ~400 px.
constexpr double kSmallW = 420;
constexpr double kRowH = 20;

std::string bar_chart(const Json& root, const std::vector<BarRow>& rows, int decimals,
                      const std::string& unit, const std::string& label, double width = kSmallW) {
  constexpr double kLabelW = 84, kValueW = 74;
  const double bar_w = width - kLabelW - kValueW;
  double top = 0, height = 6;
  for (const BarRow& r : rows) {
    top = std::max(top, number(root, r.pointer));
    height += kRowH + (r.gap_before ? 6 : 0);
  }
  std::string s = svg_open(width, height, label);
  double y = 3;
  for (const BarRow& r : rows) {
    y += r.gap_before ? 6 : 0;
    const double v = number(root, r.pointer), w = top > 0 ? bar_w * v / top : 0;
    s += text(kLabelW - 6, y + 13, html_escape(r.label), "end");
    s +=
        rect(kLabelW, y + 3, w, 12, r.cls, r.label + ": " + fixed(v, sig_decimals(v)) + " " + unit);
    s += text(kLabelW + w + 4, y + 13, tmetric(root, r.pointer, decimals) + " " + unit);
    y += kRowH;
  }
  return s + "</svg>";
}

// The stage rows of a report at `at` ("" for a run, "/runs/K/report" in compare): the six stages,
// then processing (hash..write together) and the whole run.
std::vector<BarRow> stage_rows(const Json& root, const std::string& at, const std::string& field) {
  std::vector<BarRow> rows;
  const Json* stages = find(root, at + "/stages");
  for (size_t i = 0; stages && i < stages->size(); ++i) {
    const std::string name = (*stages)[i].value("name", "?");
    rows.push_back({name, at + "/stages/" + std::to_string(i) + "/" + field,
                    name == "download" ? "dl" : "cpu"});
  }
  rows.push_back({"process", at + "/processing/" + field, "cpu", true});
  rows.push_back({"total", at + "/total/" + field, "all"});
  return rows;
}

// ---- Latency: p50, p95 and max per stage on a log scale ----------------------------------------

struct LogScale {
  double lo, hi, x0, width;
  double x(double v) const {
    v = std::clamp(v, lo, hi);
    return x0 + width * std::log10(v / lo) / std::log10(hi / lo);
  }
};

LogScale latency_scale(const Json& root, const std::vector<BarRow>& rows, double x0, double w) {
  double lo = 1e300, hi = 0;
  for (const BarRow& r : rows) {
    const std::string base = r.pointer.substr(0, r.pointer.rfind('/'));
    for (const char* f : {"/latency_p50_ms", "/latency_max_ms"}) {
      const double v = number(root, base + f);
      if (v > 0) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  if (hi <= 0) lo = 1, hi = 10;  // nothing ran: an empty decade
  lo = std::pow(10.0, std::floor(std::log10(lo)));
  hi = std::pow(10.0, std::ceil(std::log10(hi)));
  return {lo, hi > lo ? hi : lo * 10, x0, w};
}

// A line per decade; past 4 decades only every other one is labelled, so labels never overlap.
std::string latency_axis(const LogScale& sc, double y_top, double y_bottom) {
  const int decades = static_cast<int>(std::lround(std::log10(sc.hi / sc.lo)));
  std::string s;
  int i = 0;
  for (double t = sc.hi; t >= sc.lo * 0.999; t /= 10, ++i) {
    s += line(sc.x(t), y_top, sc.x(t), y_bottom, "axis");
    if (decades <= 4 || i % 2 == 0)
      s += text(sc.x(t), y_bottom + 12, fixed(t, t < 1 ? step_decimals(t) : 0), "middle", "muted");
  }
  return s;
}

std::string latency_row(const Json& root, const BarRow& r, const LogScale& sc, double y) {
  const std::string base = r.pointer.substr(0, r.pointer.rfind('/'));
  const double p50 = number(root, base + "/latency_p50_ms");
  const double p95 = number(root, base + "/latency_p95_ms");
  const double max = number(root, base + "/latency_max_ms");
  std::string s = text(sc.x0 - 6, y + 13, html_escape(r.label), "end");
  if (max > 0) {
    s += line(sc.x(p50), y + 9, sc.x(max), y + 9, "lat-range");
    s += "<circle cx=\"" + xy(sc.x(p50)) + "\" cy=\"" + xy(y + 9) + "\" r=\"3.5\" class=\"p50 " +
         r.cls + "\"/>";
    s += "<circle cx=\"" + xy(sc.x(p95)) + "\" cy=\"" + xy(y + 9) + "\" r=\"3.5\" class=\"p95\"/>";
    s += line(sc.x(max), y + 3, sc.x(max), y + 15, "pmax");
  }
  s += text(sc.x0 + sc.width + 8, y + 13,
            tmetric(root, base + "/latency_p50_ms", kSig) + " / " +
                tmetric(root, base + "/latency_p95_ms", kSig) + " / " +
                tmetric(root, base + "/latency_max_ms", kSig));
  return s;
}

std::string latency_chart(const Json& root, const std::string& at) {
  const std::vector<BarRow> rows = stage_rows(root, at, "latency_p50_ms");
  constexpr double kLabelW = 64, kPlotW = 186;
  const LogScale sc = latency_scale(root, rows, kLabelW, kPlotW);
  double height = 22;
  for (const BarRow& r : rows) height += kRowH + (r.gap_before ? 6 : 0);
  std::string s = svg_open(kSmallW, height, "Latency per item, p50 / p95 / max, ms");
  s += latency_axis(sc, 3, height - 20);
  double y = 3;
  for (const BarRow& r : rows) {
    y += r.gap_before ? 6 : 0;
    s += latency_row(root, r, sc, y);
    y += kRowH;
  }
  return s + "</svg>";
}

// ---- The timeline: transfers in flight above busy workers, over the run's time -----------------

struct TimelineBounds {
  int concurrency = 0;  // --concurrency: the most transfers in flight
  int threads = 0;      // processing threads the run used
  int cores = 0;        // cores of the machine
};

struct TimelineGeometry {
  double width, left, right, transfers_h, workers_h;
  bool compact;  // the small multiples of compare: shorter titles
};
constexpr TimelineGeometry kWideTimeline{800, 46, 112, 130, 100, false};
constexpr TimelineGeometry kCompactTimeline{420, 34, 70, 80, 60, true};

struct Panel {
  double top, height, x0, width, time_s, y_max;
  double x(double t) const { return x0 + width * t / time_s; }
  double y(double v) const { return top + height * (1 - std::min(v, y_max) / y_max); }
};

// The average activity per bucket as a step-shaped area.
std::string area(const Panel& p, const TimelineSamples& t, const std::vector<double>& values,
                 const char* cls) {
  std::string d = "M" + xy(p.x(0)) + "," + xy(p.y(0));
  for (size_t b = 0; b < values.size(); ++b) {
    const double end = std::min(t.end_s, static_cast<double>(b + 1) * t.bucket_s);
    d += "V" + xy(p.y(values[b])) + "H" + xy(p.x(end));
  }
  d += "V" + xy(p.y(0)) + "Z";
  return std::string("<path d=\"") + d + "\" class=\"" + cls + "\"/>";
}

// A dashed bound across the panel, labelled at its right end.
std::string bound_line(const Panel& p, double v, const std::string& label, const char* cls,
                       double label_dy = 0) {
  if (v <= 0 || v > p.y_max * 1.0001) return "";
  const double y = p.y(v);
  return line(p.x0, y, p.x0 + p.width, y, cls) +
         text(p.x0 + p.width + 4, y + 4 + label_dy, html_escape(label));
}

// The y range: the peak and the bound, rounded up. With `above`, a bound so far above the peak
// (-j 4096 with 200 transfers running) that drawing it would flatten the data is left out, and
// *above says so; the cores always show, since "1 of 64 cores busy" is the point there.
double y_top(double peak, double bound, std::string* above) {
  double top = std::max(peak, bound);
  if (above && peak > 0 && bound > 3 * peak) {
    top = peak * 1.15;
    *above = "↑ above";  // two short lines: the compact chart's margin is 70 units
  }
  const double step = nice_step(std::max(top, 1.0), 4);
  return std::ceil(std::max(top, 1.0) / step - 1e-9) * step;
}

std::string y_ticks(const Panel& p) {
  const double step = nice_step(p.y_max, 3);
  std::string s;
  for (double v = 0; v <= p.y_max * 1.0001; v += step) {
    s += line(p.x0, p.y(v), p.x0 + p.width, p.y(v), "gridline");
    s += text(p.x0 - 4, p.y(v) + 4, fixed(v, step_decimals(step)), "end", "muted");
  }
  return s;
}

std::string time_axis(const Panel& p, double y, bool compact) {
  const double step = nice_step(p.time_s, compact ? 4 : 8);
  std::string s;
  for (double t = 0; t <= p.time_s * 1.0001; t += step)
    s += text(p.x(t), y, fixed(t, step_decimals(step)), "middle", "muted");
  return s + text(p.x0 + p.width + 16, y, "s", "start", "muted");  // clear of the last tick
}

double peak(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

std::string transfers_panel(const Panel& p, const TimelineSamples& t, const TimelineBounds& b,
                            const std::string& above) {
  const std::string s = y_ticks(p) + area(p, t, t.transfers, "area-dl");
  const std::string j = "-j " + std::to_string(b.concurrency);
  if (above.empty()) return s + bound_line(p, b.concurrency, j, "bound");
  return s + text(p.x0 + p.width + 4, p.top + 10, html_escape(j)) +
         text(p.x0 + p.width + 4, p.top + 24, html_escape(above), "start", "muted");
  return s;
}

std::string workers_panel(const Panel& p, const TimelineSamples& t, const TimelineBounds& b) {
  std::string s = y_ticks(p) + area(p, t, t.workers, "area-cpu");
  const std::string cores = std::to_string(b.cores) + (b.cores == 1 ? " core" : " cores");
  s += bound_line(p, b.cores, cores, "bound");
  if (b.threads != b.cores) {
    const double dy = std::abs(p.y(b.threads) - p.y(b.cores)) < 12 ? 11 : 0;
    s += bound_line(p, b.threads, "-t " + std::to_string(b.threads), "bound threads", dy);
  }
  return s;
}

// Titles of the two panels, with the metrics JSON's effective concurrency of each half.
std::string panel_title(const Json& root, const std::string& at, bool transfers, bool compact) {
  if (transfers)
    return compact
               ? "transfers in flight (download eff.conc " +
                     tmetric(root, at + "/stages/0/effective_concurrency", 2) + "×)"
               : "Transfers in flight · download eff.conc " +
                     tmetric(root, at + "/stages/0/effective_concurrency", 2) + "× (busy ÷ span)";
  return compact ? "busy workers (process eff.conc " +
                       tmetric(root, at + "/processing/effective_concurrency", 2) + "×)"
                 : "Busy processing workers · process eff.conc " +
                       tmetric(root, at + "/processing/effective_concurrency", 2) +
                       "× (hash..write on all threads)";
}

std::string timeline_svg(const Json& root, const std::string& at, const TimelineSamples& t,
                         const TimelineBounds& b, const TimelineGeometry& g) {
  const double time_s = std::max({number(root, at + "/wall_s"), t.end_s, 1e-3});
  const double plot_w = g.width - g.left - g.right;
  std::string above;
  const double t_max = y_top(peak(t.transfers), b.concurrency, &above);
  const double w_max = y_top(peak(t.workers), std::max(b.cores, b.threads), nullptr);
  const Panel tp{20, g.transfers_h, g.left, plot_w, time_s, t_max};
  const Panel wp{tp.top + tp.height + 30, g.workers_h, g.left, plot_w, time_s, w_max};
  const double height = wp.top + wp.height + 22;
  std::string s = svg_open(
      g.width, height, "Transfers in flight and busy processing workers over the run's time", "");
  s += text(g.left, 13, panel_title(root, at, true, g.compact));
  s += transfers_panel(tp, t, b, above);
  s += text(g.left, wp.top - 7, panel_title(root, at, false, g.compact));
  s += workers_panel(wp, t, b);
  s += time_axis(wp, height - 6, g.compact);
  if (t.empty())
    s += text(g.left + plot_w / 2, tp.top + tp.height / 2, "no activity recorded", "middle",
              "muted");
  return s + "</svg>";
}

// ---- Outcomes: lines by status, and where the wall time went ------------------------------------

std::string outcomes_chart(const Json& root, const std::string& at) {
  const Json* by_status = find(root, at + "/by_status");
  std::vector<BarRow> rows;
  if (by_status && by_status->contains("ok")) rows.push_back({"ok", at + "/by_status/ok", "ok"});
  for (auto it = by_status ? by_status->begin() : Json::const_iterator();
       by_status && it != by_status->end(); ++it)
    if (it.key() != "ok") rows.push_back({it.key(), at + "/by_status/" + it.key(), "bad"});
  if (rows.empty()) return "<p class=\"note\">No lines were processed.</p>";
  return bar_chart(root, rows, 0, "", "Lines by outcome");
}

// download only | both at once | processing only | neither, as one bar over the wall time. The
// parts are the JSON's overlap figures less each other, clamped at 0 (the clocks are read at
// slightly different moments).
struct TimeSplit {
  double download_only, both, process_only, neither;
};

TimeSplit time_split(const Json& root, const std::string& at) {
  const double wall = number(root, at + "/wall_s");
  const double both = number(root, at + "/overlap/both_s");
  const double d = std::max(0.0, number(root, at + "/overlap/download_active_s") - both);
  const double p = std::max(0.0, number(root, at + "/overlap/process_active_s") - both);
  return {d, both, p, std::max(0.0, wall - d - p - both)};
}

std::string time_split_chart(const Json& root, const std::string& at) {
  const TimeSplit t = time_split(root, at);
  const double parts[] = {t.download_only, t.both, t.process_only, t.neither};
  const char* names[] = {"downloading only", "both at once", "processing only",
                         "neither (setup, waits)"};
  const char* classes[] = {"dl", "both", "cpu", "idle"};
  const double sum = std::max(1e-9, t.download_only + t.both + t.process_only + t.neither);
  constexpr double kBarW = kSmallW - 8;
  std::string s = svg_open(kSmallW, 30 + 4 * kRowH, "Where the run's wall time went");
  double x = 4;
  for (int i = 0; i < 4; ++i) {
    const double w = kBarW * parts[i] / sum;
    s += rect(x, 4, w, 18, classes[i],
              std::string(names[i]) + ": " + fixed(parts[i], sig_decimals(parts[i])) + " s");
    x += w;
  }
  for (int i = 0; i < 4; ++i) {
    const double y = 30 + i * kRowH;
    s += rect(4, y + 3, 12, 12, classes[i]);
    s += text(22, y + 13, names[i]);
    s += text(
        kSmallW - 4, y + 13,
        fixed(parts[i], sig_decimals(parts[i])) + " s (" + fixed(100 * parts[i] / sum, 0) + "%)",
        "end");
  }
  return s + "</svg>";
}

// The overlap figures themselves, as the metrics table's last line says them.
std::string overlap_sentence(const Json& root, const std::string& at) {
  return "<p class=\"note\">Downloading " + metric(root, at + "/overlap/download_active_s", kSig) +
         " s, processing " + metric(root, at + "/overlap/process_active_s", kSig) +
         " s, both at once " + metric(root, at + "/overlap/both_s", kSig) + " s (" +
         metric(root, at + "/overlap/both_percent_of_wall", 0) + "% of the " +
         metric(root, at + "/wall_s", kSig) + " s wall).</p>\n";
}

// ---- The metrics table, every cell labelled -----------------------------------------------------

struct Column {
  const char* heading;
  const char* field;
  int decimals;
  double scale;
};
constexpr Column kColumns[] = {
    {"ok", "ok", 0, 1},
    {"failed", "failed", 0, 1},
    {"MB in", "bytes_in", 1, 1e-6},
    {"MB out", "bytes_out", 1, 1e-6},
    {"busy s", "busy_s", 2, 1},
    {"span s", "span_s", 2, 1},
    {"items/s", "throughput_items_per_s", 1, 1},
    {"MB/s", "throughput_mb_per_s", 1, 1},
    {"p50 ms", "latency_p50_ms", 1, 1},
    {"p95 ms", "latency_p95_ms", 1, 1},
    {"max ms", "latency_max_ms", 1, 1},
    {"eff.conc", "effective_concurrency", 2, 1},
};

std::string numbers_table(const Json& root, const std::string& at) {
  std::string s = "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">stage</th>";
  for (const Column& c : kColumns) s += std::string("<th scope=\"col\">") + c.heading + "</th>";
  s += "</tr></thead><tbody>";
  for (const BarRow& r : stage_rows(root, at, "")) {  // pointers end in "/": add the field
    s += std::string("<tr") + (r.gap_before ? " class=\"sep\"" : "") + "><th scope=\"row\">" +
         html_escape(r.label) + "</th>";
    for (const Column& c : kColumns)
      s += "<td>" + metric(root, r.pointer + c.field, c.decimals, "span", c.scale) + "</td>";
    s += "</tr>";
  }
  return s + "</tbody></table></div>\n";
}

// "connections: 3 opened for 60 transfers", and the --insecure warning.
std::string connections_note(const Json& root, const std::string& at) {
  std::string s;
  if (number(root, at + "/connections/transfers") > 0)
    s += "<p class=\"note\">Connections: " + metric(root, at + "/connections/opened", 0) +
         " opened for " + metric(root, at + "/connections/transfers", 0) + " transfers.</p>\n";
  const Json* tls = find(root, at + "/connections/tls_verified");
  if (tls && tls->is_boolean() && !tls->get<bool>())
    s += "<p class=\"warn\">TLS certificates were NOT verified (--insecure).</p>\n";
  return s;
}

// ---- The page
// ------------------------------------------------------------------------------------

// Light and dark palettes (prefers-color-scheme); the charts take their colours from classes, so
// both follow. Colours are ColorBrewer's, told apart by people with the common colour blindness.
constexpr const char* kCss = R"css(
:root{--bg:#fff;--fg:#1b1b1f;--muted:#5d6066;--grid:#dedfe3;--panel:#f4f5f7;--dl:#2166ac;
--cpu:#d6604d;--both:#8c6bb1;--idle:#b8babf;--ok:#1b7837;--bad:#c51b7d;--all:#7a7d85;--bound:#1b1b1f}
@media (prefers-color-scheme:dark){:root{--bg:#141519;--fg:#e7e7ea;--muted:#a4a7ae;--grid:#383a41;
--panel:#1e1f25;--dl:#6baed6;--cpu:#f4a582;--both:#bfa5dc;--idle:#55575e;--ok:#7fbf7b;
--bad:#f1a1cb;--all:#9a9da5;--bound:#e7e7ea}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg)}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1060px;margin:0 auto;padding:12px 16px 32px}
h1{font-size:1.45em;margin:.3em 0 .2em}
h2{font-size:1.12em;margin:1.5em 0 .5em;padding-bottom:.2em;border-bottom:1px solid var(--grid)}
.lead{font-size:1.08em;max-width:60em}
dl.meta{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.1em .9em;margin:.6em 0;
font-size:.9em}
dl.meta dt{color:var(--muted)}
dl.meta dd{margin:0;overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:.9em}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--panel);padding:8px;border-radius:6px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(400px,100%),1fr));gap:12px}
.grid.three{grid-template-columns:repeat(auto-fit,minmax(min(300px,100%),1fr))}
figure{margin:0;background:var(--panel);border-radius:6px;padding:8px 10px;min-width:0}
figcaption{font-weight:600;font-size:.92em;margin-bottom:4px}
figure p{margin:.3em 0 0;font-size:.88em}
.scroll{overflow-x:auto}
svg{display:block;width:100%;height:auto}
.only-narrow{display:none}
@media (max-width:640px){.only-wide{display:none}.only-narrow{display:block}}
svg text{fill:var(--fg);font-size:11.5px}
svg .muted{fill:var(--muted)}
.gridline,.axis{stroke:var(--grid);stroke-width:1}
.dl{fill:var(--dl)}.cpu{fill:var(--cpu)}.both{fill:var(--both)}.idle{fill:var(--idle)}
.ok{fill:var(--ok)}.bad{fill:var(--bad)}.all{fill:var(--all)}
.area-dl{fill:var(--dl);fill-opacity:.8}.area-cpu{fill:var(--cpu);fill-opacity:.8}
.bound{stroke:var(--bound);stroke-width:1.4;stroke-dasharray:6 4}
.bound.threads{stroke-dasharray:2 3}
.lat-range{stroke:var(--muted);stroke-width:1.5}
.p95{fill:var(--bg);stroke:var(--fg);stroke-width:1.5}
.pmax{stroke:var(--fg);stroke-width:2}
.note{color:var(--muted);font-size:.88em;max-width:60em}
.warn{color:var(--bad);font-weight:600}
table{border-collapse:collapse;font-size:.86em;font-variant-numeric:tabular-nums}
th,td{padding:3px 7px;text-align:right;border-bottom:1px solid var(--grid);white-space:nowrap}
th:first-child{text-align:left}
thead th{color:var(--muted);font-weight:600}
tr.sep th,tr.sep td{border-top:2px solid var(--grid)}
details{margin:.6em 0}
summary{cursor:pointer;color:var(--muted)}
footer{margin-top:2em;color:var(--muted);font-size:.85em}
@media (max-width:520px){body{font-size:14px}main{padding:8px}}
)css";

std::string page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         // Nothing may load: no script, font, image or frame, from anywhere.
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'\">\n"
         "<meta name=\"color-scheme\" content=\"light dark\">\n"
         "<meta name=\"generator\" content=\"imgpipe " IMGPIPE_VERSION "\">\n<title>" +
         html_escape(title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n<main>\n" +
         body + "</main>\n</body>\n</html>\n";
}

std::string meta_row(const char* term, const std::string& html) {
  return std::string("<dt>") + term + "</dt><dd>" + html + "</dd>";
}

std::string meta_list(const RunInfo& info, const std::string& settings) {
  std::string s = "<dl class=\"meta\">";
  s += meta_row("command", "<code>" + html_escape(info.command_line) + "</code>");
  s += meta_row("list", "<code>" + html_escape(info.list) + "</code>");
  if (!settings.empty()) s += meta_row("settings", settings);
  s += meta_row("machine", std::to_string(info.cores) + (info.cores == 1 ? " core" : " cores") +
                               ", " + html_escape(info.machine));
  s += meta_row("version", "imgpipe " + html_escape(info.version));
  s += meta_row("date", html_escape(info.date));
  return s + "</dl>\n";
}

std::string run_notes(const RunInfo& info) {
  std::string s;
  if (info.interrupted)
    s += "<p class=\"warn\">Interrupted: these figures cover the lines done before the stop; "
         "--resume does the rest.</p>\n";
  if (info.resumed > 0)
    s += "<p class=\"note\">--resume: " + std::to_string(info.resumed) +
         " lines were done by an earlier run and are not in these figures.</p>\n";
  return s;
}

// The JSON the page was drawn from, and how.
std::string footer(const Json& root, const std::string& what) {
  return "<details><summary>The metrics JSON this page was drawn from</summary><pre>" +
         html_escape(root.dump(2, ' ', false, Json::error_handler_t::replace)) +
         "</pre></details>\n<footer>Made by imgpipe " IMGPIPE_VERSION ". Every number is " + what +
         "; the timelines are the events --trace records, averaged over equal time slices. "
         "eff.conc = busy ÷ span: for downloads the speedup over one transfer at a time, for "
         "processing the speedup over one core.</footer>\n";
}

std::string stages_section(const Json& root, const std::string& at) {
  std::string s = "<div class=\"grid\">";
  s += figure("Busy time (s, summed over items)",
              bar_chart(root, stage_rows(root, at, "busy_s"), kSig, "s", "Busy seconds per stage"));
  s += figure("Span (s, first start to last end)",
              bar_chart(root, stage_rows(root, at, "span_s"), kSig, "s", "Span per stage"));
  s += figure("Effective concurrency (busy ÷ span)",
              bar_chart(root, stage_rows(root, at, "effective_concurrency"), kSig, "×",
                        "Effective concurrency per stage"));
  s += figure("Latency per item, ms: p50 ● p95 ○ max |", latency_chart(root, at));
  return s + "</div>\n";
}

std::string run_lead(const Json& root, const RunInfo& info) {
  return "<p class=\"lead\">" + metric(root, "/inputs", 0) + " lines in " +
         metric(root, "/wall_s", kSig) + " s: " + metric(root, "/total/ok", 0) + " ok, " +
         metric(root, "/total/failed", 0) + " failed. Downloads ran " +
         metric(root, "/stages/0/effective_concurrency", 2) + " at once on average (at most " +
         std::to_string(info.concurrency) + "); processing kept " +
         metric(root, "/processing/effective_concurrency", 2) + " of " +
         std::to_string(info.cores) + " cores busy; the two overlapped for " +
         metric(root, "/overlap/both_percent_of_wall", 0) + "% of the wall time.</p>\n";
}

// ---- The compare page
// ----------------------------------------------------------------------------

std::string run_path(size_t k) { return "/runs/" + std::to_string(k); }

std::string times_metric(const Json& root, const std::string& pointer) {
  return metric(root, pointer, 1) + "×";
}

// The measured lesson, e.g. "downloading: 27.1× from concurrency (64 at once); processing: 1.9×
// from 2 cores; together: 25.3× end to end (26.10 s → 1.03 s)".
std::string compare_lesson(const Json& root, const RunInfo& info) {
  const int threads = static_cast<int>(number(root, "/runs/2/options/threads_used"));
  const std::string cpus = std::to_string(threads) + (threads == info.cores ? " core" : " thread") +
                           (threads == 1 ? "" : "s");
  return "<p class=\"lead\"><strong>downloading: " +
         times_metric(root, "/runs/1/speedup/download") + " from concurrency (" +
         metric(root, "/runs/1/options/download_concurrency", 0) +
         " at once); processing: " + times_metric(root, "/runs/2/speedup/processing") + " from " +
         cpus + "; together: " + times_metric(root, "/runs/3/speedup/wall") +
         " end to end</strong> (" + metric(root, "/runs/0/report/wall_s", kSig) + " s → " +
         metric(root, "/runs/3/report/wall_s", kSig) + " s).</p>\n";
}

std::string speedup_charts(const Json& root, size_t runs) {
  const std::pair<const char*, const char*> kinds[] = {
      {"download", "Download speedup over (a)"},
      {"processing", "Processing speedup over (a)"},
      {"wall", "End-to-end speedup over (a)"}};
  std::string s = "<div class=\"grid three\">";
  for (const auto& [field, caption] : kinds) {
    std::vector<BarRow> rows;
    for (size_t k = 0; k < runs; ++k)
      rows.push_back({root["runs"][k].value("name", "?"), run_path(k) + "/speedup/" + field,
                      std::string(field) == "download"     ? "dl"
                      : std::string(field) == "processing" ? "cpu"
                                                           : "all"});
    // Narrower than the other small charts: three share a row.
    s += figure(caption, bar_chart(root, rows, kSig, "×", caption, 320));
  }
  return s + "</div>\n";
}

TimelineBounds run_bounds(const Json& root, size_t k, int cores) {
  return {static_cast<int>(number(root, run_path(k) + "/options/download_concurrency")),
          static_cast<int>(number(root, run_path(k) + "/options/threads_used")), cores};
}

std::string side_by_side(const Json& root, const std::vector<TimelineSamples>& timelines,
                         const RunInfo& info) {
  std::string s = "<div class=\"grid\">";
  for (size_t k = 0; k < root["runs"].size(); ++k) {
    const Json& run = root["runs"][k];
    const std::string at = run_path(k) + "/report";
    const TimelineSamples t = k < timelines.size() ? timelines[k] : TimelineSamples{};
    const std::string caption =
        html_escape(run.value("name", "?")) + ": " + html_escape(run.value("description", ""));
    s += figure(caption,
                timeline_svg(root, at, t, run_bounds(root, k, info.cores), kCompactTimeline) +
                    "<p>wall " + metric(root, at + "/wall_s", kSig) + " s, " +
                    metric(root, at + "/total/throughput_items_per_s", 1) + " items/s, " +
                    metric(root, at + "/total/ok", 0) + " ok</p>");
  }
  return s + "</div>\n";
}

std::string compare_table(const Json& root) {
  const std::pair<const char*, std::pair<const char*, int>> cells[] = {
      {"wall s", {"/report/wall_s", 2}},
      {"items/s", {"/report/total/throughput_items_per_s", 1}},
      {"download eff.conc", {"/report/stages/0/effective_concurrency", 2}},
      {"process eff.conc", {"/report/processing/effective_concurrency", 2}},
      {"cpu busy s", {"/report/processing/busy_s", 2}},
      {"speedup: wall", {"/speedup/wall", 2}},
      {"download", {"/speedup/download", 2}},
      {"process", {"/speedup/processing", 2}}};
  std::string s = "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">run</th>";
  for (const auto& c : cells) s += std::string("<th scope=\"col\">") + c.first + "</th>";
  s += "</tr></thead><tbody>";
  for (size_t k = 0; k < root["runs"].size(); ++k) {
    s += "<tr><th scope=\"row\">" + html_escape(root["runs"][k].value("name", "?")) + "</th>";
    for (const auto& c : cells)
      s += "<td>" + metric(root, run_path(k) + c.second.first, c.second.second) + "</td>";
    s += "</tr>";
  }
  return s + "</tbody></table></div>\n";
}

// In (a) a half busy under half its span waited for the other: its speedups then measure the
// other half (compare.cc's table says the same).
std::string waiting_note(const Json& root, const char* half, const std::string& at,
                         const char* waited_for) {
  if (!(number(root, at + "/span_s") > 0) || number(root, at + "/effective_concurrency") >= 0.5)
    return "";
  return std::string("<p class=\"note\">In (a) ") + half + " was busy " +
         metric(root, at + "/effective_concurrency", 0, "span", 100) + "% of its span and waited " +
         waited_for + " the rest, so its speedups measure the other half more than its own.</p>\n";
}

// Speedups over unequal work mislead (compare.cc says the same in its table's notes).
std::string compare_notes(const Json& root) {
  std::string s;
  if (!root["runs"].empty())
    s += waiting_note(root, "downloading", "/runs/0/report/stages/0",
                      "for processing to free room") +
         waiting_note(root, "processing", "/runs/0/report/processing", "for downloads");
  if (root.value("interrupted", false))
    s += "<p class=\"warn\">Interrupted: only " + std::to_string(root["runs"].size()) +
         " of the 4 runs finished.</p>\n";
  bool same = true;
  for (const Json& run : root["runs"])
    same = same && run["report"]["total"]["ok"] == root["runs"][0]["report"]["total"]["ok"];
  if (!same)
    s += "<p class=\"warn\">The runs did not finish the same number of lines ok, so the speedups "
         "compare unequal work; see each run's manifest.jsonl.</p>\n";
  return s;
}

std::string run_details(const Json& root) {
  std::string s;
  for (size_t k = 0; k < root["runs"].size(); ++k)
    s += "<details><summary>" + html_escape(root["runs"][k].value("name", "?")) +
         ": every stage</summary>" + numbers_table(root, run_path(k) + "/report") + "</details>\n";
  return s;
}

// ---- Files
// ---------------------------------------------------------------------------------------

std::string temporary_path(const std::string& path) {
  const std::filesystem::path p(path);
  return (p.parent_path() /
          ("." + p.filename().string() + "." + std::to_string(::getpid()) + ".tmp"))
      .string();
}

bool fail(std::string* why, const std::string& path, int err) {
  *why = "cannot write the report " + path + ": " + std::strerror(err);
  return false;
}

bool write_all(int fd, const std::string& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// "imgpipe -i 'my list.txt' --header (hidden)": each argument quoted for a POSIX shell when it
// needs it. --header and --proxy values may hold tokens and passwords, and reports get shared.
std::string quoted_command_line(const std::vector<std::string>& args) {
  std::string out;
  bool hide_next = false;
  for (const std::string& a : args) {
    std::string shown = hide_next ? "(hidden)" : a;
    hide_next = a == "--header" || a == "--proxy";
    for (const char* flag : {"--header=", "--proxy="})
      if (a.rfind(flag, 0) == 0) shown = std::string(flag) + "(hidden)";
    const bool plain = !shown.empty() && shown.find_first_not_of(
                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                             "0123456789_@%+=:,./-") == std::string::npos;
    std::string quoted = "'";
    for (char c : shown) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += (out.empty() ? "" : " ") + (plain ? shown : quoted + "'");
  }
  return out;
}

std::string now_text() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  char buf[64] = "";
  if (::localtime_r(&now, &local)) std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %z", &local);
  return buf;
}

std::string machine_text() {
  struct utsname u {};
  if (::uname(&u) != 0) return "unknown";
  return std::string(u.sysname) + " " + u.release + " " + u.machine;
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

RunInfo describe_run(const std::vector<std::string>& args, const Options& options) {
  RunInfo info;
  info.command_line = quoted_command_line(args);
  info.version = IMGPIPE_VERSION;
  info.date = now_text();
  info.cores = tbb::info::default_concurrency();
  info.machine = machine_text();
  info.list = options.input;
  info.concurrency = options.download.concurrency;
  info.threads = effective_threads(options);
  return info;
}

std::string run_report_html(const RunInfo& info, const Json& metrics,
                            const TimelineSamples& timeline) {
  const std::string settings = "-j " + std::to_string(info.concurrency) +
                               " transfers in flight at most, " + std::to_string(info.threads) +
                               " processing threads";
  std::string b = "<h1>imgpipe run report</h1>\n" + run_lead(metrics, info) +
                  meta_list(info, html_escape(settings)) + run_notes(info);
  b += "<h2>Over the run's time: concurrency beside parallelism</h2>\n";
  // Two drawings of one timeline; CSS shows the compact one in narrow windows, where the wide
  // one's text would shrink below reading size.
  const TimelineBounds bounds{info.concurrency, info.threads, info.cores};
  b += "<figure><div class=\"only-wide\">" +
       timeline_svg(metrics, "", timeline, bounds, kWideTimeline) +
       "</div><div class=\"only-narrow\">" +
       timeline_svg(metrics, "", timeline, bounds, kCompactTimeline) + "</div></figure>\n";
  b += "<h2>Per stage</h2>\n" + stages_section(metrics, "");
  b += "<h2>Outcomes, and where the time went</h2>\n<div class=\"grid\">";
  b += figure("Lines by outcome", outcomes_chart(metrics, ""));
  b += figure("Where the wall time went", time_split_chart(metrics, "")) + "</div>\n";
  b += overlap_sentence(metrics, "") + connections_note(metrics, "");
  b += "<h2>The numbers</h2>\n" + numbers_table(metrics, "");
  b += footer(metrics, "the metrics JSON's (--metrics-json), rounded as shown");
  return page("imgpipe report: " + info.list, b);
}

std::string compare_report_html(const RunInfo& info, const Json& compare,
                                const std::vector<TimelineSamples>& timelines) {
  const size_t runs = compare.contains("runs") ? compare["runs"].size() : 0;
  std::string b = "<h1>imgpipe compare: what concurrency and parallelism bought</h1>\n";
  if (runs >= 4) b += compare_lesson(compare, info);
  b += meta_list(info, "") + compare_notes(compare);
  if (runs == 0) return page("imgpipe compare: " + info.list, b + footer(compare, "-"));
  b += "<h2>Speedups over (a), one transfer at a time on one thread</h2>\n" +
       speedup_charts(compare, runs);
  b += "<h2>The four runs side by side</h2>\n" + side_by_side(compare, timelines, info);
  b += "<h2>The numbers</h2>\n" + compare_table(compare) + run_details(compare);
  b += footer(compare, "the compare JSON's (imgpipe compare --json), rounded as shown");
  return page("imgpipe compare: " + info.list, b);
}

bool check_report_path(const std::string& path, std::string* why) {
  if (path.empty()) {
    *why = "--report needs a file name";
    return false;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    *why = "cannot write the report " + path + ": it is a folder";
    return false;
  }
  const std::string tmp = temporary_path(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return fail(why, path, errno);
  ::close(fd);
  ::unlink(tmp.c_str());
  return true;
}

bool write_report(const std::string& path, const std::string& html, std::string* why) {
  const std::string tmp = temporary_path(path);
  // O_EXCL | O_NOFOLLOW: never write through a file or symlink someone left at that name.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return fail(why, path, errno);
  bool ok = write_all(fd, html);
  int err = ok ? 0 : errno ? errno : EIO;
  if (::close(fd) != 0 && ok) ok = false, err = errno;
  // rename replaces the report atomically: a reader sees the old file or the new one.
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) ok = false, err = errno;
  if (!ok) {
    ::unlink(tmp.c_str());
    return fail(why, path, err);
  }
  return true;
}

}  // namespace imgpipe
