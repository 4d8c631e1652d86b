lz_script_test(cli_bad_jobs integration/bad_jobs.sh)
lz_script_test(cli_contract integration/cli.sh)
lz_script_test(cli_faults integration/faults.sh)
lz_script_test(cli_input_bounds integration/input_bounds.sh)
# cmake --install into a temporary prefix, used through Lmod (issue 24).
lz_script_test(install integration/install.sh)
lz_require_test_file(integration/quickstart.py)
add_test(NAME quickstart_file COMMAND ${SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/integration/quickstart.py)
set_tests_properties(quickstart_file PROPERTIES ENVIRONMENT "${LZ_TEST_ENV}" TIMEOUT 1200 PROCESSORS 2)

# Python integration tests for the cluster behaviour (issue 3): layout independence, resume after
# signals and kill -9, failures that end every rank with one message; and the memory estimate
# against the measured peak.
foreach(t layouts resume worker_error pooling report memory blowup mlp mlp_blobs engines damaged output_lock killed_create manpage teams)
  lz_require_test_file(integration/${t}.py)
  add_test(NAME ${t} COMMAND ${SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.py)
  set_tests_properties(${t} PROPERTIES
    ENVIRONMENT "${LZ_TEST_ENV};PYTHONPATH=${CMAKE_CURRENT_SOURCE_DIR}/integration"
    TIMEOUT 900 PROCESSORS 2)
endforeach()
# Their jobs are calibrated to the load at their start (calibrate.py): run alone, so that load
# holds.
set_tests_properties(resume output_lock teams PROPERTIES RUN_SERIAL TRUE)

# slurm/*.sbatch under a private single-node SLURM that each test starts and stops itself (needs
# root and the slurm packages that scripts/install-deps --test installs; SKIP, exit 77, otherwise).
foreach(t plain timelimit requeue_policy array binding)
  lz_script_test(slurm_${t} slurm/${t}.sh)
  set_tests_properties(slurm_${t} PROPERTIES SKIP_RETURN_CODE 77 RUN_SERIAL TRUE TIMEOUT 300)
endforeach()
# Calibrated to outlast SLURM's signal, then run again as the uninterrupted reference.
set_tests_properties(slurm_timelimit PROPERTIES TIMEOUT 900)
