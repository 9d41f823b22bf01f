# Writes OUT (a header defining MERT_GIT_COMMIT) from `git rev-parse` in SRC, but only when the
# commit changed, so a new commit rebuilds one file and benchmark rows never carry a stale id.
execute_process(COMMAND git rev-parse --short=10 HEAD
  WORKING_DIRECTORY ${SRC} OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT commit)
  set(commit "unknown")
endif()
set(text "#pragma once\n#define MERT_GIT_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL text)
  file(WRITE ${OUT} "${text}")
endif()
