# Pre-training CLI tests (Python with numpy; runs `mert pretrain` / `mert export`).
add_test(NAME pretrain_cli COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/train/test_pretrain_cli.py)
set_tests_properties(pretrain_cli PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 900)
