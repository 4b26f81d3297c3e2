# A machine without Debian's header packages (the GPU machines charnn is checked on carry only a
# pip torch, cmake, ninja and g++): -DCHARNN_CARRIED_HEADERS=DIR names a folder that
# scripts/carry-headers.sh filled from a Debian machine (CLI11, nlohmann/json, Catch2 v2 and its
# CMake module, Gloo's headers, fmt), and the targets the build expects are made from it.
if(NOT CHARNN_CARRIED_HEADERS)
  return()
endif()
foreach(dir CLI nlohmann catch2 gloo fmt cmake)
  if(NOT EXISTS "${CHARNN_CARRIED_HEADERS}/${dir}")
    message(FATAL_ERROR "CHARNN_CARRIED_HEADERS=${CHARNN_CARRIED_HEADERS} has no ${dir}/ (run scripts/carry-headers.sh)")
  endif()
endforeach()
foreach(target CLI11::CLI11 nlohmann_json::nlohmann_json Catch2::Catch2)
  add_library(${target} INTERFACE IMPORTED)
  set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${CHARNN_CARRIED_HEADERS}")
endforeach()
add_library(charnn_carried_fmt INTERFACE)
target_include_directories(charnn_carried_fmt SYSTEM INTERFACE "${CHARNN_CARRIED_HEADERS}")
target_compile_definitions(charnn_carried_fmt INTERFACE FMT_HEADER_ONLY=1)
list(APPEND CMAKE_MODULE_PATH "${CHARNN_CARRIED_HEADERS}/cmake")
include_directories(SYSTEM "${CHARNN_CARRIED_HEADERS}")
message(STATUS "headers: carried in ${CHARNN_CARRIED_HEADERS}")
