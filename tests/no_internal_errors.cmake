# Fails when a test run logged an internal error (see tests/CMakeLists.txt).
if(EXISTS "${LOG}")
  file(READ "${LOG}" text)
  if(NOT text STREQUAL "")
    message(FATAL_ERROR "internal errors (bugs in polc) in the tests:\n${text}")
  endif()
endif()
