#include "polc/graph/svg.h"

#include <gvc.h>

#include <memory>
#include <mutex>
#include <string>

namespace polc::graph {

namespace {

// Graphviz reports errors through one process-wide callback; they are
// collected here while a render runs (renders are serialized).
std::mutex renderMutex;
std::string graphvizErrors;

int collectError(char* message) {
  graphvizErrors += message;
  return 0;
}

constexpr int kFastLayoutEdges = 400;

// 24945 -> "24,945".
std::string withThousands(size_t number) {
  std::string digits = std::to_string(number);
  for (int at = int(digits.size()) - 3; at > 0; at -= 3) digits.insert(size_t(at), ",");
  return digits;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

} // namespace

Expected<std::string> renderSvg(std::string_view dot) {
  std::lock_guard lock(renderMutex);
  graphvizErrors.clear();
  agseterrf(collectError);
  std::unique_ptr<GVC_t, int (*)(GVC_t*)> context(gvContext(), gvFreeContext);
  if (!context) return Error("Graphviz: cannot create a context");
  std::string source(dot);
  std::unique_ptr<Agraph_t, int (*)(Agraph_t*)> graph(agmemread(source.c_str()), agclose);
  if (!graph) return Error("Graphviz cannot read the graph: " + trimmed(graphvizErrors));
  if (agnedges(graph.get()) > kFastLayoutEdges) {
    // Fewer crossing-minimization passes and network-simplex iterations.
    agsafeset(graph.get(), const_cast<char*>("mclimit"), const_cast<char*>("0.1"),
              const_cast<char*>(""));
    agsafeset(graph.get(), const_cast<char*>("nslimit"), const_cast<char*>("1"),
              const_cast<char*>(""));
    agsafeset(graph.get(), const_cast<char*>("nslimit1"), const_cast<char*>("1"),
              const_cast<char*>(""));
    agsafeset(graph.get(), const_cast<char*>("searchsize"), const_cast<char*>("10"),
              const_cast<char*>(""));
  }
  if (gvLayout(context.get(), graph.get(), "dot") != 0)
    return Error("Graphviz cannot lay the graph out (is its dot layout plugin installed? "
                 "Debian: libgvc6): " +
                 trimmed(graphvizErrors));
  char* data = nullptr;
  unsigned int length = 0;
  int rendered = gvRenderData(context.get(), graph.get(), "svg", &data, &length);
  std::string svg = rendered == 0 && data ? std::string(data, length) : std::string();
  if (data) gvFreeRenderData(data);
  gvFreeLayout(context.get(), graph.get());
  if (rendered != 0)
    return Error("Graphviz cannot render SVG (is its core plugin installed? Debian: libgvc6): " +
                 trimmed(graphvizErrors));
  return svg;
}

std::string tooLargeToDraw(size_t groups, size_t edges) {
  if (groups <= kMaxDrawnGroups && edges <= kMaxDrawnEdges) return {};
  return withThousands(groups) + " groups and " + withThousands(edges) +
         " edges are more than polc draws (at most " + withThousands(kMaxDrawnGroups) +
         " groups and " + withThousands(kMaxDrawnEdges) + " edges)";
}

} // namespace polc::graph
