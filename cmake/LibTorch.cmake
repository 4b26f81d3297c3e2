# Finds LibTorch and what it asks of the build, checked at configure time: the C++ standard
# its headers need, a C++ ABI that matches the other libraries, the fmt that goes with its
# headers, and whether it computes on CUDA (for `charnn --version`). Debian's libtorch-dev
# is found by default; another LibTorch through CMAKE_PREFIX_PATH: a pytorch.org zip's root,
# or the pip wheel's torch.utils.cmake_prefix_path (its share/cmake).

# LibTorch's package looks up some of its libraries (c10) by name; from a share/cmake
# directory alone the system's LibTorch (Debian's libtorch-dev) would come first, and two
# versions would be linked together. The package's own root is searched before it.
foreach(_charnn_prefix IN LISTS CMAKE_PREFIX_PATH)
  if(EXISTS "${_charnn_prefix}/Torch/TorchConfig.cmake")
    get_filename_component(_charnn_root "${_charnn_prefix}/../.." ABSOLUTE)
    list(PREPEND CMAKE_PREFIX_PATH "${_charnn_root}")
  endif()
endforeach()
find_package(Torch REQUIRED)
foreach(_charnn_lib IN ITEMS TORCH_LIBRARY c10_LIBRARY)
  string(FIND "${${_charnn_lib}}" "${TORCH_INSTALL_PREFIX}/" _charnn_at)
  if(NOT _charnn_at EQUAL 0)
    message(FATAL_ERROR "LibTorch's ${_charnn_lib} is ${${_charnn_lib}}, outside the LibTorch found in "
                        "${TORCH_INSTALL_PREFIX}: two LibTorch versions would be linked together. "
                        "Configure a fresh build directory with -DCMAKE_PREFIX_PATH=${TORCH_INSTALL_PREFIX}.")
  endif()
endforeach()

# The standard follows the LibTorch: 2.x declares what its headers need on the torch target
# (cxx_std_20 for the newest); 1.13 declares nothing usable (C++14) and charnn needs 17.
set(CMAKE_CXX_STANDARD 17)
get_target_property(_charnn_torch_features torch INTERFACE_COMPILE_FEATURES)
foreach(_std 20 23)
  if("cxx_std_${_std}" IN_LIST _charnn_torch_features)
    set(CMAKE_CXX_STANDARD ${_std})
  endif()
endforeach()
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)

# Every target compiles with LibTorch's flags, and fmt's library (and the Catch2 and CLI11
# code compiled with it) uses Debian's default, the C++11 ABI of std::string and std::list.
# A LibTorch built with the old ABI would link against fmt only to fail at run time, or not
# link at all: say so now.
include(CheckCXXSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "${TORCH_CXX_FLAGS}")
set(CMAKE_REQUIRED_QUIET ON)
check_cxx_source_compiles([=[
#include <string>
#if !_GLIBCXX_USE_CXX11_ABI
#error the pre-C++11 ABI
#endif
int main() { return 0; }
]=] CHARNN_CXX11_ABI)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_QUIET)
if(NOT CHARNN_CXX11_ABI)
  unset(CHARNN_CXX11_ABI CACHE)
  message(FATAL_ERROR "The LibTorch in ${TORCH_INSTALL_PREFIX} is built with the pre-C++11 ABI "
                      "(TORCH_CXX_FLAGS: '${TORCH_CXX_FLAGS}', CMAKE_CXX_FLAGS: '${CMAKE_CXX_FLAGS}'), but "
                      "fmt, Catch2 and CLI11 here use the C++11 ABI (_GLIBCXX_USE_CXX11_ABI=1), so charnn "
                      "cannot link both. Take the cxx11-ABI LibTorch from pytorch.org, or the pip wheel "
                      "(CHARNN_TORCH=pip).")
endif()

