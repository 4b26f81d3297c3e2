# Finds a Python interpreter that can `import torch` (the reference side of the parity
# tests). The first python3 on PATH is often not the one the distribution's python3-torch
# belongs to, so candidates are tried in order and the first that imports torch wins.
set(_charnn_python_candidates)
if(CHARNN_PYTHON)
  list(APPEND _charnn_python_candidates "${CHARNN_PYTHON}")
endif()
if(DEFINED ENV{CHARNN_PYTHON})
  list(APPEND _charnn_python_candidates "$ENV{CHARNN_PYTHON}")
endif()
find_program(_charnn_path_python NAMES python3 python NO_CACHE)
list(APPEND _charnn_python_candidates ${_charnn_path_python} /usr/bin/python3 /usr/local/bin/python3)

set(CHARNN_TORCH_PYTHON "" CACHE INTERNAL "")
foreach(_candidate IN LISTS _charnn_python_candidates)
  if(EXISTS "${_candidate}")
    execute_process(COMMAND "${_candidate}" -c "import torch, numpy; print(torch.__version__)"
                    RESULT_VARIABLE _rc OUTPUT_VARIABLE _version ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(_rc EQUAL 0)
      set(CHARNN_TORCH_PYTHON "${_candidate}" CACHE INTERNAL "")
      message(STATUS "Python reference interpreter: ${_candidate} (torch ${_version})")
      break()
    endif()
  endif()
endforeach()
if(NOT CHARNN_TORCH_PYTHON)
  message(WARNING "No Python interpreter here can `import torch, numpy` "
                  "(tried: ${_charnn_python_candidates}). The parity tests against the Python reference "
                  "will fail saying so. On Debian: apt-get install python3-torch, or set CHARNN_PYTHON.")
endif()
