# One static library per room (design: "arrows the build enforces"). A room's sources see
# the headers of that room and of the rooms below it, and nothing else: each library gets a
# view, a directory of links to exactly those headers, as its only project include path. A
# wrong-way include (data/ including models/, say) then fails to compile with "No such file
# or directory", however the rest of the tree is linked.
#
#   charnn_room(<target> <dir> SOURCES <files...> [BELOW <room targets...>])
#
# <dir> is the room's folder; its sub-folders are rooms of their own. BELOW lists the rooms
# this one may use, which it links PUBLIC; their own BELOW come with them.

# torch/torch.h is most of each translation unit's compile time (bench/README.md, "Build"):
# one precompiled header, reused by every room and executable.
add_library(charnn_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch.cpp)
target_include_directories(charnn_pch SYSTEM PRIVATE ${TORCH_INCLUDE_DIRS})
target_link_libraries(charnn_pch PRIVATE ${TORCH_LIBRARIES})
target_compile_options(charnn_pch PRIVATE ${CHARNN_WARNINGS})  # -Wpedantic changes what the header defines
target_precompile_headers(charnn_pch PRIVATE <torch/torch.h>)

function(charnn_room target dir)
  cmake_parse_arguments(R "" "" "SOURCES;BELOW" ${ARGN})
  set(visible ${dir})
  foreach(below IN LISTS R_BELOW)
    get_property(theirs GLOBAL PROPERTY CHARNN_ROOM_VIEW_${below})
    if(NOT theirs)
      message(FATAL_ERROR "charnn_room(${target}): ${below} is not a room declared before it")
    endif()
    list(APPEND visible ${theirs})
  endforeach()
  list(REMOVE_DUPLICATES visible)
  set_property(GLOBAL PROPERTY CHARNN_ROOM_VIEW_${target} ${visible})

  set(view ${PROJECT_BINARY_DIR}/rooms/${target})
  file(REMOVE_RECURSE ${view})
  foreach(room_dir IN LISTS visible)
    file(GLOB headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/${room_dir}/*.h)
    file(MAKE_DIRECTORY ${view}/${room_dir})
    foreach(header IN LISTS headers)
      get_filename_component(name ${header} NAME)
      file(CREATE_LINK ${header} ${view}/${room_dir}/${name} SYMBOLIC)
    endforeach()
  endforeach()

  add_library(${target} STATIC ${R_SOURCES})
  target_include_directories(${target} PRIVATE ${view})
  target_include_directories(${target} SYSTEM PUBLIC ${TORCH_INCLUDE_DIRS})
  target_link_libraries(${target} PUBLIC ${R_BELOW} ${TORCH_LIBRARIES} ${CHARNN_FMT} nlohmann_json::nlohmann_json)
  target_compile_options(${target} PRIVATE ${CHARNN_WARNINGS})
  target_precompile_headers(${target} REUSE_FROM charnn_pch)
endfunction()
