# What `polc --version` says about the build, fixed at configure time and
# written to ${CMAKE_BINARY_DIR}/generated/polc/build_info.h:
#   POLC_GIT_COMMIT  the commit (12 hex digits), "-dirty" when a tracked file
#                    differs from it, "unknown" outside a git checkout of polc
#   POLC_CLANG_VERSION  the first line of `clang --version` of CLANG_BPF
# and, for the man pages, POLC_SOURCE_DATE_EPOCH: the commit's time (empty
# outside git). The configure step runs again when HEAD moves (a commit, a
# checkout), so that the commit stays right; "-dirty" is as of the last
# configure.
set(POLC_GIT_COMMIT unknown)
set(POLC_SOURCE_DATE_EPOCH "")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --show-toplevel
                  WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                  OUTPUT_VARIABLE toplevel RESULT_VARIABLE failed
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  # A source tree unpacked inside another repository is not a checkout of polc.
  if(NOT failed AND toplevel STREQUAL CMAKE_SOURCE_DIR)
    execute_process(COMMAND ${GIT_EXECUTABLE} log -1 --format=%h%n%ct --abbrev=12
                    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                    OUTPUT_VARIABLE head RESULT_VARIABLE failed
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  if(NOT failed AND head MATCHES "^([0-9a-f]+)\n([0-9]+)$")
    set(POLC_GIT_COMMIT ${CMAKE_MATCH_1})
    set(POLC_SOURCE_DATE_EPOCH ${CMAKE_MATCH_2})
    execute_process(COMMAND ${GIT_EXECUTABLE} status --porcelain --untracked-files=no
                    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                    OUTPUT_VARIABLE changes ERROR_QUIET)
    if(NOT changes STREQUAL "")
      string(APPEND POLC_GIT_COMMIT "-dirty")
    endif()
    # HEAD, and the branch it names, change on a commit or a checkout. Only
    # files that exist: a missing dependency would configure on every build.
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --symbolic-full-name HEAD
                    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                    OUTPUT_VARIABLE branch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --path-format=absolute
                            --git-path HEAD --git-path ${branch}
                    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
                    OUTPUT_VARIABLE git_files OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    string(REPLACE "\n" ";" git_files "${git_files}")
    foreach(file IN LISTS git_files)
      if(EXISTS ${file})
        set_property(DIRECTORY ${CMAKE_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
      endif()
    endforeach()
  endif()
endif()

execute_process(COMMAND ${CLANG_BPF} --version
                OUTPUT_VARIABLE clang_version OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
string(REGEX REPLACE "\n.*" "" POLC_CLANG_VERSION "${clang_version}")
if(POLC_CLANG_VERSION STREQUAL "")
  set(POLC_CLANG_VERSION "clang (version unknown)")
endif()

configure_file(${CMAKE_CURRENT_LIST_DIR}/build_info.h.in
               ${CMAKE_BINARY_DIR}/generated/polc/build_info.h @ONLY)
