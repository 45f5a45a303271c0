# antlr4-runtime 4.9's umbrella header does not compile with clang:
# misc/InterpreterDataReader.h default-constructs a dfa::Vocabulary, whose
# const std::vector members make that constructor deleted for clang (gcc
# accepts it). polc never uses the interpreter data reader, so for clang the
# umbrella header is replaced by a copy without that one include, found first
# through ANTLR4_INCLUDE_DIR; every other header still comes from the
# runtime's own directory, and the gcc-built library links unchanged.
set(_antlr4_real_include_dir ${ANTLR4_INCLUDE_DIR})
set(_antlr4_shim_dir ${CMAKE_BINARY_DIR}/antlr4-clang-shim)
file(READ ${_antlr4_real_include_dir}/antlr4-runtime.h _antlr4_umbrella)
string(REPLACE "#include \"misc/InterpreterDataReader.h\"" "" _antlr4_patched "${_antlr4_umbrella}")
if(_antlr4_patched STREQUAL _antlr4_umbrella)
  message(WARNING "antlr4-runtime.h no longer includes misc/InterpreterDataReader.h: "
                  "cmake/Antlr4ClangShim.cmake may be unnecessary")
endif()
file(CONFIGURE OUTPUT ${_antlr4_shim_dir}/antlr4-runtime.h CONTENT "${_antlr4_patched}" @ONLY)
set(ANTLR4_INCLUDE_DIR ${_antlr4_shim_dir} ${_antlr4_real_include_dir})
