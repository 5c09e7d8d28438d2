# Included after every project() call of the llama-cpp-python build (CMAKE_PROJECT_INCLUDE,
# set by the Makefile). llama-cpp-python's CMakeLists forces LLAMA_BUILD_COMMON on, which
# compiles llama.cpp's `common` library (chat templates, argument parsing, an HTTP client:
# about a quarter of the build) and installs it beside the wheel; the Python bindings never
# load it. Turning it off again once llama.cpp's own project starts skips that library.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "llama.cpp common library (not loaded by Sextant)" FORCE)
