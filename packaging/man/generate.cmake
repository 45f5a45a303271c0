# Writes the man pages of polc from its --help, with Debian's help2man: polc(1)
# and polc-SUBCOMMAND(1) for every subcommand `polc --help` lists, gzipped
# as Debian ships them, into OUT. Pages are reproducible: their date is
# SOURCE_DATE_EPOCH (the commit's time) when given.
# Script mode, run at install time (packaging/package.cmake):
#   cmake -DPOLC=bin/polc -DVERSION=0.1.0 -DOUT=dir [-DSOURCE_DATE_EPOCH=s] -P generate.cmake
find_program(HELP2MAN help2man)
find_program(GZIP gzip)
if(NOT HELP2MAN OR NOT GZIP)
  message(FATAL_ERROR "the man pages need help2man and gzip (scripts/bootstrap installs them)")
endif()
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})

execute_process(COMMAND ${POLC} --help OUTPUT_VARIABLE help RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "${POLC} --help failed")
endif()
# The "Subcommands:" section: "  NAME   Description", one a line.
string(REGEX REPLACE ".*\nSubcommands:\n" "" listing "${help}")
string(REPLACE ";" "<semicolon>" listing "${listing}")
string(REPLACE "\n" ";" listing "${listing}")
set(commands "")
foreach(line IN LISTS listing)
  if(line MATCHES "^  ([a-z][a-z0-9-]*) +(.*)$")
    list(APPEND commands ${CMAKE_MATCH_1})
    set(description_${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
  endif()
endforeach()
if(NOT commands)
  message(FATAL_ERROR "no subcommands found in the output of ${POLC} --help")
endif()

# help2man runs "PROGRAM --help": a wrapper per page, which runs polc as
# "polc" (its usage line names argv[0]) with the subcommand in front.
set(work ${OUT}/.work)
file(MAKE_DIRECTORY ${work})
# polc(1) points to every subcommand's page, each of those back to polc(1).
set(see_also "[SEE ALSO]")
set(separator "")
foreach(command IN LISTS commands)
  string(APPEND see_also "${separator}\n.BR polc-${command} (1)")
  set(separator ",")
endforeach()
file(WRITE ${work}/polc.h2m "${see_also}\n")
file(WRITE ${work}/command.h2m "[SEE ALSO]\n.BR polc (1)\n")

function(write_page name arguments description include)
  file(WRITE ${work}/${name} "#!/bin/bash\nexec -a polc '${POLC}' ${arguments} \"$@\"\n")
  file(CHMOD ${work}/${name} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
  set(date "")
  if(SOURCE_DATE_EPOCH)
    set(date SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH})
  endif()
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env ${date}
            ${HELP2MAN} --no-info --no-discard-stderr --section=1 --manual=polc
                        "--version-string=${name} ${VERSION}" "--name=${description}"
                        --include=${work}/${include}.h2m --output=${OUT}/${name}.1 ${work}/${name}
    RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "help2man failed on ${name}")
  endif()
  execute_process(COMMAND ${GZIP} -9nf ${OUT}/${name}.1 RESULT_VARIABLE failed)
  if(failed)
    message(FATAL_ERROR "gzip failed on ${name}.1")
  endif()
endfunction()

write_page(polc "" "compile label-based network policy into BPF programs and load them" polc)
foreach(command IN LISTS commands)
  string(REPLACE "<semicolon>" ";" description "${description_${command}}")
  write_page(polc-${command} ${command} "${description}" command)
endforeach()
file(REMOVE_RECURSE ${work})
