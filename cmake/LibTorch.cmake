# Finds LibTorch and what it asks of the build, checked at configure time: the C++ standard
# its headers need, a C++ ABI that matches the other libraries, and whether it computes on
# CUDA (for `charnn --version`). Debian's libtorch-dev is found by default; another LibTorch
# through CMAKE_PREFIX_PATH: a pytorch.org zip's root, or the pip wheel's
# torch.utils.cmake_prefix_path (its share/cmake).

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

# The CUDA-enabled wheel needs the CUDA toolkit (nvcc) to configure: its Torch package finds
# it and sets CUDAToolkit_VERSION, the runtime charnn is compiled and linked against.
if(CAFFE2_USE_CUDA AND CUDAToolkit_VERSION)
  set(CHARNN_TORCH_BACKEND "CUDA ${CUDAToolkit_VERSION_MAJOR}.${CUDAToolkit_VERSION_MINOR}")
else()
  set(CHARNN_TORCH_BACKEND "CPU")
endif()
message(STATUS "LibTorch ${Torch_VERSION} (${CHARNN_TORCH_BACKEND}) in ${TORCH_INSTALL_PREFIX}, "
               "C++${CMAKE_CXX_STANDARD}")
