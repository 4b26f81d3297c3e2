# Finds the Python interpreter for the reference side of the parity tests: one whose torch is
# the same version as the LibTorch this build links (Torch_VERSION), since parity is exact
# only between the same kernels. Debian's python3-torch 1.13 pairs with Debian's libtorch-dev;
# the pip wheel's LibTorch pairs with the python of the environment it was installed into,
# tried right after CHARNN_PYTHON. A python with another torch is never taken.
set(_charnn_python_candidates)
if(CHARNN_PYTHON)
  list(APPEND _charnn_python_candidates "${CHARNN_PYTHON}")
endif()
if(DEFINED ENV{CHARNN_PYTHON})
  list(APPEND _charnn_python_candidates "$ENV{CHARNN_PYTHON}")
endif()
# A wheel's LibTorch is <env>/lib/pythonX.Y/site-packages/torch.
if(TORCH_INSTALL_PREFIX MATCHES "/site-packages/torch/?$")
  get_filename_component(_charnn_env "${TORCH_INSTALL_PREFIX}/../../../.." ABSOLUTE)
  list(APPEND _charnn_python_candidates "${_charnn_env}/bin/python3")
endif()
find_program(_charnn_path_python NAMES python3 python NO_CACHE)
list(APPEND _charnn_python_candidates ${_charnn_path_python} /usr/bin/python3 /usr/local/bin/python3)
list(REMOVE_DUPLICATES _charnn_python_candidates)

string(REGEX MATCH "^[0-9]+\\.[0-9]+\\.[0-9]+" _charnn_libtorch_version "${Torch_VERSION}")
set(CHARNN_TORCH_PYTHON "" CACHE INTERNAL "")
set(_charnn_tried)
foreach(_candidate IN LISTS _charnn_python_candidates)
  if(NOT EXISTS "${_candidate}")
    continue()
  endif()
  execute_process(COMMAND "${_candidate}" -c "import torch, numpy; print(torch.__version__)"
                  RESULT_VARIABLE _rc OUTPUT_VARIABLE _version ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _rc EQUAL 0)
    list(APPEND _charnn_tried "${_candidate} (no torch and numpy)")
    continue()
  endif()
  # 1.13.0a0 or 2.15.0+cu132: the release is what must match.
  string(REGEX MATCH "^[0-9]+\\.[0-9]+\\.[0-9]+" _release "${_version}")
  if(NOT _release VERSION_EQUAL _charnn_libtorch_version)
    list(APPEND _charnn_tried "${_candidate} (torch ${_version})")
    continue()
  endif()
  set(CHARNN_TORCH_PYTHON "${_candidate}" CACHE INTERNAL "")
  message(STATUS "Python reference interpreter: ${_candidate} (torch ${_version}, for LibTorch ${Torch_VERSION})")
  break()
endforeach()
if(NOT CHARNN_TORCH_PYTHON)
  list(JOIN _charnn_tried "; " _charnn_tried)
  message(WARNING "No Python interpreter here has torch ${_charnn_libtorch_version}, the version of the LibTorch "
                  "this build links (${TORCH_INSTALL_PREFIX}); the parity tests need the same version on both "
                  "sides, so they will fail saying so. Tried: ${_charnn_tried}. "
                  "Debian's LibTorch pairs with python3-torch (apt-get install python3-torch); the pip wheel's "
                  "with its own environment (CHARNN_TORCH=pip ./run.sh test); otherwise set CHARNN_PYTHON to a "
                  "python with that torch.")
endif()
