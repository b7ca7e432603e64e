/* The little a bare Cortex-M program needs from its board here: output and
 * exit over semihosting (QEMU's -semihosting, or a debug probe). On your
 * board, write to a UART instead. */
#ifndef CHARM_EXAMPLE_BOARD_H
#define CHARM_EXAMPLE_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Writes `length` bytes to the host's standard output. */
void board_write(const void *bytes, size_t length);

/* Ends the program with `status` (QEMU exits with it). */
void board_exit(uint32_t status) __attribute__((noreturn));

#endif
