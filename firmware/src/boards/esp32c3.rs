//! ESP32-C3 (RV32IMC) boards with 4 MiB of flash. Console: UART0 on GPIO21
//! (TX), 115200 baud, as the second-stage bootloader leaves it (the USB
//! serial chip of the ESP32-C3-DevKitM-1 is wired to it).
//!
//! The chip's start-up as ESP-IDF's and esp-hal's do it, by hand (TRM =
//! ESP32-C3 Technical Reference Manual): the image carries the app
//! descriptor the bootloader and espflash read ([`esp_app_desc`]); [`uart`]
//! first turns off the three watchdogs the ROM and the bootloader leave
//! running (RTC WDT, TIMG0's MWDT, the super watchdog: TRM 12.2, 13.2),
//! switches the CPU from 80 to 160 MHz on the PLL (TRM 6.2.3: the bus
//! clock, and with it the UART's baud rate, stays at 80 MHz), and maps the
//! PARAMS and WEIGHTS flash pages to the data bus (TRM 3.3.2) at
//! `0x3C00_0000` + their flash offset, where `boards/esp32c3/memory.x`
//! puts the regions.

use crate::mmio::Reg;
use crate::uart::esp32c3::EspUart;

/// This board in charm-boards' table.
pub const BOARD: charm_boards::Board = charm_boards::ESP32C3;

/// The console's transmitter.
pub type Uart = EspUart;

/// ESP-IDF's `esp_app_desc_t` (components/esp_app_format, 256 bytes), which
/// the bootloader reads at the start of the first DROM segment and
/// espflash requires.
#[repr(C)]
pub struct AppDescriptor {
    magic_word: u32,
    secure_version: u32,
    reserved1: [u32; 2],
    version: [u8; 32],
    project_name: [u8; 32],
    time: [u8; 16],
    date: [u8; 16],
    idf_ver: [u8; 32],
    app_elf_sha256: [u8; 32],
    min_efuse_blk_rev_full: u16,
    max_efuse_blk_rev_full: u16,
    mmu_page_size_log2: u8,
    reserved3: [u8; 3],
    reserved2: [u32; 18],
}

/// `text`, NUL-padded to `N` bytes.
const fn padded<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0; N];
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() && i < N - 1 {
        out[i] = bytes[i];
        i += 1;
    }
    out
}

/// The app descriptor, first in DROM (`.flash.appdesc`, memory.x).
#[no_mangle]
#[used]
#[link_section = ".flash.appdesc"]
pub static esp_app_desc: AppDescriptor = AppDescriptor {
    magic_word: 0xABCD_5432,
    secure_version: 0,
    reserved1: [0; 2],
    version: padded(env!("CARGO_PKG_VERSION")),
    project_name: padded(env!("CARGO_PKG_NAME")),
    time: [0; 16],
    date: [0; 16],
    idf_ver: padded("none (charm)"),
    app_elf_sha256: [0; 32],
    // Any eFuse block revision from 0.0 to 1.99, as esp-hal's default.
    min_efuse_blk_rev_full: 0,
    max_efuse_blk_rev_full: 199,
    mmu_page_size_log2: 16,
    reserved3: [0; 3],
    reserved2: [0; 18],
};
const _: () = assert!(core::mem::size_of::<AppDescriptor>() == 256);

/// The write-protection key of the RTC and timer-group watchdogs (TRM 12.3).
const WDT_KEY: u32 = 0x50D8_3AA1;
/// The super watchdog's key (TRM 13.3).
const SWD_KEY: u32 = 0x8F1D_312A;

const RTC_CNTL: usize = 0x6000_8000;
// SAFETY: registers of RTC_CNTL at 0x6000_8000 (TRM 9.7) (`Reg::at`).
const RTC_WDTCONFIG0: Reg = unsafe { Reg::at(RTC_CNTL, 0x90) };
// SAFETY: as above.
const RTC_WDTWPROTECT: Reg = unsafe { Reg::at(RTC_CNTL, 0xA8) };
// SAFETY: as above.
const RTC_SWD_CONF: Reg = unsafe { Reg::at(RTC_CNTL, 0xAC) };
// SAFETY: as above.
const RTC_SWD_WPROTECT: Reg = unsafe { Reg::at(RTC_CNTL, 0xB0) };
/// SWD_CONF: the hardware feeds the super watchdog itself.
const SWD_AUTO_FEED_EN: u32 = 1 << 31;

/// TIMG0 and TIMG1: WDTCONFIG0 at +0x48, WDTWPROTECT at +0x64 (TRM 11.5).
const TIMG: [usize; 2] = [0x6001_F000, 0x6002_0000];
/// WDTCONFIG0: latch the new configuration (WDT_CONF_UPDATE_EN).
const TIMG_WDT_CONF_UPDATE: u32 = 1 << 22;

