//! Heap bytes with the alignment [`crate::decode`] needs (feature `alloc`).

use alloc::vec::Vec;

/// Bytes stored 16-byte aligned, so a weight file read from disk decodes in
/// place (a plain `Vec<u8>` promises only 1-byte alignment).
///
/// ```
/// let b = charm_core::AlignedBytes::from(&[1u8, 2, 3][..]);
/// assert_eq!(&*b, &[1, 2, 3]);
/// assert_eq!(b.as_ptr() as usize % 16, 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct AlignedBytes {
    blocks: Vec<[u128; 1]>,
    len: usize,
}

impl From<&[u8]> for AlignedBytes {
    fn from(bytes: &[u8]) -> Self {
        let mut blocks = alloc::vec![[0u128; 1]; bytes.len().div_ceil(16)];
        bytemuck::cast_slice_mut::<_, u8>(&mut blocks)[..bytes.len()].copy_from_slice(bytes);
        Self {
            blocks,
            len: bytes.len(),
        }
    }
}

impl core::ops::Deref for AlignedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &bytemuck::cast_slice::<_, u8>(&self.blocks)[..self.len]
    }
}
