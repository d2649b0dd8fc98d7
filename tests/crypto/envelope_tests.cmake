# Envelope tests and the AES-256-GCM NIST CAVP vectors (read from Debian's
# python3-cryptography-vectors; scripts/setup.sh installs it).
sr_add_test(envelope_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/envelope_test.cc ${CMAKE_CURRENT_SOURCE_DIR}/nist_gcm_test.cc
  LIBS sr_crypto)
