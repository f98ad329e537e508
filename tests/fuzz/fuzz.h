/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every fuzz target defines: libFuzzer's entry point.  Built with
 * -fsanitize=fuzzer it is driven by libFuzzer; linked with fuzz-main.c it
 * replays a corpus directory as an ordinary test.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
