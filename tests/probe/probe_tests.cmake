# `mert probe` dataset readers: fixture trees in each published layout, plus the synth readers on
# real `mert synth` output (MERT_BIN is set for them). Plain C++, no libtorch headers.
add_executable(mert_probe_tests
  ${CMAKE_CURRENT_SOURCE_DIR}/probe/test_readers.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/probe/test_readers_synth.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/probe/test_frame_targets.cpp)
target_include_directories(mert_probe_tests PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(mert_probe_tests PRIVATE mert GTest::gtest GTest::gtest_main)
add_dependencies(mert_probe_tests mert_cli)
gtest_discover_tests(mert_probe_tests
  PROPERTIES LABELS unit ENVIRONMENT "MERT_BIN=${MERT_BIN}" TIMEOUT 300
  DISCOVERY_TIMEOUT 60
  EXTRA_ARGS --gtest_brief=1)

# `mert probe` end to end on small synth sets: metrics against scikit-learn / mir_eval, reports,
# baselines, kill-and-resume, bad input.
add_test(NAME probe_cli COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/probe/test_probe_cli.py)
set_tests_properties(probe_cli PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 900)

# Frame-level tasks (beat, chords) end to end: rescoring against `mert metrics` and mir_eval, the
# float16 cache, baselines, resume, bad input.
add_test(NAME probe_frame COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/probe/test_frame_probe.py)
set_tests_properties(probe_frame PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 900)
