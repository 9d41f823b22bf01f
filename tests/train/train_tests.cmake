# Pre-training CLI tests (Python with numpy; runs `mert pretrain` / `mert export`).
add_test(NAME pretrain_cli COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/train/test_pretrain_cli.py)
set_tests_properties(pretrain_cli PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 900)
# Restarts: always launched with --resume, SIGKILLed at random points (before the first
# checkpoint too): the final checkpoint equals an uninterrupted run's (under a minute).
add_test(NAME pretrain_restart COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/train/test_pretrain_restart.py)
set_tests_properties(pretrain_restart PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 300)
# MERT-v1's teacher end to end: EnCodec labels (random-weight codec) -> tiny pre-training.
add_test(NAME pretrain_encodec COMMAND ${ORACLE_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/train/test_pretrain_encodec.py)
set_tests_properties(pretrain_encodec PROPERTIES LABELS unit ENVIRONMENT "${TEST_ENV}" TIMEOUT 600)
