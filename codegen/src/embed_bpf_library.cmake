# Writes OUTPUT: a C++ source defining polc::codegen::bpfLibraryFiles() with
# every LIBRARY_DIR/*.h as ("bpf/lib/<name>", contents), sorted by name.
# Run in script mode: cmake -DLIBRARY_DIR=... -DOUTPUT=... -P this-file
file(GLOB headers RELATIVE ${LIBRARY_DIR} ${LIBRARY_DIR}/*.h)
list(SORT headers)

set(delimiter "polc_embed")
set(entries "")
foreach(header IN LISTS headers)
  file(READ ${LIBRARY_DIR}/${header} contents)
  string(FIND "${contents}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${header} contains the raw string delimiter ${delimiter}")
  endif()
  string(APPEND entries "      {\"bpf/lib/${header}\", R\"${delimiter}(${contents})${delimiter}\"},\n")
endforeach()

set(text "// Generated from bpf/lib by embed_bpf_library.cmake. Do not edit.
#include \"polc/codegen/endpoint_program.h\"

namespace polc::codegen {

const std::vector<std::pair<std::string, std::string>>& bpfLibraryFiles() {
  static const std::vector<std::pair<std::string, std::string>> files{
${entries}  };
  return files;
}

} // namespace polc::codegen
")

file(WRITE ${OUTPUT} "${text}")