const SYSTEM: usize = 0x600C_0000;
// SAFETY: registers of SYSTEM at 0x600C_0000 (TRM 16.4) (`Reg::at`).
const SYSTEM_CPU_PER_CONF: Reg = unsafe { Reg::at(SYSTEM, 0x08) };
// SAFETY: as above.
const SYSTEM_SYSCLK_CONF: Reg = unsafe { Reg::at(SYSTEM, 0x58) };
/// SYSCLK_CONF.SOC_CLK_SEL (bits 11:10) = 1: the CPU runs on the PLL.
const SOC_CLK_SEL_MASK: u32 = 0b11 << 10;
const SOC_CLK_SEL_PLL: u32 = 1 << 10;
/// CPU_PER_CONF.CPUPERIOD_SEL (bits 1:0): 0 = 80 MHz, 1 = 160 MHz.
const CPUPERIOD_SEL_MASK: u32 = 0b11;
const CPUPERIOD_SEL_160MHZ: u32 = 1;

/// The flash MMU's table: 128 entries of 32 bits, entry `i` maps the 64 KiB
/// page `i` of both 0x4200_0000 and 0x3C00_0000 to the flash page in its
/// bits 7:0; bit 8 set = unmapped (ESP-IDF soc/esp32c3 ext_mem_defs.h).
const MMU_TABLE: usize = 0x600C_5000;
const MMU_PAGE: usize = 64 * 1024;
const DBUS_BASE: usize = 0x3C00_0000;

const UART0: usize = 0x6000_0000;

extern "C" {
    /// ROM: invalidates the cache lines of `size` bytes from `vaddr`
    /// (ESP-IDF rom/cache.h; its address is in memory.x).
    fn Cache_Invalidate_Addr(vaddr: u32, size: u32);
}

/// UART0, after the start-up (done once; later calls find it done).
pub fn uart() -> Uart {
    if SYSTEM_CPU_PER_CONF.read() & CPUPERIOD_SEL_MASK != CPUPERIOD_SEL_160MHZ {
        watchdogs_off();
        cpu_at_160_mhz();
    }
    map_regions();
    // SAFETY: UART0 of the ESP32-C3 is at 0x6000_0000 (TRM 26.5).
    unsafe { EspUart::new(UART0) }
}

/// The RTC watchdog and the timer groups' watchdogs off, the super
/// watchdog fed by the hardware (as esp-hal's `init`).
fn watchdogs_off() {
    RTC_WDTWPROTECT.write(WDT_KEY);
    RTC_WDTCONFIG0.write(0);
    RTC_WDTWPROTECT.write(0);
    RTC_SWD_WPROTECT.write(SWD_KEY);
    RTC_SWD_CONF.set_bits(SWD_AUTO_FEED_EN);
    RTC_SWD_WPROTECT.write(0);
    for base in TIMG {
        // SAFETY: registers of TIMG0 (0x6001_F000) and TIMG1 (0x6002_0000), TRM 11.5.
        let [config0, protect] = [0x48, 0x64].map(|offset| unsafe { Reg::at(base, offset) });
        protect.write(WDT_KEY);
        config0.write(TIMG_WDT_CONF_UPDATE);
        protect.write(0);
    }
}

/// The CPU at 160 MHz where the bootloader left it on the PLL at 80 MHz.
fn cpu_at_160_mhz() {
    if SYSTEM_SYSCLK_CONF.read() & SOC_CLK_SEL_MASK == SOC_CLK_SEL_PLL {
        let conf = SYSTEM_CPU_PER_CONF.read() & !CPUPERIOD_SEL_MASK;
        SYSTEM_CPU_PER_CONF.write(conf | CPUPERIOD_SEL_160MHZ);
    }
}

/// Maps PARAMS and WEIGHTS (contiguous, from PARAMS) page for page:
/// virtual page `i` of the data bus to flash page `i`.
fn map_regions() {
    let start = BOARD.params_address as usize;
    let end = (BOARD.weights_address + BOARD.weights_bytes) as usize;
    for page in (start - DBUS_BASE) / MMU_PAGE..(end - DBUS_BASE) / MMU_PAGE {
        // SAFETY: entry `page` (16..64) of the MMU table, whose virtual pages
        // only the PARAMS and WEIGHTS regions use (memory.x: the app's code
        // and read-only data are on pages 0-15), mapped to the flash page of
        // the same number: every call maps the same, so no byte the program
        // has read changes.
        unsafe { core::ptr::write_volatile((MMU_TABLE + 4 * page) as *mut u32, page as u32) };
    }
    // SAFETY: a ROM function of the ESP32-C3 with no precondition on its
    // arguments; dropping cache lines of flash-backed memory loses nothing.
    unsafe { Cache_Invalidate_Addr(start as u32, (end - start) as u32) };
}
