# `mert synth`: each task rendered at small size with an independent label check, determinism
# across --jobs, and bad input. Needs the Debian soundfonts (scripts/install-deps.sh).
foreach(case pitch key chords beat tags stems corpus determinism bad-input)
  add_test(NAME synth_${case} COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/synth/test_synth.sh ${case})
  set_tests_properties(synth_${case} PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 120)
endforeach()
