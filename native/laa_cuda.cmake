# CUDA detection, included after find_package(Torch): a CUDA LibTorch sets
# CAFFE2_USE_CUDA / TORCH_CUDA_LIBRARIES (1.x) or defines torch_cuda (2.x).
# laa_use_cuda(target) defines LAA_WITH_CUDA=1 and LAA_CUDA_VERSION for it.
# With laa_libtorch.cmake (the addon), LAA_TORCH_CUDA already says it.
set(LAA_WITH_CUDA OFF)
set(LAA_CUDA_VERSION "")
if(DEFINED LAA_TORCH_CUDA)
  if(LAA_TORCH_CUDA)
    set(LAA_WITH_CUDA ON)
    set(LAA_CUDA_VERSION "${LAA_TORCH_CUDA}")
  endif()
elseif(CAFFE2_USE_CUDA OR TORCH_CUDA_LIBRARIES OR TARGET torch_cuda)
  set(LAA_WITH_CUDA ON)
endif()
if(LAA_WITH_CUDA AND NOT LAA_CUDA_VERSION)
  # FindCUDAToolkit (LibTorch 2.x) or FindCUDA (1.x), whichever Torch used.
  foreach(var CUDAToolkit_VERSION CUDA_VERSION_STRING CUDA_VERSION)
    if(NOT LAA_CUDA_VERSION AND DEFINED ${var})
      set(LAA_CUDA_VERSION "${${var}}")
    endif()
  endforeach()
endif()
message(STATUS "laa-native: CUDA ${LAA_WITH_CUDA} ${LAA_CUDA_VERSION}")

function(laa_use_cuda target)
  if(LAA_WITH_CUDA)
    target_compile_definitions(${target} PRIVATE LAA_WITH_CUDA=1 LAA_CUDA_VERSION="${LAA_CUDA_VERSION}")
    # Nothing here calls into libtorch_cuda directly, so a linker that
    # defaults to --as-needed (Ubuntu's) would drop it, and LibTorch would
    # then see no CUDA at run time.
    target_link_options(${target} PRIVATE "LINKER:--no-as-needed")
  endif()
endfunction()
