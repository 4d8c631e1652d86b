# `cmake --install BUILD [--prefix PREFIX]`: lrzoo as sites install it, usable without the
# source tree (tests/integration/install.sh checks the installed tree under Lmod).
#   bin/lrzoo, bin/lrzoo-report             the program and the report entry point
#   share/lrzoo/jobs, share/lrzoo/analysis   the example jobs and the analysis scripts
#   share/man/man1/lrzoo.1, lrzoo-report.1   the man pages
#   share/doc/lrzoo/                         README.md and docs/
#   share/modulefiles/lrzoo/VERSION.lua      an Lmod modulefile (relocatable: it finds the
#                                            prefix from its own path)
include(GNUInstallDirs)

# The interpreter of the report, which needs h5py, numpy and matplotlib: Debian's by default
# (the python3 first on PATH may be another one without h5py); a Spack build passes its own.
set(LRZOO_REPORT_PYTHON "/usr/bin/python3" CACHE STRING
    "Python with h5py, numpy and matplotlib that lrzoo-report runs")

install(TARGETS lrzoo RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/jobs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/lrzoo/jobs)
install(FILES ${PROJECT_SOURCE_DIR}/analysis/report.py ${PROJECT_SOURCE_DIR}/analysis/figures.py
              ${PROJECT_SOURCE_DIR}/analysis/lrzoo_file.py
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lrzoo/analysis)
install(FILES ${PROJECT_SOURCE_DIR}/man/lrzoo.1 ${PROJECT_SOURCE_DIR}/man/lrzoo-report.1
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})

# lrzoo-report finds the analysis scripts relative to itself, so the tree can move.
file(RELATIVE_PATH LZ_BIN_TO_ANALYSIS
     ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}
     ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/lrzoo/analysis)
configure_file(${PROJECT_SOURCE_DIR}/cmake/lrzoo-report.in
               ${PROJECT_BINARY_DIR}/install/lrzoo-report @ONLY)
install(PROGRAMS ${PROJECT_BINARY_DIR}/install/lrzoo-report DESTINATION ${CMAKE_INSTALL_BINDIR})

# How many directories the modulefile's folder is below the prefix (share/modulefiles/lrzoo: 3).
string(REGEX MATCHALL "[^/]+" LZ_MODULE_DIRS "${CMAKE_INSTALL_DATADIR}/modulefiles/lrzoo")
list(LENGTH LZ_MODULE_DIRS LZ_MODULE_DEPTH)
configure_file(${PROJECT_SOURCE_DIR}/cmake/lrzoo.lua.in
               ${PROJECT_BINARY_DIR}/install/${PROJECT_VERSION}.lua @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/install/${PROJECT_VERSION}.lua
        DESTINATION ${CMAKE_INSTALL_DATADIR}/modulefiles/lrzoo)
