/* Startup and semihosting for the C example on a bare Cortex-M (M0 to M55):
 * the vector table, the reset handler (copies .data, zeroes .bss, turns the
 * FPU on where there is one, calls main), and output and exit through
 * semihosting. No C library. */
#include "board.h"

int main(void);

/* From the linker script (sections.ld). */
extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _stack_top[];

/* Semihosting operations and the reason code "the application exited". */
enum {
    SYS_OPEN = 0x01,
    SYS_WRITE = 0x05,
    SYS_EXIT_EXTENDED = 0x20,
    ADP_STOPPED_APPLICATION_EXIT = 0x20026,
};

/* One semihosting call: operation in r0, parameter block in r1, result in r0. */
static uintptr_t semihost(uintptr_t operation, const void *block)
{
    register uintptr_t r0 __asm__("r0") = operation;
    register const void *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_write(const void *bytes, size_t length)
{
    static uintptr_t stdout_handle;
    static int opened;
    if (!opened) {
        /* ":tt" opened for writing ("w", mode 4) is the host's stdout. */
        const uintptr_t open_block[3] = {(uintptr_t)":tt", 4, 3};
        stdout_handle = semihost(SYS_OPEN, open_block);
        opened = 1;
    }
    const uintptr_t write_block[3] = {stdout_handle, (uintptr_t)bytes, length};
    semihost(SYS_WRITE, write_block);
}

void board_exit(uint32_t status)
{
    const uintptr_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, status};
    for (;;) {
        semihost(SYS_EXIT_EXTENDED, block);
    }
}

/* A fault is a bug (charm's panic handler stops at an undefined
 * instruction too): say so by the exit status. */
static void fault(void)
{
    board_exit(101);
}

void reset_handler(void)
{
    for (uint32_t *from = _sidata, *to = _sdata; to < _edata;) {
        *to++ = *from++;
    }
    for (uint32_t *to = _sbss; to < _ebss;) {
        *to++ = 0;
    }
#if defined(__ARM_FP)
    /* CPACR: full access to the coprocessors CP10 and CP11 (the FPU). */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    board_exit((uint32_t)main());
}

/* The vector table: initial stack pointer, reset, then NMI, HardFault and
 * the other system exceptions. */
__attribute__((section(".vectors"), used)) static const void *const vectors[16] = {
    _stack_top, reset_handler, fault, fault, fault, fault, fault, 0,
    0,          0,             0,     fault, fault, 0,     fault, fault,
};