# The pip wheel's CUDA libraries (cuBLAS, NCCL, ...) are in site-packages/nvidia, where its
# libtorch_cuda finds them at run time. The link line names the CUDA toolkit's directory (for
# cudart), where an NCCL older than the one libtorch_cuda needs can be: the linker looks in
# the wheel's directories first.
get_filename_component(_charnn_site_packages "${TORCH_INSTALL_PREFIX}/.." ABSOLUTE)
file(GLOB _charnn_wheel_cuda_dirs LIST_DIRECTORIES true "${_charnn_site_packages}/nvidia/*/lib")
foreach(_charnn_dir IN LISTS _charnn_wheel_cuda_dirs)
  add_link_options("LINKER:-rpath-link,${_charnn_dir}")
endforeach()

# A CUDA build of LibTorch needs the CUDA toolkit (nvcc) to configure; its Torch package
# finds it. What computes, though, is the CUDA LibTorch was built with and ships (the
# wheel's nvidia/ libraries), which the wheel's version.py and a pytorch.org zip's
# build-version name; the toolkit's version stands in when neither does.
set(CHARNN_TORCH_BACKEND "CPU")
if(CAFFE2_USE_CUDA)
  set(_charnn_cuda "${CUDAToolkit_VERSION_MAJOR}.${CUDAToolkit_VERSION_MINOR}")
  set(_charnn_line "")
  if(EXISTS "${TORCH_INSTALL_PREFIX}/version.py")
    file(STRINGS "${TORCH_INSTALL_PREFIX}/version.py" _charnn_line REGEX "^cuda.*= *'[0-9.]+'")
    string(REGEX REPLACE ".*'([0-9.]+)'.*" "\\1" _charnn_line "${_charnn_line}")
  elseif(EXISTS "${TORCH_INSTALL_PREFIX}/build-version")
    file(STRINGS "${TORCH_INSTALL_PREFIX}/build-version" _charnn_line REGEX "\\+cu[0-9]+")
    string(REGEX REPLACE ".*\\+cu([0-9]+)([0-9]).*" "\\1.\\2" _charnn_line "${_charnn_line}")
  endif()
  if(_charnn_line)
    set(_charnn_cuda "${_charnn_line}")
  endif()
  set(CHARNN_TORCH_BACKEND "CUDA ${_charnn_cuda}")
  message(STATUS "LibTorch's CUDA: ${_charnn_cuda}; the toolkit here: ${CUDAToolkit_VERSION}")
endif()
message(STATUS "LibTorch ${Torch_VERSION} (${CHARNN_TORCH_BACKEND}) in ${TORCH_INSTALL_PREFIX}, "
               "C++${CMAKE_CXX_STANDARD}")

# fmt. LibTorch's include directory comes first on every compile line, so a LibTorch that
# ships fmt headers (the pip wheel does, of another major version than Debian's, used
# header-only inside its libraries) decides which <fmt/format.h> charnn sees: charnn then
# uses those headers header-only, not the system library built from other ones. Debian's
# LibTorch shares /usr/include with Debian's fmt, whose library is linked.
if(CHARNN_CARRIED_HEADERS)
  set(CHARNN_FMT charnn_carried_fmt)
  return()
endif()
find_package(fmt REQUIRED)
get_target_property(_charnn_fmt_include fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
if(EXISTS "${TORCH_INSTALL_PREFIX}/include/fmt/format.h" AND
   NOT _charnn_fmt_include STREQUAL "${TORCH_INSTALL_PREFIX}/include")
  add_library(charnn_fmt INTERFACE)
  target_include_directories(charnn_fmt SYSTEM INTERFACE "${TORCH_INSTALL_PREFIX}/include")
  target_compile_definitions(charnn_fmt INTERFACE FMT_HEADER_ONLY=1)
  set(CHARNN_FMT charnn_fmt)
  message(STATUS "fmt: the headers in ${TORCH_INSTALL_PREFIX}/include, header-only")
else()
  set(CHARNN_FMT fmt::fmt)
endif()
