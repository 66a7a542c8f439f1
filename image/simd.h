// IMGPIPE_SIMD_CLONES (IMGPIPE_SIMD_CLONES_TEMPLATE on templates): marks a hot loop for runtime
// dispatch between an AVX2 copy and a baseline x86-64 one (GCC/Clang target_clones, resolved once
// at load time), so the binary still runs on any x86-64 CPU. On other targets it expands to
// nothing. Loops meant for it should be plain, with __restrict pointers, so the compiler can
// vectorise them.
#pragma once

// Not under ThreadSanitizer: the resolver that target_clones generates runs while the dynamic
// loader relocates the binary, before the TSan runtime is initialised, and TSan's instrumentation
// of it crashes the process at startup.
#if defined(__x86_64__) && defined(__has_attribute) && !defined(__SANITIZE_THREAD__)
#if __has_attribute(target_clones)
#define IMGPIPE_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef IMGPIPE_SIMD_CLONES
#define IMGPIPE_SIMD_CLONES
#endif

// The same for function templates, which Clang (14) cannot multiversion: built with Clang (as the
// fuzz targets are) they get the baseline copy only.
#if defined(__clang__)
#define IMGPIPE_SIMD_CLONES_TEMPLATE
#else
#define IMGPIPE_SIMD_CLONES_TEMPLATE IMGPIPE_SIMD_CLONES
#endif
