/* sanitizers.h — what the Check suites need to know about the build they
 * run in: UG_TEST_ASAN is 1 under AddressSanitizer (gcc's or clang's),
 * where resident memory keeps freed blocks in quarantine and forked
 * children of threaded processes may hang inside the runtime. */
#ifndef UG_TESTS_SANITIZERS_H
#define UG_TESTS_SANITIZERS_H

#if defined(__SANITIZE_ADDRESS__)
#define UG_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UG_TEST_ASAN 1
#endif
#endif
#ifndef UG_TEST_ASAN
#define UG_TEST_ASAN 0
#endif

#endif
