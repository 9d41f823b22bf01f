# CLI-level tests (shell scripts driving the `mert` binary).
add_test(NAME cli_bad_input COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_bad_input.sh)
set_tests_properties(cli_bad_input PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 300)
add_test(NAME cli_catalogue COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_catalogue.sh)
set_tests_properties(cli_catalogue PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 600)
add_test(NAME cli_real_world_audio COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_real_world_audio.sh)
set_tests_properties(cli_real_world_audio PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 300)
add_test(NAME cli_memory_catalogue COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_memory_catalogue.sh)
set_tests_properties(cli_memory_catalogue PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 300)
