lz_script_test(cli_bad_jobs integration/bad_jobs.sh)
lz_script_test(cli_contract integration/cli.sh)
add_test(NAME quickstart_file COMMAND ${SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/integration/quickstart.py)
set_tests_properties(quickstart_file PROPERTIES ENVIRONMENT "${LZ_TEST_ENV}" TIMEOUT 1200 PROCESSORS 2)
