#ifndef CSELFCARE_LIBCRYPTO_SHIM_H
#define CSELFCARE_LIBCRYPTO_SHIM_H
#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/kdf.h>
#include <openssl/hmac.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/err.h>
#endif
