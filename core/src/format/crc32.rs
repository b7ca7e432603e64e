//! CRC-32 (IEEE 802.3, as in zip, PNG and Ethernet).

/// The CRC of each 4-bit value for the reflected polynomial 0xEDB88320,
/// built at compile time: the table of the byte-wise algorithm cut to 16
/// entries (64 bytes of flash instead of 1 KiB), taking two lookups a byte.
const TABLE: [u32; 16] = {
    let mut table = [0u32; 16];
    let mut i = 0;
    while i < 16 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 4 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 of `bytes`: reflected, initial value and final xor 0xFFFFFFFF.
///
/// Method: the reflected shift register advanced four bits at a time, one
/// 16-entry table lookup for each half of a byte, low half first (Sarwate's
/// table-driven CRC with 4-bit instead of 8-bit steps).
///
/// ```
/// assert_eq!(charm_core::crc32(b"123456789"), 0xCBF4_3926);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        crc = TABLE[(crc & 0xF) as usize] ^ (crc >> 4);
        crc = TABLE[(crc & 0xF) as usize] ^ (crc >> 4);
    }
    !crc
}
