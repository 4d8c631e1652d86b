# The problem kinds' source files, found rather than listed: a new kind adds its files under
# src/core/problems/ and src/config/kinds/ and its entry in include/lrzoo/kinds.h, and nothing
# in any CMakeLists.txt. Used by src/CMakeLists.txt and tests/fuzz/CMakeLists.txt.
# Sets LZ_KIND_CORE_SOURCES and LZ_KIND_CONFIG_SOURCES, sorted, for the sources under SRC.
function(lz_find_kind_sources src)
  file(GLOB core CONFIGURE_DEPENDS ${src}/core/problems/*.c ${src}/core/problems/*/*.c)
  file(GLOB config CONFIGURE_DEPENDS ${src}/config/kinds/*.c)
  list(SORT core)
  list(SORT config)
  set(LZ_KIND_CORE_SOURCES ${core} PARENT_SCOPE)
  set(LZ_KIND_CONFIG_SOURCES ${config} PARENT_SCOPE)
endfunction()
