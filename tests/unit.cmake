# Every CMocka test, by name: a listed source that is missing stops the configure step
# (add_executable), so no test can drop out of the build unnoticed.
foreach(t test_error test_rng test_job test_lanczos test_sharpness test_gd test_lanes test_objectives)
  lz_unit_test(${t} lrzoo_core)
endforeach()
# Teams without MPI: the members of a team are POSIX threads of one process.
find_package(Threads REQUIRED)
lz_unit_test(test_team lrzoo_core Threads::Threads)
# Config, analytics and measures run whole jobs parsed from YAML strings.
foreach(t test_config test_analysis test_measure test_pool)
  lz_unit_test(${t} lrzoo_config lrzoo_core)
endforeach()
lz_mpi_test(test_io 1 lrzoo_io lrzoo_config lrzoo_core)
add_test(NAME test_io_np2 COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2
         ${MPIEXEC_PREFLAGS} $<TARGET_FILE:test_io> ${MPIEXEC_POSTFLAGS})
set_tests_properties(test_io_np2 PROPERTIES
  ENVIRONMENT "${LZ_TEST_ENV};CMOCKA_TEST_ABORT=1" TIMEOUT 600 PROCESSORS 2 LABELS cmocka)
