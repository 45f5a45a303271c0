// json_query POINTER...: reads one JSON document from stdin and prints the
// value at each JSON pointer (RFC 6901), a string as its text, anything else
// as JSON, one per line. Exit 1 when stdin is not valid JSON (strict UTF-8
// included) or a pointer is missing: the CLI tests check polc's --format json.
#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>
#include <string>

int main(int argc, char** argv) {
  std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  auto document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    std::cerr << "json_query: stdin is not one valid JSON document (" << text.size() << " bytes)\n";
    return 1;
  }
  for (int i = 1; i < argc; ++i) {
    nlohmann::json::json_pointer pointer;
    try {
      pointer = nlohmann::json::json_pointer(argv[i]);
    } catch (const nlohmann::json::exception& e) {
      std::cerr << "json_query: " << argv[i] << ": " << e.what() << "\n";
      return 2;
    }
    if (!document.contains(pointer)) {
      std::cerr << "json_query: no " << argv[i] << " in the document\n";
      return 1;
    }
    const auto& value = document[pointer];
    std::cout << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
  }
  return 0;
}
